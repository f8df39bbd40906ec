"""The `schools` import kind: schools upserted by 学校标识码 through `orgs.services`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

from santong.core.actors import Actor
from santong.core.scope import subtree_q
from santong.imports.cleaning import Batch
from santong.imports.codes import CodeTable
from santong.imports.headers import Column, ColumnSpec, ColumnType
from santong.imports.kinds import ImportContext, RowError, WriteResult, register_kind
from santong.orgs import services as org_services
from santong.orgs.models import Region, School
from santong.orgs.services import NewSchool

SCHOOL_SPEC = ColumnSpec(
    columns=(
        Column(
            "code",
            "学校标识码",
            ColumnType.DIGITS,
            required=True,
            width=10,
            aliases=("学校代码", "学校识别码", "学校编码", "标识码"),
            help=gettext_lazy("10位数字，教育部统一分配的学校标识码；已登记的学校按此更新。"),
        ),
        Column(
            "name",
            "学校名称",
            required=True,
            max_length=100,
            aliases=("学校全称", "单位名称", "名称"),
            help=gettext_lazy("学校的全称，不超过100个字。"),
        ),
        Column(
            "kind",
            "学校类型",
            ColumnType.CODE,
            required=True,
            code_table="school_kind",
            aliases=("学校类别", "办学层次"),
            help=gettext_lazy("从下拉列表中选择；已登记学校的类型不能通过导入修改。"),
        ),
        Column(
            "operator",
            "办学类型",
            ColumnType.CODE,
            required=True,
            code_table="school_operator",
            aliases=("举办者类型", "办学性质", "公办民办"),
            help=gettext_lazy("公办或民办。"),
        ),
        Column(
            "locale",
            "城乡类型",
            ColumnType.CODE,
            required=True,
            code_table="school_locale",
            aliases=("城乡分类", "城乡属性", "所在地城乡类型"),
            help=gettext_lazy("城区、镇区或乡村。"),
        ),
        Column(
            "county",
            "所属区县",
            ColumnType.CODE,
            required=True,
            code_table="county",
            aliases=("区县", "所在区县", "区县代码", "行政区划代码", "所在地区划代码"),
            help=gettext_lazy("区县名称或6位行政区划代码；重名的区县请填代码。"),
        ),
        Column(
            "address",
            "地址",
            max_length=200,
            aliases=("学校地址", "详细地址", "通信地址"),
            help=gettext_lazy("选填，不超过200个字。"),
        ),
        Column(
            "host_school",
            "主校标识码",
            ColumnType.DIGITS,
            width=10,
            aliases=("主校代码", "所属主校标识码"),
            help=gettext_lazy("只有教学点填写：其主校的学校标识码。"),
        ),
    ),
    key=("code",),
)


class SchoolsKind:
    """Schools, created or updated by code. In a dry run the schools a batch would create are
    remembered, so a teaching point in a later batch may name one of them as its host."""

    name = "schools"
    # A teaching point may name as its host a school an earlier batch creates.
    validates_ahead = False
    label = gettext_lazy("学校")
    spec = SCHOOL_SPEC

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self._planned: dict[str, NewSchool] = {}

    def code_tables(self, *, actor: Actor, for_template: bool = False) -> dict[str, CodeTable]:
        counties = Region.objects.filter(level=Region.Level.COUNTY)
        if for_template and actor.scope_path:
            counties = counties.filter(subtree_q(actor.scope_path, field="code"))
        return {
            "school_kind": CodeTable.of("school_kind", _("学校类型"), School.Kind.choices),
            "school_operator": CodeTable.of(
                "school_operator", _("办学类型"), School.Operator.choices
            ),
            "school_locale": CodeTable.of("school_locale", _("城乡类型"), School.Locale.choices),
            "county": CodeTable.of(
                "county", _("区县"), counties.order_by("code").values_list("code", "name")
            ),
        }

    def instructions(self) -> list[_StrOrPromise]:
        return [
            gettext_lazy(
                "每行一所学校。学校标识码已登记的，更新其名称、办学类型、城乡类型和地址；未登记的新建。"
            ),
            gettext_lazy("教学点须填写主校标识码，主校可以在同一文件中靠前的行里一并导入。"),
            gettext_lazy("只能导入您管理范围内的学校。"),
        ]

    def _rows(self, batch: Batch) -> list[NewSchool]:
        c = batch.columns
        return [
            NewSchool(
                code=code,
                name=name,
                kind=kind,
                operator=operator,
                locale=locale,
                county_code=county,
                address=address or "",
                host_code=host or None,
            )
            for code, name, kind, operator, locale, county, address, host in zip(
                c["code"],
                c["name"],
                c["kind"],
                c["operator"],
                c["locale"],
                c["county"],
                c["address"],
                c["host_school"],
                strict=True,
            )
        ]

    def validate_batch(self, batch: Batch, *, actor: Actor) -> tuple[Batch, list[RowError]]:
        rows = self._rows(batch)
        problems = org_services.check_school_rows(actor=actor, rows=rows, planned=self._planned)
        errors = [
            RowError(row=batch.row_numbers[index], field=field, message=message)
            for index, fields in sorted(problems.items())
            for field, message in fields.items()
        ]
        good = [i for i in range(len(batch)) if i not in problems]
        return batch.select(good), errors

    def write_batch(self, ok_rows: Batch, *, actor: Actor, dry_run: bool) -> WriteResult:
        rows = self._rows(ok_rows)
        result = org_services.bulk_upsert_schools(
            actor=actor, rows=rows, planned=self._planned, dry_run=dry_run
        )
        if dry_run:
            self._planned.update((row.code, row) for row in rows)
        return WriteResult(result.created, result.updated, result.unchanged)


register_kind("schools", gettext_lazy("学校"), SchoolsKind)
