"""The code tables in the admin pages: browsable, not editable, because the data files are the
source and the next `santong migrate` would overwrite an edit made here."""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from santong.registry.models import CodeTable, CodeValue

# Django's admin classes are generic only to the type checker (no django_stubs_ext here).
if TYPE_CHECKING:
    ValueInline = admin.TabularInline[CodeValue, CodeTable]
    TableAdmin = admin.ModelAdmin[CodeTable]
    ValueAdmin = admin.ModelAdmin[CodeValue]
else:
    ValueInline = admin.TabularInline
    TableAdmin = ValueAdmin = admin.ModelAdmin


class CodeValueInline(ValueInline):
    model = CodeValue
    fields = ("code", "name", "order", "active")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CodeTable)
class CodeTableAdmin(TableAdmin):
    list_display = ("name", "title", "standard")
    search_fields = ("name", "title", "values__name")
    readonly_fields = ("name", "title", "standard", "order")
    inlines = (CodeValueInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CodeValue)
class CodeValueAdmin(ValueAdmin):
    list_display = ("table", "code", "name", "order", "active")
    list_filter = ("table", "active")
    search_fields = ("code", "name")
    readonly_fields = ("table", "code", "name", "order", "active")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
