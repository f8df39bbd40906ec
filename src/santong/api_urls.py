"""Every route of the REST API, version 1. `tests/api/test_scope_matrix.py` walks this list:
a route added here without a row in its matrix fails the tests. The last route answers every
other path under /api/v1/ with a JSON 404, so a client never gets Django's HTML error page."""

from django.urls import URLPattern, URLResolver, path, re_path
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
from santong.core.api import UnknownRouteView
from santong.imports.api import ImportJobViewSet
from santong.orgs.api import (
    GradeViewSet,
    RegionViewSet,
    SchoolClassViewSet,
    SchoolViewSet,
    SchoolYearViewSet,
    StageViewSet,
    SubjectViewSet,
)
from santong.registry.api import (
    CodeTableViewSet,
    RolloverViewSet,
    SchoolProfileViewSet,
    StudentRecordViewSet,
    StudentRequestViewSet,
    TeacherRecordViewSet,
    TeacherTransferViewSet,
    WorkQueueViewSet,
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
router.register("code-tables", CodeTableViewSet, basename="code-table")
router.register("school-profiles", SchoolProfileViewSet, basename="school-profile")
router.register("teachers", TeacherRecordViewSet, basename="teacher")
router.register("teacher-transfers", TeacherTransferViewSet, basename="teacher-transfer")
router.register("students", StudentRecordViewSet, basename="student")
router.register("student-requests", StudentRequestViewSet, basename="student-request")
router.register("rollover", RolloverViewSet, basename="rollover")
router.register("queues", WorkQueueViewSet, basename="queue")
router.register("import-jobs", ImportJobViewSet, basename="import-job")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", MeView.as_view(), name="me"),
    path("me/switch-role/", SwitchRoleView.as_view(), name="me-switch-role"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    *router.urls,
    # [\s\S], not ".", so a path holding an encoded line break (%0A) is caught as well.
    re_path(r"^(?P<unknown>[\s\S]*)$", UnknownRouteView.as_view(), name="unknown-route"),
]
