"""The supervision report (服务监督报告) drawn as a PDF in Chinese or English.

The fonts, styles, tables and page come from services.common.pdf (STSong-Light for
Chinese and for every text from the data, Helvetica for Latin labels; every text escaped
before layout, so a description can never become markup)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from services.common import pdf
from services.evaluation.domain.supervision_report import LISTED_DISCREPANCIES, SupervisionReport

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


def render(report: SupervisionReport, language: str) -> bytes:
    """The report as PDF bytes; ``language`` is one of LANGUAGES."""
    labels = LABELS[language]
    styles = pdf.styles(language)
    period = f"{labels['period']} {report.period_id}: {report.starts_on.isoformat()} - {report.ends_on.isoformat()}"
    story = [
        Paragraph(escape(labels["title"]), styles["title"]),
        Paragraph(escape(period), styles["cell"]),
        Paragraph(
            escape(labels["summary"].format(planned=report.planned, answered=report.answered)), styles["cell"]
        ),
        Spacer(1, 4 * mm),
        Paragraph(escape(labels["zones"]), styles["heading"]),
        pdf.table(
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
        pdf.table(
            styles,
            labels["item_header"],
            [[i.service, i.asked, i.undelivered, i.findings, i.upheld] for i in report.items],
            [60, 30, 30, 30, 30],
            labels["none"],
        ),
        Paragraph(escape(labels["teams"]), styles["heading"]),
        pdf.table(
            styles,
            labels["team_header"],
            [[t.team_id, t.findings, t.upheld] for t in report.teams],
            [60, 30, 30],
            labels["none"],
        ),
        Paragraph(escape(labels["discrepancies"]), styles["heading"]),
        pdf.table(
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
                for d in report.discrepancies[:LISTED_DISCREPANCIES]
            ],
            [28, 20, 22, 35, 75],
            labels["none"],
        ),
    ]
    unlisted = len(report.discrepancies) - LISTED_DISCREPANCIES
    if unlisted > 0:
        story.append(Paragraph(escape(labels["more"].format(count=unlisted)), styles["cell"]))
    return pdf.build(story, f"{labels['title']} {report.period_id}")
