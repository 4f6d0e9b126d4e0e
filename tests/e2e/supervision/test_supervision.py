"""Supervision through the gateway, every service a real server, evaluation on SQLite and
PostgreSQL: the commitment card matches the menu and gets a new version when the menu
changes; a finding, its hearing and its decision flow into the next period run's score;
bad input names the fields and writes nothing."""

import json
import time

import grpc
import pytest
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.gateway.v1 import gateway_pb2 as gpb
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.common import times
from services.common.errors import field_violations
from tests.e2e.gateway.conftest import customer
from tests.e2e.supervision.conftest import LICENCE
from tests.support.rule_samples import default_source


def refused(call, code):
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == code, error.value.details()
    return error.value


def card(stubs, **values):
    request = gpb.GetCommitmentCardRequest(licence_number=LICENCE, **values)
    return stubs(stubs.gateway.GetCommitmentCard, request)


def test_the_card_is_the_menu_and_a_changed_menu_is_a_new_version(admin):
    ops = admin  # the admin token sets up; reads below go through the same gateway
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    first = card(ops, language="zh")
    assert first.new_version and first.card.version == 1
    assert first.customer_name == f"Shop {LICENCE}"
    assert (first.card.responsible_person, first.card.team_id) == ("cm-1", "team-1")
    assert first.card.entitlements_version == menu.entitlements_version > 0
    assert [
        (i.service, i.name, list(i.procedure_steps), i.standard, i.commitment) for i in first.card.items
    ] == [
        (
            i.description.service,
            i.description.name,
            list(i.description.procedure_steps),
            i.description.standard,
            i.description.commitment,
        )
        for i in menu.items
    ]
    assert "服务承诺卡" in first.html and menu.items[0].description.name in first.html

    again = card(ops, language="en")
    assert not again.new_version and again.card.version == 1
    assert "Service commitment card" in again.html and "服务承诺卡" not in again.html
    assert not card(ops).html

    # The published content of an item changes: a new version, and markup is escaped.
    changed = menu.items[0].description
    changed.standard = "<b>within 24 hours</b>"
    admin(
        admin.classification.UpdateServiceDescription,
        cpb.UpdateServiceDescriptionRequest(description=changed),
    )
    second = card(ops, language="en")
    assert second.new_version and second.card.version == 2
    assert second.card.items[0].standard == "<b>within 24 hours</b>"
    assert "&lt;b&gt;within 24 hours&lt;/b&gt;" in second.html and "<b>within" not in second.html

    # The card held on a day: today's last version; before the first: none.
    today = times.now().date().isoformat()
    assert card(ops, on_date=today).card.version == 2
    refused(lambda: card(ops, on_date="2000-01-01"), grpc.StatusCode.NOT_FOUND)
    error = refused(lambda: card(ops, language="fr"), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"language"}
    error = refused(lambda: card(ops, on_date="yesterday"), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"on_date"}
    unknown = gpb.GetCommitmentCardRequest(licence_number="999999999999")
    refused(lambda: ops(ops.gateway.GetCommitmentCard, unknown), grpc.StatusCode.NOT_FOUND)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_a_finding_heard_and_upheld_lowers_the_next_score(admin):
    ev = admin.evaluation
    service = admin.evaluation  # relayed to evaluation; admin holds every role's rights
    menu = admin(admin.classification.GetServiceMenu, cpb.GetServiceMenuRequest(licence_number=LICENCE))
    item = menu.items[0].description.service
    broken_before = sample("evaluation_commitments_broken_total", service=item)

    def run():
        admin(ev.RunPeriodEvaluation, epb.RunPeriodEvaluationRequest(period_id="Y", run_by="tl-1"))
        results = admin(
            ev.ListPeriodResults, epb.ListPeriodResultsRequest(period_id="Y", subject_kind="staff")
        )
        cm = next(r for r in results.results if r.subject_id == "cm-1")
        return cm, {i.indicator: i for i in cm.indicators}["broken_commitments"]

    kept, kept_indicator = run()
    assert (kept_indicator.value, kept_indicator.share) == (0, 1)

    # A finding about an item the customer is not entitled to: refused, nothing written.
    bad = epb.Finding(
        inspector_id="in-1",
        licence_number=LICENCE,
        service="no_such_service",
        kind=epb.FINDING_NOT_DELIVERED,
        evidence=["photo of the shop"],
    )
    error = refused(
        lambda: admin(service.RecordFinding, epb.RecordFindingRequest(finding=bad)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"finding.service"}
    error = refused(
        lambda: admin(
            service.RecordFinding,
            epb.RecordFindingRequest(finding=epb.Finding(licence_number=LICENCE, service=item)),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"finding.inspector_id", "finding.kind", "finding.evidence"}
    listed = admin(service.ListFindings, epb.ListFindingsRequest(licence_number=LICENCE))
    assert list(listed.findings) == []

    good = epb.Finding(
        inspector_id="in-1",
        licence_number=LICENCE,
        service=item,
        kind=epb.FINDING_NOT_DELIVERED,
        evidence=["the retailer says nobody came this month", "no card for the month"],
    )
    finding = admin(service.RecordFinding, epb.RecordFindingRequest(finding=good)).finding
    assert finding.state == epb.FINDING_OPEN
    assert (finding.staff_id, finding.team_id, finding.card_version) == ("cm-1", "team-1", 1)

    # A decision before the hearing is refused; after it, the decision stands.
    decide = epb.DecideFindingRequest(finding_id=finding.id, upheld=True, decided_by="tl-1", note="confirmed")
    refused(lambda: admin(service.DecideFinding, decide), grpc.StatusCode.FAILED_PRECONDITION)
    heard = admin(
        service.RecordHearing,
        epb.RecordHearingRequest(finding_id=finding.id, response="I was on leave; nobody stood in"),
    ).finding
    assert heard.state == epb.FINDING_HEARD and heard.response.startswith("I was on leave")
    decided = admin(service.DecideFinding, decide).finding
    assert decided.state == epb.FINDING_UPHELD and decided.decided_by == "tl-1"
    refused(lambda: admin(service.DecideFinding, decide), grpc.StatusCode.FAILED_PRECONDITION)
    assert sample("evaluation_commitments_broken_total", service=item) == broken_before + 1

    broke, broke_indicator = run()
    assert (broke_indicator.value, broke_indicator.share) == (1, pytest.approx(0.4))
    assert broke_indicator.points < kept_indicator.points
    assert broke.total_score == pytest.approx(
        kept.total_score - kept_indicator.points + broke_indicator.points
    )
    by_team = admin(service.ListFindings, epb.ListFindingsRequest(team_id="team-1"))
    assert [f.id for f in by_team.findings] == [finding.id]


def test_a_published_entitlements_change_makes_a_new_card_version(admin):
    first = card(admin).card
    visits = {i.service: json.loads(i.parameters_json) for i in first.items}["customer_manager_visit"]
    assert visits == {"visits_per_month": 2}
    source = (
        default_source("service-entitlements")
        .replace(
            "- grant_service: {service: customer_manager_visit, visits_per_month: 2}",
            "- grant_service: {service: customer_manager_visit, visits_per_month: 3}",
        )
        .replace(
            "customer_manager_visit: {visits_per_month: 2}", "customer_manager_visit: {visits_per_month: 3}"
        )
    )
    published = admin(
        admin.rules.PublishRuleSet,
        rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment="three visits"),
    ).version.version
    deadline = time.monotonic() + 20
    while True:  # classification switches to the new version within its poll interval
        classified = admin(
            admin.classification.ClassifyCustomer, cpb.ClassifyCustomerRequest(licence_number=LICENCE)
        )
        if (
            classified.customer.classification.entitlements_version == published
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.2)
    second = card(admin)
    # Issued by this call, or already at the change by the card follower (test_card_follower.py).
    assert second.card.version == first.version + 1
    assert second.card.entitlements_version == published > first.entitlements_version
    visits = {i.service: json.loads(i.parameters_json) for i in second.card.items}["customer_manager_visit"]
    assert visits == {"visits_per_month": 3}
    # The card held at the end of today is the new one.
    assert card(admin, on_date=times.now().date().isoformat()).card.version == second.card.version


def test_without_classification_no_card_and_no_finding_is_made(pack, admin):
    issued = card(admin).card
    pack.stop("classification")
    error = refused(lambda: card(admin), grpc.StatusCode.UNAVAILABLE)
    assert "classification" in error.details()
    finding = epb.Finding(
        inspector_id="in-1",
        licence_number=LICENCE,
        service=issued.items[0].service,
        kind=epb.FINDING_STANDARD_NOT_MET,
        evidence=["late by two days"],
    )
    error = refused(
        lambda: admin(admin.evaluation.RecordFinding, epb.RecordFindingRequest(finding=finding)),
        grpc.StatusCode.UNAVAILABLE,
    )
    assert "classification" in error.details()
    listed = admin(admin.evaluation.ListFindings, epb.ListFindingsRequest(licence_number=LICENCE))
    assert list(listed.findings) == []


def test_the_cards_of_a_zone_print_one_page_each(admin):
    admin(
        admin.classification.CreateCustomer,
        cpb.CreateCustomerRequest(customer=customer("110101100002", customer_manager_id="cm-1")),
    )
    admin(
        admin.classification.UpsertMarketZone,
        cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z2", name="New town", team_id="team-2")),
    )
    admin(
        admin.classification.CreateCustomer,
        cpb.CreateCustomerRequest(customer=customer("110101100003", market_zone="Z2")),
    )

    def print_zone(**values):
        return admin(admin.gateway.GetZoneCommitmentCards, gpb.GetZoneCommitmentCardsRequest(**values))

    pages, token = [], ""
    while True:  # a page at a time
        page = print_zone(market_zone="Z1", language="zh", page_size=1, page_token=token)
        assert len(page.cards) <= 1 and page.html.count('<section class="card">') == len(page.cards)
        pages.append(page)
        token = page.next_page_token
        if not token:
            break
    licences = {c.licence_number for page in pages for c in page.cards}
    assert licences == {LICENCE, "110101100002"} and len(pages) >= 2
    whole = print_zone(market_zone="Z1", language="en")
    assert {c.licence_number for c in whole.cards} == licences
    assert whole.html.count('<section class="card">') == 2 and "110101100003" not in whole.html
    # Printing issued the cards: the customer's own card is the same version.
    assert card(admin).card.version == next(c.version for c in whole.cards if c.licence_number == LICENCE)
    error = refused(lambda: print_zone(market_zone="Z1", language=""), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(error)) == {"language"}
    error = refused(
        lambda: print_zone(market_zone="", language="en", page_size=101), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "market_zone" in set(field_violations(error))
