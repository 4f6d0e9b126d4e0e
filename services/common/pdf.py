"""Printable A4 PDFs in Chinese or English, drawn with ReportLab: the pieces every printed
document of the pack shares (fonts, paragraph styles, a gridded table, the page).

Chinese text is set in STSong-Light, the Adobe-GB1 CID font whose metrics ReportLab
ships: the PDF names the font and carries no glyphs, so any conforming reader shows it
with its own Chinese font (Acrobat, browsers, poppler with a CJK font installed) and every
text can be extracted and searched. Latin labels use Helvetica, one of the standard
fonts. Every text given to these helpers is escaped before it reaches the layout, so data
can never become markup. Generic only: nothing here knows a service's documents."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
MARGIN_MM = 15
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def styles(language: str) -> dict[str, ParagraphStyle]:
    """``title``, ``heading`` and ``label`` in the language's font; ``cell`` for data,
    always the CJK font (data may hold Chinese in either language), wrapped per character."""
    label_font = CJK_FONT if language == "zh" else LATIN_FONT
    return {
        "title": ParagraphStyle("title", fontName=label_font, fontSize=16, leading=22, spaceAfter=6),
        "heading": ParagraphStyle(
            "heading", fontName=label_font, fontSize=11, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "label": ParagraphStyle("label", fontName=label_font, fontSize=8, leading=11),
        "cell": ParagraphStyle("cell", fontName=CJK_FONT, fontSize=8, leading=11, wordWrap="CJK"),
    }


def text(value, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped); line breaks in it are kept."""
    return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)


def table(
    style_sheet: dict[str, ParagraphStyle],
    header: Sequence[str] | None,
    rows: Sequence[Sequence],
    widths_mm: Sequence[float],
    none: str,
) -> Table:
    """A gridded table, the header (labels) repeated on every page; a cell is plain text
    (escaped) or a ready Flowable; no rows: one row saying ``none``."""
    columns = len(widths_mm)
    if not rows:
        rows = [[none] + [""] * (columns - 1)]

    def cell(value):
        return value if isinstance(value, Flowable) else text(value, style_sheet["cell"])

    data = [[text(h, style_sheet["label"]) for h in header]] if header else []
    data += [[cell(value) for value in row] for row in rows]
    grid = Table(
        data,
        colWidths=[w * mm for w in widths_mm],
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        splitInRow=1,  # a row taller than a page (long procedures) goes on over the next
    )
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    grid.setStyle(TableStyle(commands))
    return grid


def build(story: list, title: str) -> bytes:
    """The story laid out on A4 pages with 15 mm margins, as PDF bytes."""
    buffer = io.BytesIO()
    margin = MARGIN_MM * mm
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author="RetailCare",
    )
    document.build(story)
    return buffer.getvalue()


def filename_part(value: str) -> str:
    """``value`` safe in a file name: anything but letters, digits, dot, dash and
    underscore becomes an underscore."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", value) or "_"
