"""The API's one request parser: JSON, refused in the user's language.

It is named in DEFAULT_PARSER_CLASSES, which DRF imports while `rest_framework.views` is still
loading, so this module must not import the views (as `santong.core.api` does).
"""

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


def _refuse_constant(name: str) -> None:
    """NaN and Infinity are Python's extensions to JSON, not JSON."""
    raise ValueError(name)


class JSONParser(parsers.JSONParser):
    """JSON, refused in the user's language.

    DRF's parser lets a deeply nested body escape as a RecursionError (a 500) and explains a
    syntax error with Python's English message. (DRF hands a JSON parser `request.body`, which
    Django has already checked against DATA_UPLOAD_MAX_MEMORY_SIZE.)
    """

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return {}
        body = stream.read()
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            raise exceptions.ParseError(
                _("请求内容不是有效的%(encoding)s文本。") % {"encoding": encoding}
            ) from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise exceptions.ParseError(
                _("请求内容不是有效的JSON：第%(line)s行第%(column)s列有误。")
                % {"line": exc.lineno, "column": exc.colno}
            ) from None
        except (ValueError, RecursionError):
            raise exceptions.ParseError(_("请求内容不是有效的JSON。")) from None
