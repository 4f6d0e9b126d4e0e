"""The commitment card (服务承诺卡) as a printable HTML page or an A4 PDF, in Chinese or
English.

Every text from the card is escaped: service names, procedures and standards are written
by administrators and must not become markup on the printed page. The PDF is drawn with
services.common.pdf (Chinese in the STSong-Light CID font, as the supervision report)."""

from __future__ import annotations

import html
import json

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Spacer
from retailcare.evaluation.v1 import evaluation_pb2 as epb

from services.common import pdf

LANGUAGES = ("zh", "en")

LABELS = {
    "zh": {
        "title": "服务承诺卡",
        "customer": "零售客户",
        "licence": "许可证号",
        "version": "承诺卡版本",
        "issued": "发布时间",
        "rule_set": "服务权益规则集版本",
        "responsible": "责任人(客户经理)",
        "team": "责任部门",
        "service": "服务项目",
        "kind": "类别",
        "content": "服务内容与承诺",
        "procedure": "服务程序",
        "standard": "服务标准",
        "parameters": "参数",
        "none": "无",
        "footer": "如服务未按承诺兑现，请拨打服务监督电话投诉。",
    },
    "en": {
        "title": "Service commitment card",
        "customer": "Retail customer",
        "licence": "Licence number",
        "version": "Card version",
        "issued": "Issued",
        "rule_set": "Service-entitlements rule-set version",
        "responsible": "Responsible (customer manager)",
        "team": "Responsible team",
        "service": "Service",
        "kind": "Kind",
        "content": "Content and commitment",
        "procedure": "Procedure",
        "standard": "Standard",
        "parameters": "Parameters",
        "none": "none",
        "footer": "If a commitment is not kept, call the service supervision hotline.",
    },
}

STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #444;padding:4px;vertical-align:top;text-align:left}"
    "section.card{page-break-after:always}@media print{body{margin:0}}"
)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _parameters(text: str, none: str) -> str:
    values = json.loads(text) if text else {}
    if not values:
        return _e(none)
    return "<br>".join(f"{_e(key)}: {_e(value)}" for key, value in sorted(values.items()))


def _head(card: epb.CommitmentCard, customer_name: str, t: dict) -> list[tuple[str, object]]:
    issued = card.issued_at.ToDatetime().strftime("%Y-%m-%d %H:%M UTC") if card.HasField("issued_at") else ""
    return [
        (t["customer"], customer_name),
        (t["licence"], card.licence_number),
        (t["version"], card.version),
        (t["issued"], issued),
        (t["rule_set"], card.entitlements_version),
        (t["responsible"], card.responsible_person or t["none"]),
        (t["team"], card.team_id or t["none"]),
    ]


def _section(card: epb.CommitmentCard, customer_name: str, t: dict) -> str:
    head = _head(card, customer_name, t)
    rows = []
    for item in card.items:
        steps = "".join(f"<li>{_e(step)}</li>" for step in item.procedure_steps)
        rows.append(
            "<tr>"
            f"<td>{_e(item.name)}<br><small>{_e(item.service)}</small></td>"
            f"<td>{_e(item.kind)}</td>"
            f"<td>{_e(item.commitment)}</td>"
            f"<td><ol>{steps}</ol></td>"
            f"<td>{_e(item.standard)}</td>"
            f"<td>{_parameters(item.parameters_json, t['none'])}</td>"
            "</tr>"
        )
    columns = ("service", "kind", "content", "procedure", "standard", "parameters")
    return (
        f'<section class="card"><h1>{_e(t["title"])}</h1><dl>'
        + "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in head)
        + "</dl><table><thead><tr>"
        + "".join(f"<th>{_e(t[c])}</th>" for c in columns)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + f"</tbody></table><p>{_e(t['footer'])}</p></section>"
    )


def render_many(cards: list[tuple[epb.CommitmentCard, str]], title: str, language: str) -> str:
    """One page per card (``(card, customer name)``), in one printable document."""
    t = LABELS[language]
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(language)}"><head><meta charset="utf-8">'
        f"<title>{_e(t['title'])} {_e(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(_section(card, name, t) for card, name in cards)
        + "</body></html>\n"
    )


def render(card: epb.CommitmentCard, customer_name: str, language: str) -> str:
    """The page of one card; ``language`` is one of LANGUAGES."""
    return render_many([(card, customer_name)], card.licence_number, language)


# The PDF sets each card as label | value rows (mm; 180 mm inside the margins): a row for
# each field of an item and one for each procedure step and parameter, so that no row,
# even of the longest texts the contract allows, is taller than a page.
PDF_WIDTHS = (45, 135)


def _parameter_lines(text: str) -> list[str]:
    values = json.loads(text) if text else {}
    return [f"{key}: {value}" for key, value in sorted(values.items())]


def _item_rows(item: epb.CommitmentItem, t: dict) -> list[list[str]]:
    steps = [f"{number}. {step}" for number, step in enumerate(item.procedure_steps, 1)] or [t["none"]]
    parameters = _parameter_lines(item.parameters_json) or [t["none"]]
    return [
        [t["service"], f"{item.name} ({item.service})"],
        [t["kind"], item.kind],
        [t["content"], item.commitment or t["none"]],
        *([t["procedure"] if i == 0 else "", step] for i, step in enumerate(steps)),
        [t["standard"], item.standard or t["none"]],
        *([t["parameters"] if i == 0 else "", line] for i, line in enumerate(parameters)),
    ]


def _pdf_section(card: epb.CommitmentCard, customer_name: str, t: dict, styles) -> list:
    def labelled(rows):
        return [[pdf.text(label, styles["label"]), value] for label, value in rows]

    story = [
        pdf.text(t["title"], styles["title"]),
        pdf.table(styles, None, labelled(_head(card, customer_name, t)), PDF_WIDTHS, t["none"]),
    ]
    for item in card.items:
        story += [
            Spacer(1, 3 * mm),
            pdf.table(styles, None, labelled(_item_rows(item, t)), PDF_WIDTHS, t["none"]),
        ]
    if not card.items:
        story += [Spacer(1, 3 * mm), pdf.text(f"{t['service']}: {t['none']}", styles["cell"])]
    return [*story, Spacer(1, 4 * mm), pdf.text(t["footer"], styles["cell"])]


def render_many_pdf(cards: list[tuple[epb.CommitmentCard, str]], title: str, language: str) -> bytes:
    """One A4 page (or more) per card (``(card, customer name)``), in one PDF."""
    t = LABELS[language]
    styles = pdf.styles(language)
    story: list = []
    for card, name in cards:
        if story:
            story.append(PageBreak())
        story += _pdf_section(card, name, t, styles)
    if not story:
        story = [pdf.text(t["title"], styles["title"]), pdf.text(t["none"], styles["cell"])]
    return pdf.build(story, f"{t['title']} {title}")


def render_pdf(card: epb.CommitmentCard, customer_name: str, language: str) -> bytes:
    """The PDF of one card; ``language`` is one of LANGUAGES."""
    return render_many_pdf([(card, customer_name)], card.licence_number, language)


def card_filename(card: epb.CommitmentCard, language: str) -> str:
    """e.g. commitment-card-110101200002-v3-zh.pdf (the licence made safe for a file name)."""
    return f"commitment-card-{pdf.filename_part(card.licence_number)}-v{card.version}-{language}.pdf"


def zone_filename(zone: str, language: str) -> str:
    """e.g. commitment-cards-Z1-zh.pdf (the zone code made safe for a file name)."""
    return f"commitment-cards-{pdf.filename_part(zone)}-{language}.pdf"
