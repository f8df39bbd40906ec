"""Printable class lists of activation codes (账号激活名单), as `.xlsx` or PDF.

One sheet (or page) per class: each person's name, what they are, the username and the
one-time code they exchange for a password at `/accounts/activate/`. The codes exist only
in this file: the database keeps their keyed hashes, so a lost list means issuing new codes.

The PDF uses STSong-Light, one of the CID fonts whose metrics ship inside reportlab: the file
names the font and the reader supplies the glyphs (every Chinese-capable PDF reader has a
Song face for it), so nothing is downloaded or embedded when the list is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from santong.accounts.models import Role
from santong.accounts.services import IssuedCode
from santong.core.export import neutralise

PDF_FONT = "STSong-Light"


def shown_code(code: str) -> str:
    """ "ABCDE-FGHJK": read aloud and typed in two halves (the dash is ignored on entry)."""
    return f"{code[:5]}-{code[5:]}"


def _by_unit(codes: Sequence[IssuedCode]) -> dict[str, list[IssuedCode]]:
    units: dict[str, list[IssuedCode]] = {}
    for issued in codes:
        units.setdefault(issued.unit, []).append(issued)
    return units


def _headers() -> list[str]:
    return [_("序号"), _("姓名"), _("身份"), _("用户名"), _("激活码")]


def _row(number: int, issued: IssuedCode) -> list[str]:
    return [
        str(number),
        issued.name,
        str(Role.Kind(issued.kind).label),
        issued.username,
        shown_code(issued.code),
    ]


def _note(school: str, expires: datetime) -> str:
    return _(
        "%(school)s · 请在 %(date)s 前登录平台“激活账号”页面，输入用户名和激活码并设置密码；"
        "激活码只能使用一次，请妥善保管本名单。"
    ) % {"school": school, "date": timezone.localtime(expires).strftime("%Y-%m-%d")}


def write_xlsx(codes: Sequence[IssuedCode], out: Path, *, school: str, expires: datetime) -> Path:
    book = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF6", "border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    cell = book.add_format({"border": 1})
    code_cell = book.add_format({"border": 1, "font_name": "Consolas", "font_size": 12})
    used: set[str] = set()
    for unit, people in _by_unit(codes).items():
        name = (unit or _("名单"))[:31]
        while name in used:
            name = f"{name[:28]}{len(used)}"
        used.add(name)
        sheet = book.add_worksheet(name)
        sheet.write_string(0, 0, neutralise(_("%(unit)s 账号激活名单") % {"unit": unit}), title)
        sheet.write_string(1, 0, neutralise(_note(school, expires)))
        sheet.write_row(3, 0, _headers(), bold)
        for number, issued in enumerate(people, start=1):
            values = _row(number, issued)
            for col, value in enumerate(values):
                sheet.write_string(
                    3 + number, col, neutralise(value), code_cell if col == 4 else cell
                )
        sheet.set_column(0, 0, 6)
        sheet.set_column(1, 2, 12)
        sheet.set_column(3, 3, 18)
        sheet.set_column(4, 4, 16)
        sheet.fit_to_pages(1, 0)
    if not used:
        book.add_worksheet(_("名单")).write_string(0, 0, _("没有需要激活的账号。"))
    book.close()
    return out


def write_pdf(codes: Sequence[IssuedCode], out: Path, *, school: str, expires: datetime) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=9, leading=13)
    story: list[object] = []
    for unit, people in _by_unit(codes).items():
        if story:
            story.append(PageBreak())
        story.append(Paragraph(_("%(unit)s 账号激活名单") % {"unit": unit}, heading))
        story.append(Paragraph(_note(school, expires), body))
        story.append(Spacer(1, 8))
        table = Table(
            [_headers(), *(_row(n, issued) for n, issued in enumerate(people, start=1))],
            colWidths=[32, 80, 60, 110, 110],
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), PDF_FONT, 11),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF6")),
                    ("FONTSIZE", (4, 1), (4, -1), 13),
                ]
            )
        )
        story.append(table)
    if not story:
        story.append(Paragraph(_("没有需要激活的账号。"), body))
    SimpleDocTemplate(str(out), pagesize=A4, title=_("账号激活名单")).build(story)
    return out
