"""The supervision report (服务监督报告) drawn as a PDF in Chinese or English.

Chinese text is set in STSong-Light, the Adobe-GB1 CID font whose metrics ReportLab
ships: the PDF names the font and carries no glyphs, so any conforming reader shows
it with its own Chinese font (Acrobat, browsers, poppler with a CJK font installed) and
every text can be extracted and searched. Latin labels use Helvetica, one of the
standard fonts. Every text from the data is escaped before it reaches the layout, so a
description can never become markup."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.evaluation.domain.supervision_report import SupervisionReport

CJK_FONT = "STSong-Light"
# The PDF lists at most this many discrepancies (a thousand rows are about fifty pages);
# the reply's figures carry them all.
MAX_LISTED = 1000
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

LABELS = {
    "zh": {
        "title": "服务监督报告",
        "period": "考核期",
        "summary": "回访计划 {planned} 户，已回访 {answered} 户",
        "zones": "回访覆盖率与满意度（按市场片区）",
        "zone_header": ["片区", "计划", "已回访", "覆盖率", "满意度", "不符"],
        "items": "承诺事项检查与违诺（按服务项目）",
        "item_header": ["服务项目", "回访询问", "客户称未兑现", "检查发现", "违诺"],
        "teams": "检查发现与违诺（按部门）",
        "team_header": ["部门", "检查发现", "违诺"],
        "discrepancies": "回访答复与拜访记录卡不符",
        "discrepancy_header": ["客户", "片区", "责任人", "服务项目", "情况"],
        "none": "无",
        "recorded_not_delivered": "拜访记录卡有记载，客户称未兑现（记录卡 {cards}）",
        "delivered_not_recorded": "客户称已兑现，本期拜访记录卡无记载",
        "more": "另有 {count} 条未列出（答复的 discrepancies 中列有全部）",
    },
    "en": {
        "title": "Service supervision report",
        "period": "Period",
        "summary": "{planned} return visits planned, {answered} answered",
        "zones": "Return-visit coverage and satisfaction by market zone",
        "zone_header": ["zone", "planned", "answered", "coverage", "satisfaction", "discrepancies"],
        "items": "Committed items checked and broken, by item",
        "item_header": ["service", "asked", "said undelivered", "findings", "broken"],
        "teams": "Findings and breaches by team",
        "team_header": ["team", "findings", "breaches"],
        "discrepancies": "Return-visit answers that do not match the visit cards",
        "discrepancy_header": ["customer", "zone", "responsible", "service", "what"],
        "none": "none",
        "recorded_not_delivered": "recorded on visit cards {cards}; the customer says not delivered",
        "delivered_not_recorded": "the customer says delivered; on no visit card of the period",
        "more": "{count} more not listed (the reply's discrepancies list them all)",
    },
}


def _styles(language: str) -> dict[str, ParagraphStyle]:
    label_font = CJK_FONT if language == "zh" else "Helvetica"
    return {
        "title": ParagraphStyle("title", fontName=label_font, fontSize=16, leading=22, spaceAfter=6),
        "heading": ParagraphStyle(
            "heading", fontName=label_font, fontSize=11, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "label": ParagraphStyle("label", fontName=label_font, fontSize=8, leading=11),
        # Data may hold Chinese in either language: always the CJK font, wrapped per character.
        "cell": ParagraphStyle("cell", fontName=CJK_FONT, fontSize=8, leading=11, wordWrap="CJK"),
    }


def _table(styles, header: list[str], rows: list[list], widths: list[float], none: str) -> Table:
    if not rows:
        rows = [[none] + [""] * (len(header) - 1)]
    data = [[Paragraph(escape(h), styles["label"]) for h in header]]
    data += [[Paragraph(escape(str(value)), styles["cell"]) for value in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render(report: SupervisionReport, language: str) -> bytes:
    """The report as PDF bytes; ``language`` is one of LANGUAGES."""
    labels = LABELS[language]
    styles = _styles(language)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{labels['title']} {report.period_id}",
        author="RetailCare",
    )
    period = f"{labels['period']} {report.period_id}: {report.starts_on.isoformat()} - {report.ends_on.isoformat()}"
    story = [
        Paragraph(escape(labels["title"]), styles["title"]),
        Paragraph(escape(period), styles["cell"]),
        Paragraph(
            escape(labels["summary"].format(planned=report.planned, answered=report.answered)), styles["cell"]
        ),
        Spacer(1, 4 * mm),
        Paragraph(escape(labels["zones"]), styles["heading"]),
        _table(
            styles,
            labels["zone_header"],
            [
                [z.zone, z.planned, z.answered, f"{z.coverage:.0%}", f"{z.satisfaction:.2f}", z.discrepancies]
                for z in report.zones
            ],
            [40, 25, 25, 25, 30, 30],
            labels["none"],
        ),
        Paragraph(escape(labels["items"]), styles["heading"]),
        _table(
            styles,
            labels["item_header"],
            [[i.service, i.asked, i.undelivered, i.findings, i.upheld] for i in report.items],
            [60, 30, 30, 30, 30],
            labels["none"],
        ),
        Paragraph(escape(labels["teams"]), styles["heading"]),
        _table(
            styles,
            labels["team_header"],
            [[t.team_id, t.findings, t.upheld] for t in report.teams],
            [60, 30, 30],
            labels["none"],
        ),
        Paragraph(escape(labels["discrepancies"]), styles["heading"]),
        _table(
            styles,
            labels["discrepancy_header"],
            [
                [
                    d.licence_number,
                    d.zone,
                    d.staff_id,
                    d.service,
                    labels[d.kind].format(cards=", ".join(d.card_ids)),
                ]
                for d in report.discrepancies[:MAX_LISTED]
            ],
            [28, 20, 22, 35, 75],
            labels["none"],
        ),
    ]
    unlisted = len(report.discrepancies) - MAX_LISTED
    if unlisted > 0:
        story.append(Paragraph(escape(labels["more"].format(count=unlisted)), styles["cell"]))
    document.build(story)
    return buffer.getvalue()
