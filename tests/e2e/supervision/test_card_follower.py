"""The card follower through real servers on loopback (classification and evaluation in
this process, evaluation on SQLite and PostgreSQL): a change of entitlements nobody asked
the card about makes a new card version dated at the change, so the card held on a date
is right; a customer without a card gets none; the change feed refuses bad input."""

import datetime
import json
import time

import grpc
import pytest
from google.protobuf import json_format
from prometheus_client import REGISTRY
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.errors import field_violations
from services.common.server import RunningService
from services.composition import service_definition
from tests.e2e.gateway.conftest import customer
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, settings_for

LICENCE, OTHER = "110101100001", "110101100002"
D1 = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)
WAIT = 60  # seconds: conditions are polled, never slept on


class Pack:
    """Classification and evaluation, each a real server; the follower polls every 0.2 s."""

    def __init__(self, tmp_path, db_url):
        settings = settings_for(
            tmp_path,
            evaluation_database_url=db_url,
            rules_poll_seconds=0.2,
            card_follow_seconds=0.2,
            downstream_timeout_seconds=5,
        )
        self.services = [
            RunningService(service_definition(name), settings).start()
            for name in ("classification", "evaluation")
        ]
        self._channels = [channel_to(service) for service in self.services]
        classification, evaluation = (channel.__enter__() for channel in self._channels)
        self.classification = classification_pb2_grpc.ClassificationServiceStub(classification)
        self.rules = rule_sets_pb2_grpc.RuleSetAdminStub(classification)
        self.evaluation = evaluation_pb2_grpc.EvaluationServiceStub(evaluation)

    def card(self, licence=LICENCE, on_date=""):
        request = epb.GetCommitmentCardRequest(licence_number=licence, on_date=on_date)
        return self.evaluation.GetCommitmentCard(request, timeout=10)

    def held_on(self, day: datetime.date, licence=LICENCE):
        return self.card(licence, day.isoformat()).card

    def close(self):
        for channel in self._channels:
            channel.__exit__(None, None, None)
        for service in reversed(self.services):
            service.stop()


@pytest.fixture
def pack(tmp_path, db_url, clock):
    clock.set(D1, frozen=False)
    running = Pack(tmp_path, db_url)
    try:
        zone = cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")
        running.classification.UpsertMarketZone(cpb.UpsertMarketZoneRequest(zone=zone), timeout=10)
        for licence in (LICENCE, OTHER):
            running.classification.CreateCustomer(
                cpb.CreateCustomerRequest(customer=customer(licence, customer_manager_id="cm-1")), timeout=10
            )
        yield running
    finally:
        running.close()


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            value = condition()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT}s: {what}")


def _visits(card) -> int:
    return {i.service: json.loads(i.parameters_json) for i in card.items}["customer_manager_visit"][
        "visits_per_month"
    ]


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0


def _publish_three_visits(pack) -> int:
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
    request = rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment="three visits")
    return pack.rules.PublishRuleSet(request, timeout=30).version.version


def _last_change(pack, licence: str) -> cpb.Classification:
    reply = pack.classification.ListClassificationHistory(
        cpb.ListClassificationHistoryRequest(licence_number=licence, page_size=1), timeout=10
    )
    return reply.classifications[0]


def test_a_published_rule_change_nobody_printed_is_the_card_held_from_that_day(pack, clock):
    first = pack.card()
    assert first.new_version and first.card.version == 1 and _visits(first.card) == 2
    issued_before = _sample("evaluation_card_follow_issued_total")

    clock.advance(datetime.timedelta(days=2))  # 12 March: the analyst publishes three visits a month
    published = _publish_three_visits(pack)
    day = D1.date() + datetime.timedelta(days=2)
    second = _wait_for(
        lambda: (card := pack.held_on(day)).version == 2 and card,
        "the follower issues version 2 without anyone asking for the card",
    )
    change = _last_change(pack, LICENCE)
    assert (change.reason, change.entitlements_version) == ("reclassify", published)
    assert second.issued_at == change.classified_at  # dated at the change, not when followed
    assert second.entitlements_version == published and _visits(second) == 3
    assert (second.responsible_person, second.team_id) == ("cm-1", "team-1")

    # The days before hold version 1; the current card is version 2, not issued again.
    assert pack.held_on(D1.date()).version == 1
    assert pack.held_on(D1.date() + datetime.timedelta(days=1)).version == 1
    current = pack.card()
    assert not current.new_version and current.card.version == 2
    assert _sample("evaluation_card_follow_issued_total") - issued_before == 1

    # The other customer never had a card printed: the change gave it none.
    with pytest.raises(grpc.RpcError) as error:
        pack.held_on(day, OTHER)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_change_of_manager_and_of_entitlements_by_update_is_followed(pack, clock):
    assert pack.card().card.version == 1
    clock.advance(datetime.timedelta(days=1))
    update = cpb.UpdateCustomerRequest(customer=customer(LICENCE, customer_manager_id="cm-2"))
    update.update_mask.paths.append("customer_manager_id")
    pack.classification.UpdateCustomer(update, timeout=10)
    day = D1.date() + datetime.timedelta(days=1)
    second = _wait_for(lambda: (c := pack.held_on(day)).version == 2 and c, "version 2 for the new manager")
    assert second.responsible_person == "cm-2"
    assert second.issued_at == _last_change(pack, LICENCE).classified_at

    # The grocery becomes a supermarket: other entitlements (ordering method, personal
    # care), the next day.
    clock.advance(datetime.timedelta(days=1))
    update = cpb.UpdateCustomerRequest(customer=customer(LICENCE, business_format="supermarket"))
    update.update_mask.paths.append("business_format")
    menu = cpb.GetServiceMenuRequest(licence_number=LICENCE)
    before = pack.classification.GetServiceMenu(menu, timeout=10).items
    pack.classification.UpdateCustomer(update, timeout=10)
    after = pack.classification.GetServiceMenu(menu, timeout=10).items
    assert list(after) != list(before)
    third = _wait_for(
        lambda: (c := pack.held_on(day + datetime.timedelta(days=1))).version == 3 and c, "version 3"
    )
    assert [(i.service, json.loads(i.parameters_json)) for i in third.items] == [
        (i.description.service, json_format.MessageToDict(i.parameters)) for i in after
    ]
    assert pack.held_on(day).version == 2

    # An update that changes nothing the card shows issues nothing.
    followed = _sample("evaluation_card_follow_changes_total")
    update = cpb.UpdateCustomerRequest(customer=customer(LICENCE, contact_phone="010-1234"))
    update.update_mask.paths.append("contact_phone")
    pack.classification.UpdateCustomer(update, timeout=10)
    _wait_for(lambda: _sample("evaluation_card_follow_changes_total") > followed, "the change is followed")
    assert pack.card().card.version == 3 and not pack.card().new_version


def test_the_change_feed_is_oldest_first_and_refuses_a_negative_cursor(pack):
    feed = pack.classification.ListClassificationChanges(cpb.ListClassificationChangesRequest(), timeout=10)
    assert [c.licence_number for c in feed.changes] == [LICENCE, OTHER]
    ids = [c.change_id for c in feed.changes]
    assert ids == sorted(ids) and all(c.classification.reason == "create" for c in feed.changes)
    menu = pack.classification.GetServiceMenu(cpb.GetServiceMenuRequest(licence_number=LICENCE), timeout=10)
    assert list(feed.changes[0].items) == list(menu.items)
    assert (feed.changes[0].customer_manager_id, feed.changes[0].team_id) == ("cm-1", "team-1")
    after_first = pack.classification.ListClassificationChanges(
        cpb.ListClassificationChangesRequest(after_change_id=ids[0], page_size=1), timeout=10
    )
    assert [c.change_id for c in after_first.changes] == ids[1:]
    with pytest.raises(grpc.RpcError) as error:
        pack.classification.ListClassificationChanges(
            cpb.ListClassificationChangesRequest(after_change_id=-1, page_size=-1), timeout=10
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error.value)) == {"after_change_id", "page_size"}
