"""Every route of the REST API, version 1. `tests/api/test_scope_matrix.py` walks this list:
a route added here without a row in its matrix fails the tests."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from santong.accounts.api import (
    AccountViewSet,
    MeView,
    PersonViewSet,
    RoleViewSet,
    SwitchRoleView,
    TokenObtainView,
)
from santong.audit.api import AuditEventViewSet
from santong.orgs.api import (
    GradeViewSet,
    RegionViewSet,
    SchoolClassViewSet,
    SchoolViewSet,
    SchoolYearViewSet,
    StageViewSet,
    SubjectViewSet,
)

app_name = "api"

router = SimpleRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("schools", SchoolViewSet, basename="school")
router.register("classes", SchoolClassViewSet, basename="class")
router.register("school-years", SchoolYearViewSet, basename="school-year")
router.register("stages", StageViewSet, basename="stage")
router.register("grades", GradeViewSet, basename="grade")
router.register("subjects", SubjectViewSet, basename="subject")
router.register("people", PersonViewSet, basename="person")
router.register("accounts", AccountViewSet, basename="account")
router.register("roles", RoleViewSet, basename="role")
router.register("audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", MeView.as_view(), name="me"),
    path("me/switch-role/", SwitchRoleView.as_view(), name="me-switch-role"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    *router.urls,
]
