"""Forms of the import pages: the upload, the column-mapping step and the class list."""

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from santong.accounts.models import Role
from santong.core.forms import StyledForm
from santong.imports.selectors import MappingStep
from santong.imports.services import UPLOAD_SUFFIXES
from santong.orgs import selectors as org_selectors
from santong.orgs.forms import SchoolCodeField
from santong.orgs.models import School

SKIP = ""


class UploadForm(StyledForm):
    """A file to import, and for the people kinds of an administrator above school level the
    school the rows belong to (a school administrator always imports into its own)."""

    file = forms.FileField(label=_("文件"))
    school = SchoolCodeField(School.objects.none(), label=_("所属学校的学校标识码"), required=False)
    dry_run = forms.BooleanField(
        label=_("试运行：只校验并生成报告，不写入任何数据"), required=False
    )
    strict = forms.BooleanField(label=_("严格模式：有任何错误行则什么都不导入"), required=False)

    def __init__(self, *args: Any, role: Role, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        file_field = self.fields["file"]
        file_field.widget.attrs["accept"] = ",".join(UPLOAD_SUFFIXES)
        file_field.help_text = _(
            "支持 .xlsx、.xls 和 .csv（UTF-8 或 GB18030），不超过 %(limit)s；表头按名称匹配。"
        ) % {"limit": filesizeformat(settings.SANTONG_IMPORT_MAX_BYTES)}
        if kind == "schools" or role.kind == Role.Kind.SCHOOL_ADMIN:
            del self.fields["school"]
        else:
            school_field = self.fields["school"]
            assert isinstance(school_field, SchoolCodeField)
            school_field.queryset = org_selectors.schools(role=role)
            school_field.help_text = _(
                "留空时按文件中的“学校标识码”列导入；文件中没有这一列时请填写。"
            )


class MappingForm(StyledForm):
    """One select per unrecognised column of the file, prefilled with the best guess."""

    def __init__(self, *args: Any, step: MappingStep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(SKIP, _("（不导入此列）")), *step.choices]
        for column in step.ask:
            self.fields[f"column_{column.position}"] = forms.ChoiceField(
                label=column.header,
                choices=choices,
                required=False,
                initial=column.guess or SKIP,
                widget=forms.Select(attrs={"style": "max-width: 22rem"}),
            )
        self.step = step
        self.style_widgets()

    def choices(self) -> dict[int, str | None]:
        return {
            column.position: self.cleaned_data.get(f"column_{column.position}") or None
            for column in self.step.ask
        }

    def rows(self) -> list[tuple[Any, forms.BoundField]]:
        return [(column, self[f"column_{column.position}"]) for column in self.step.ask]


class ClassListForm(StyledForm):
    school = SchoolCodeField(School.objects.none(), label=_("学校标识码"))
    format = forms.ChoiceField(
        label=_("格式"), choices=[("xlsx", "Excel (.xlsx)"), ("pdf", "PDF")], initial="xlsx"
    )

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        school_field = self.fields["school"]
        assert isinstance(school_field, SchoolCodeField)
        school_field.queryset = org_selectors.schools(role=role)
