"""The commitment card (服务承诺卡) as a PDF through the gateway, every service a real
server: read back with pypdf, it names the customer's licence, every item of the menu
with its procedure and standard, and the responsible person and team, in Chinese or
English; a zone's cards print one after another; data never becomes markup."""

import io
import re

import grpc
import pypdf
import pytest
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.gateway.v1 import gateway_pb2 as gpb

from services.common.errors import field_violations

LICENCE = "110101100001"


def pdf_text(content: bytes) -> tuple[int, str]:
    """(pages, the text without any white space): table cells wrap anywhere."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return len(reader.pages), re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def card(stubs, **values):
    return stubs(
        stubs.gateway.GetCommitmentCard, gpb.GetCommitmentCardRequest(licence_number=LICENCE, **values)
    )


def test_the_card_as_a_pdf_in_chinese_and_english(service, admin):
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    assert menu.items  # the default rule sets give every customer its standard services

    zh = card(service, language="zh", pdf=True)
    assert (
        zh.pdf.startswith(b"%PDF-") and zh.filename == f"commitment-card-{LICENCE}-v{zh.card.version}-zh.pdf"
    )
    assert zh.html  # the page is still there
    pages, text = pdf_text(zh.pdf)
    assert pages >= 1
    assert "服务承诺卡" in text and "责任人(客户经理)" in text and "许可证号" in text
    assert LICENCE in text and squeezed(f"Shop {LICENCE}") in text
    assert "manager-9" in text and "team-1" in text  # the responsible person and team
    for item in menu.items:
        described = item.description
        assert squeezed(described.name) in text and squeezed(described.service) in text
        assert squeezed(described.standard) in text and squeezed(described.commitment) in text
        for number, step in enumerate(described.procedure_steps, 1):
            assert squeezed(f"{number}. {step}") in text

    en = card(service, language="en", pdf=True)
    assert en.filename.endswith("-en.pdf") and en.card.version == zh.card.version
    _, text = pdf_text(en.pdf)
    assert "Servicecommitmentcard" in text and "Responsible(customermanager)" in text
    assert "服务承诺卡" not in text and LICENCE in text and "manager-9" in text
    assert all(squeezed(item.description.name) in text for item in menu.items)

    # Without pdf: no PDF (the page only with a language); a PDF needs a language.
    plain = card(service, language="en")
    assert plain.html and not plain.pdf and not plain.filename
    with pytest.raises(grpc.RpcError) as error:
        card(service, pdf=True)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error.value)) == {"language"}


def test_texts_with_markup_are_printed_as_written(service, admin):
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    changed = menu.items[0].description
    changed.standard = "<b>within 24 hours</b> & <unclosed"
    changed.procedure_steps[:] = ["<para>call</para>", "visit & record"]
    admin(
        admin.classification.UpdateServiceDescription,
        cpb.UpdateServiceDescriptionRequest(description=changed),
    )

    reply = card(service, language="zh", pdf=True)
    assert reply.card.items[0].standard == changed.standard
    _, text = pdf_text(reply.pdf)
    assert squeezed(changed.standard) in text
    assert "1.<para>call</para>" in text and "2.visit&record" in text


def test_a_zone_prints_every_card_on_its_own_pages(service, admin):
    def print_zone(**values):
        return admin(admin.gateway.GetZoneCommitmentCards, gpb.GetZoneCommitmentCardsRequest(**values))

    whole = print_zone(market_zone="Z1", language="zh", pdf=True)
    licences = {c.licence_number for c in whole.cards}
    assert licences == {"110101100001", "110101100002"}
    assert whole.filename == "commitment-cards-Z1-zh.pdf"
    pages, text = pdf_text(whole.pdf)
    assert pages >= 2 and text.count("服务承诺卡") == 2
    for licence in licences:
        assert licence in text and squeezed(f"Shop {licence}") in text

    # A page of customers at a time: the PDF holds that page's cards.
    first = print_zone(market_zone="Z1", language="en", page_size=1, pdf=True)
    assert len(first.cards) == 1 and first.next_page_token
    pages, text = pdf_text(first.pdf)
    assert text.count("Servicecommitmentcard") == 1 and first.cards[0].licence_number in text
    assert not print_zone(market_zone="Z1", language="en").pdf
    with pytest.raises(grpc.RpcError) as refused:  # drawing costs CPU a card: fewer a page
        print_zone(market_zone="Z1", language="en", page_size=21, pdf=True)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(refused.value) == {"page_size": "with pdf: at most 20 cards a page"}


def test_the_longest_texts_the_contract_allows_flow_over_pages(service, admin):
    """50 procedure steps of 1,000 characters and a 2,000-character standard: no row is
    taller than a page, every step is printed."""
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    _, before = pdf_text(card(service, language="en", pdf=True).pdf)  # the other items' texts
    changed = menu.items[0].description
    before = {c: before.count(c) - (changed.standard + changed.commitment).count(c) for c in "程标诺"}
    before["程"] -= "".join(changed.procedure_steps).count("程")
    changed.procedure_steps[:] = [f"第{number}步" + "程" * 990 for number in range(1, 51)]
    changed.standard = "标" * 2000
    changed.commitment = "诺" * 2000
    admin(
        admin.classification.UpdateServiceDescription,
        cpb.UpdateServiceDescriptionRequest(description=changed),
    )

    reply = card(service, language="en", pdf=True)
    pages, text = pdf_text(reply.pdf)
    assert pages > 10
    assert all(f"{number}.第{number}步" in text for number in range(1, 51))
    assert text.count("程") - before["程"] == 50 * 990
    assert (text.count("标") - before["标"], text.count("诺") - before["诺"]) == (2000, 2000)
    assert all(squeezed(item.description.name) in text for item in menu.items)
