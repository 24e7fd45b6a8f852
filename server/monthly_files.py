"""The monthly report (server/monthly.py) in words, as a workbook and as a printable PDF.

One wording for the page, the sheet and the paper: a change is its arrow, its word (tăng, giảm,
không đổi) and whether that is better, never a colour alone. Vietnamese by default, numbers as
Vietnamese write them (1.234,5) on the page and the paper, and as numbers in the sheet.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from .i18n import number, text
from .monthly import DIGITS, INDICATORS, PERCENTS

FONT_DIR = "/usr/share/fonts/truetype/dejavu"  # Debian's fonts-dejavu-core: every Vietnamese letter
ARROWS = {"up": "▲", "down": "▼", "same": "="}


def label(key: str) -> str:
    return text(f"ind_{key}")


def value(key: str, v: float | None) -> str:
    return number(v, DIGITS.get(key, 1))


def change_words(key: str, ch: dict[str, Any]) -> str:
    """A change in words: ▲ tăng 12; ▼ giảm 3,5 điểm % · tốt hơn; = không đổi; chưa có tháng trước."""
    if ch["direction"] is None:
        return text("no_previous")
    if ch["direction"] == "same":
        return f"= {text('same')}"
    amount = number(abs(ch["diff"]), DIGITS.get(key, 1)) + (f" {text('points')}" if key in PERCENTS else "")
    judged = "" if ch["better"] is None else f" · {text('better' if ch['better'] else 'worse')}"
    return f"{ARROWS[ch['direction']]} {text(ch['direction'])} {amount}{judged}"


def levels(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The report's levels that say more than its summary: none for one center (the summary is
    that center), else its provinces, communes and centers."""
    if len(report["centers"]) <= 1:
        return []
    return [("provinces", report["provinces"]), ("communes", report["communes"]), ("centers", report["centers"])]


LEVELS = {"provinces": ("by_province", "province"), "communes": ("by_commune", "ward"),
          "centers": ("by_center", "center")}  # fmt: skip


def heading(level: str) -> str:
    return text(LEVELS[level][0])


def place_word(level: str) -> str:
    """The first column's heading: the province, the commune or the center."""
    return text(LEVELS[level][1])


def _place_columns(level: str) -> list[tuple[str, str]]:
    columns = {"provinces": ["name"], "communes": ["name", "province"], "centers": ["name", "commune", "province"]}
    words = {"name": place_word(level), "commune": text("ward"), "province": text("province")}
    return [(key, words[key]) for key in columns[level]]


def _sheet_name(name: str) -> str:
    """A sheet's name: at most 31 characters, none of []:*?/\\."""
    return "".join(c for c in name if c not in "[]:*?/\\")[:31]


def xlsx(report: dict[str, Any], title: str) -> bytes:
    """A summary sheet (indicator × this month, the previous, the change) and one sheet per level
    (a row per province, commune or center; for each indicator this month, the previous, the
    difference): frozen headers, fitted columns, figures as numbers, blank where there is none."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.properties.title = title
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def fill(sheet, header: list[str], rows: list[list[Any]], freeze: str) -> None:
        sheet.append(header)
        for cell in sheet[1]:
            cell.font, cell.alignment = bold, wrap
        for row in rows:
            sheet.append(row)
        for i, column in enumerate(zip(header, *rows, strict=True), start=1):
            longest = max((len(str(v)) for v in column[1:] if v is not None), default=0)
            sheet.column_dimensions[get_column_letter(i)].width = min(50, max(8, longest + 2, len(column[0]) / 2 + 2))
        sheet.freeze_panes = freeze

    summary = book.active
    summary.title = _sheet_name(text("sheet_summary"))
    month, previous = text("this_month").format(month=report["label"]), report["previous_label"]
    total = report["total"]
    fill(summary, [text("indicator"), month, text("this_month").format(month=previous), text("vs_previous").format(
        month=previous)], [[label(k), total["now"][k], total["before"][k], change_words(k, total["change"][k])]
                           for k in INDICATORS], "B2")  # fmt: skip
    for level, entries in levels(report):
        sheet = book.create_sheet(_sheet_name(text(f"sheet_{level}")))
        places = _place_columns(level)
        header = [name for _, name in places]
        for k in INDICATORS:
            header += [label(k), text("col_previous").format(name=label(k)), text("col_diff").format(name=label(k))]
        rows = []
        for e in entries:
            row = [e.get(key) for key, _ in places]
            for k in INDICATORS:
                row += [e["now"][k], e["before"][k], e["change"][k]["diff"]]
            rows.append(row)
        fill(sheet, header, rows, f"{get_column_letter(len(places) + 1)}2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", f"{FONT_DIR}/DejaVuSans.ttf"))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", f"{FONT_DIR}/DejaVuSans-Bold.ttf"))
    return "DejaVuSans", "DejaVuSans-Bold"


def pdf(report: dict[str, Any], title: str, scope: str, generated: str) -> bytes:
    """A4 landscape: the title, the scope's summary (indicator, this month, the previous, the
    change in words), then a table per level with each figure and its change beneath it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=body, fontName=bold)
    right = ParagraphStyle("right", parent=body, alignment=2)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
    note = ParagraphStyle("note", parent=body, textColor=colors.HexColor("#3b4450"))
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa4ae")),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3ebf5")),
                       ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), regular)])  # fmt: skip
    previous = report["previous_label"]
    total = report["total"]
    story = [Paragraph(escape(title), h1), Paragraph(escape(f"{text('scope')}: {scope}"), body),
             Paragraph(text("monthly_note").format(threshold=number(report["threshold_p90_min"])), note),
             Spacer(1, 4 * mm)]  # fmt: skip
    rows = [[Paragraph(text("indicator"), head), Paragraph(text("this_month").format(month=report["label"]), head),
             Paragraph(text("this_month").format(month=previous), head),
             Paragraph(text("vs_previous").format(month=previous), head)]]  # fmt: skip
    for k in INDICATORS:
        now, before, ch = total["now"][k], total["before"][k], total["change"][k]
        rows.append([Paragraph(label(k), body), Paragraph(value(k, now), right), Paragraph(value(k, before), right),
                     Paragraph(change_words(k, ch), body)])  # fmt: skip
    story.append(Table(rows, colWidths=[70 * mm, 35 * mm, 35 * mm, 70 * mm], style=grid, repeatRows=1))
    shown = [k for k in INDICATORS if k != "issued"]  # the paper's width: tickets issued on the summary only
    for level, entries in levels(report):
        story.append(Paragraph(heading(level), h2))
        rows = [[Paragraph(place_word(level), head), *(Paragraph(label(k), head) for k in shown)]]
        for e in entries:
            under = escape(e["commune"] if level == "centers" else e.get("province", "") if level == "communes" else "")
            place = escape(e["name"]) + (f'<br/><font size=6.5 color="#3b4450">{under}</font>' if under else "")
            cells = [f"{value(k, e['now'][k])}<br/><font size=6.5>{change_words(k, e['change'][k])}</font>"
                     for k in shown]  # fmt: skip
            rows.append([Paragraph(place, body), *(Paragraph(c, right) for c in cells)])
        story.append(Table(rows, colWidths=[52 * mm] + [24.5 * mm] * len(shown), style=grid, repeatRows=1))

    def footer(canvas, doc) -> None:
        canvas.setFont(regular, 7)
        canvas.drawString(12 * mm, 7 * mm, f"{title} · {text('generated').format(when=generated)}")
        canvas.drawRightString(landscape(A4)[0] - 12 * mm, 7 * mm, text("page_of").format(page=doc.page))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=14 * mm, title=title, author="Hàng Chờ")  # fmt: skip
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
