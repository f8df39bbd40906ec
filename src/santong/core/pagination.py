"""Page-number pagination that refuses what it cannot honour instead of guessing.

DRF's own quietly replaces a page size of 0, "abc" or 100000 with a default or its cut-off and
answers 404 for page -1; a client then reads a page it did not ask for, or cannot tell a typo
from the end of the list. Here a page or page size that is not a whole number in range answers
400 naming the parameter; a well-formed page past the last one is still 404.
"""

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

if TYPE_CHECKING:
    from django.core.paginator import Paginator


def whole_number(value: str) -> int | None:
    """`value` as a whole number if it is one written in ASCII digits (int() would also take
    "٣", " 3" and "3_000")."""
    if value.isascii() and value.isdigit():
        return int(value)
    return None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param or "", "")
        if raw == "":
            return self.page_size
        size = whole_number(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            message = _("每页条数应为1到%(maximum)s之间的整数。") % {"maximum": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [message]})
        return size

    def get_page_number(self, request: Request, paginator: "Paginator[Any]") -> int:
        raw = request.query_params.get(self.page_query_param, "")
        if raw == "":
            return 1
        number = whole_number(raw)
        if number is None or number < 1:
            raise ValidationError({self.page_query_param: [_("页码应为从1开始的整数。")]})
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
