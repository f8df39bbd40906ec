"""Pages of the org tree: the region tree, schools and classes (lists, details, create forms)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from santong.accounts import selectors as account_selectors
from santong.accounts.models import Role
from santong.accounts.roles import PERSONAL_KINDS, REGION_LEVEL
from santong.core.export import Column, Export
from santong.core.forms import apply_service_errors
from santong.core.scope import ancestors, contains
from santong.core.views import actor_for, list_page, role_page
from santong.orgs import selectors, services
from santong.orgs.forms import ClassFilterForm, ClassForm, SchoolFilterForm, SchoolForm
from santong.orgs.models import Region, School, SchoolClass

MEASURE_LABELS = {
    "schools": pgettext_lazy("list", "学校"),
    "teaching_points": pgettext_lazy("list", "教学点"),
    "classes": pgettext_lazy("list", "班级"),
    "teachers": pgettext_lazy("list", "教师"),
    "students": pgettext_lazy("list", "学生"),
}
CHILD_SCHOOL_MEASURES = ("classes", "teachers", "students")

SCHOOL_EXPORT = Export(
    name=pgettext_lazy("list", "学校"),
    columns=[
        Column(gettext_lazy("学校标识码"), "code", width=14),
        Column(gettext_lazy("学校名称"), "name", width=30),
        Column(gettext_lazy("学校类型"), "kind", choices=School.Kind.choices),
        Column(gettext_lazy("办学类型"), "operator", choices=School.Operator.choices, width=10),
        Column(gettext_lazy("城乡类型"), "locale", choices=School.Locale.choices, width=10),
        Column(gettext_lazy("所属地市"), "county__parent__name"),
        Column(gettext_lazy("所属区县"), "county__name"),
        Column(gettext_lazy("主校"), "host_school__name", width=30),
        Column(gettext_lazy("地址"), "address", width=40),
    ],
)

CLASS_EXPORT = Export(
    name=pgettext_lazy("list", "班级"),
    columns=[
        Column(gettext_lazy("学校标识码"), "school__code", width=14),
        Column(gettext_lazy("学校名称"), "school__name", width=30),
        Column(gettext_lazy("学年"), "school_year__start_year", width=10),
        Column(gettext_lazy("年级"), "grade__name", width=10),
        Column(gettext_lazy("班号"), "number", width=8),
        Column(gettext_lazy("班级名称"), "name", width=20),
        Column(gettext_lazy("班级编码"), "path", width=32),
    ],
)


def breadcrumbs(role: Role, path: str) -> list[dict[str, str]]:
    """The units from the role's own down to `path`, each linking to its tree page."""
    paths = [unit for unit in ancestors(path) if contains(role.path, unit)]
    names = selectors.unit_names(role=role, paths=paths)
    return [
        {"name": names.get(unit, unit), "url": reverse("orgs:tree_node", args=[unit])}
        for unit in paths
    ]


def _rows(
    units: list[Any], counts: dict[str, dict[str, int]], measures: tuple[str, ...], url: str
) -> list[dict[str, Any]]:
    return [
        {
            "unit": unit,
            "url": reverse(url, args=[unit.path if url == "orgs:tree_node" else unit.pk]),
            "counts": [counts[unit.path][name] for name in measures],
        }
        for unit in units
    ]


def _table(
    role: Role, parent_path: str, units: list[Any], measures: tuple[str, ...], url: str
) -> dict[str, Any]:
    counts = selectors.child_counts(
        role=role,
        parent_path=parent_path,
        child_paths=[unit.path for unit in units],
        measures=measures,
    )
    return {
        "columns": [MEASURE_LABELS[name] for name in measures],
        "rows": _rows(units, counts, measures, url),
    }


@role_page(admin=True)
def tree(request: HttpRequest, role: Role, unit_path: str = "") -> HttpResponse:
    path = unit_path or role.path
    context: dict[str, Any] = {"role": role, "crumbs": breadcrumbs(role, path)}
    if "/" not in path:
        region = get_object_or_404(selectors.regions(role=role), code=path)
        context.update(node=region, kind=region.get_level_display(), code=region.code)
        if region.level == Region.Level.COUNTY:
            schools = list(
                selectors.schools(role=role).filter(county=region, host_school__isnull=True)
            )
            context["tables"] = [
                {
                    "title": pgettext("list", "学校"),
                    "empty": _("该区县暂无学校"),
                    **_table(role, path, schools, selectors.SCHOOL_MEASURES, "orgs:tree_node"),
                }
            ]
        else:
            children = list(selectors.regions(role=role).filter(parent=region).order_by("code"))
            title = (
                pgettext("list", "地市")
                if region.level == Region.Level.PROVINCE
                else pgettext("list", "区县")
            )
            context["tables"] = [
                {
                    "title": title,
                    "empty": _("暂无下级行政区划"),
                    **_table(role, path, children, selectors.REGION_MEASURES, "orgs:tree_node"),
                }
            ]
        measures = selectors.REGION_MEASURES
    else:
        school = get_object_or_404(selectors.schools(role=role), path=path)
        context.update(node=school, kind=school.get_kind_display(), code=school.code)
        context["school"] = school
        points = list(selectors.schools(role=role).filter(host_school=school))
        school_classes = list(
            selectors.classes(role=role)
            .filter(school=school)
            .order_by("-school_year__start_year", "grade__order", "number")
        )
        context["tables"] = [
            {
                "title": pgettext("list", "教学点"),
                "empty": "",
                **_table(role, path, points, CHILD_SCHOOL_MEASURES, "orgs:tree_node"),
            },
            {
                "title": pgettext("list", "班级"),
                "empty": _("该校暂无班级"),
                **_table(role, path, school_classes, selectors.CLASS_MEASURES, "orgs:class_detail"),
            },
        ]
        measures = selectors.SCHOOL_MEASURES
    totals = selectors.unit_counts(role=role, path=path, measures=measures)
    context["totals"] = [(MEASURE_LABELS[name], totals[name]) for name in measures]
    return render(request, "orgs/tree.html", context)


@role_page(admin=True)
def school_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = SchoolFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.schools(role=role)).order_by("code")
    return list_page(
        request,
        role,
        template="orgs/school_list.html",
        queryset=queryset,
        export=SCHOOL_EXPORT,
        context={"form": form, "may_create": role.kind in REGION_LEVEL},
    )


@role_page(admin=True)
def school_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    school = get_object_or_404(selectors.schools(role=role), pk=pk)
    totals = selectors.unit_counts(role=role, path=school.path, measures=selectors.SCHOOL_MEASURES)
    points = list(selectors.schools(role=role).filter(host_school=school))
    school_classes = list(
        selectors.classes(role=role)
        .filter(school=school)
        .order_by("-school_year__start_year", "grade__order", "number")
    )
    return render(
        request,
        "orgs/school_detail.html",
        {
            "school": school,
            "crumbs": breadcrumbs(role, school.path),
            "totals": [(MEASURE_LABELS[name], totals[name]) for name in selectors.SCHOOL_MEASURES],
            "points": _table(
                role, school.path, points, CHILD_SCHOOL_MEASURES, "orgs:school_detail"
            ),
            "classes": _table(
                role, school.path, school_classes, selectors.CLASS_MEASURES, "orgs:class_detail"
            ),
        },
    )


@role_page(admin=True)
def school_create(request: HttpRequest, role: Role) -> HttpResponse:
    if role.kind not in REGION_LEVEL:
        raise PermissionDenied(_("只有区县及以上管理员可以新建学校。"))
    form = SchoolForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid():
        try:
            school = services.create_school(actor=actor_for(request, role), **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("已新建学校 %(name)s。") % {"name": school.name})
            return redirect("orgs:school_detail", pk=school.pk)
    return render(request, "orgs/school_form.html", {"form": form})


@role_page()
def class_list(request: HttpRequest, role: Role) -> HttpResponseBase:
    form = ClassFilterForm(request.GET, role=role)
    queryset = form.filter(selectors.classes(role=role)).order_by(
        "school__code", "-school_year__start_year", "grade__order", "number"
    )
    return list_page(
        request,
        role,
        template="orgs/class_list.html",
        queryset=queryset,
        export=CLASS_EXPORT,
        context={"form": form},
    )


@role_page()
def class_detail(request: HttpRequest, role: Role, pk: int) -> HttpResponse:
    school_class = get_object_or_404(selectors.classes(role=role), pk=pk)
    # Students and parents read only their own roles, so a member list would show them alone.
    members_hidden = role.kind in PERSONAL_KINDS
    members = (
        []
        if members_hidden
        else list(
            account_selectors.roles(role=role)
            .filter(school_class=school_class)
            .order_by("kind", "user__person__name", "pk")
        )
    )
    return render(
        request,
        "orgs/class_detail.html",
        {
            "school_class": school_class,
            "crumbs": breadcrumbs(role, school_class.path),
            "teachers": [
                m for m in members if m.kind in (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER)
            ],
            "students": [m for m in members if m.kind == Role.Kind.STUDENT],
            "parents": [m for m in members if m.kind == Role.Kind.PARENT],
            "members_hidden": members_hidden,
        },
    )


@role_page(admin=True)
def class_create(request: HttpRequest, role: Role, school_pk: int) -> HttpResponse:
    school = get_object_or_404(selectors.schools(role=role), pk=school_pk)
    form = ClassForm(request.POST or None, school=school)
    if request.method == "POST" and form.is_valid():
        try:
            school_class: SchoolClass = services.create_class(
                actor=actor_for(request, role), school=school, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("已新建班级 %(name)s。") % {"name": school_class.name})
            return redirect("orgs:class_detail", pk=school_class.pk)
    return render(
        request,
        "orgs/class_form.html",
        {"form": form, "school": school, "crumbs": breadcrumbs(role, school.path)},
    )
