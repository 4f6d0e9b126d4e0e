"""The card follower across evaluation replicas, each its own process on one database
(SQLite and PostgreSQL), classification a real server in this process: with two replicas
running, a published rule change makes exactly one new card version per customer; with
every replica stopped, changes wait in classification's feed, and a replica started later
continues from the cursor: each change handled once, no version issued twice."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.database import create_database_engine
from services.common.server import RunningService
from services.common.times import now
from services.composition import service_definition
from services.evaluation.card_follow_store import FollowJobStore
from tests.e2e.gateway.conftest import customer
from tests.e2e.supervision.test_card_follower import _publish_three_visits
from tests.support.replicas import replica_starter
from tests.support.services import channel_to, settings_for

LICENCES = [f"11010110{index:04d}" for index in range(6)]
WAIT = 120  # seconds: conditions are polled, never slept on


@pytest.fixture
def classification(tmp_path):
    settings = settings_for(tmp_path / "classification", rules_poll_seconds=0.2)
    service = RunningService(service_definition("classification"), settings).start()
    try:
        with channel_to(service) as channel:
            stub = classification_pb2_grpc.ClassificationServiceStub(channel)
            stub.rules = rule_sets_pb2_grpc.RuleSetAdminStub(channel)
            stub.target = f"127.0.0.1:{settings.grpc_port('classification')}"
            yield stub
    finally:
        service.stop()


@pytest.fixture
def replicas(tmp_path, db_url, classification):
    with replica_starter(
        tmp_path,
        db_url,
        "evaluation",
        evaluation_pb2_grpc.EvaluationServiceStub,
        classification_target=classification.target,
        card_follow_seconds="0.2",
        rules_poll_seconds="0.2",
        downstream_timeout_seconds="5",
    ) as start:
        yield start


@pytest.fixture
def engine(db_url):
    engine = create_database_engine(sa.engine.make_url(db_url))
    yield engine
    engine.dispose()


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {WAIT}s: {what}")


def _held_today(replica, licence: str) -> epb.CommitmentCard:
    request = epb.GetCommitmentCardRequest(licence_number=licence, on_date=now().date().isoformat())
    return replica.stub.GetCommitmentCard(request, timeout=30).card


def _versions(engine) -> dict[str, list[int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT licence_number, version FROM commitment_cards ORDER BY licence_number, version")
        ).all()
    versions: dict[str, list[int]] = {}
    for licence, version in rows:
        versions.setdefault(licence, []).append(version)
    return versions


def _feed(classification) -> list[cpb.ClassificationChange]:
    request = cpb.ListClassificationChangesRequest(page_size=500)
    return list(classification.ListClassificationChanges(request, timeout=10).changes)


def _visits(card) -> int:
    items = {i.service: json.loads(i.parameters_json) for i in card.items}
    return items["customer_manager_visit"]["visits_per_month"]


def test_replicas_follow_each_change_once_and_a_later_one_continues_from_the_cursor(
    classification, replicas, engine
):
    zone = cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")
    classification.UpsertMarketZone(cpb.UpsertMarketZoneRequest(zone=zone), timeout=10)
    for licence in LICENCES:
        request = cpb.CreateCustomerRequest(customer=customer(licence, customer_manager_id="cm-1"))
        classification.CreateCustomer(request, timeout=10)
    first, second = replicas("first"), replicas("second")
    for index, licence in enumerate(LICENCES):  # the cards are printed through either replica
        replica = (first, second)[index % 2]
        reply = replica.stub.GetCommitmentCard(
            epb.GetCommitmentCardRequest(licence_number=licence), timeout=30
        )
        assert reply.new_version and reply.card.version == 1

    _publish_three_visits(classification)
    _wait_for(
        lambda: all(
            (card := _held_today(second, licence)).version == 2 and _visits(card) == 3 for licence in LICENCES
        ),
        "every customer holds version 2 with three visits",
    )
    assert _versions(engine) == {licence: [1, 2] for licence in LICENCES}

    # Every replica stops; the customers get another manager meanwhile.
    first.stop()
    second.stop()
    for licence in LICENCES:
        update = cpb.UpdateCustomerRequest(customer=customer(licence, customer_manager_id="cm-2"))
        update.update_mask.paths.append("customer_manager_id")
        classification.UpdateCustomer(update, timeout=10)
    changes = _feed(classification)
    updated_at = {c.licence_number: c.classification.classified_at for c in changes}  # the last of each

    third = replicas("third")
    cards = _wait_for(
        lambda: (
            (held := [_held_today(third, licence) for licence in LICENCES])
            and all(card.version == 3 for card in held)
            and held
        ),
        "a replica started later issues version 3 for the new manager",
    )
    assert {(card.responsible_person, _visits(card)) for card in cards} == {("cm-2", 3)}
    assert all(card.issued_at == updated_at[card.licence_number] for card in cards)  # dated at the update
    assert _versions(engine) == {licence: [1, 2, 3] for licence in LICENCES}

    # One job; every change of the feed handled exactly once; 12 versions issued by it.
    job = _wait_for(
        lambda: (
            (job := FollowJobStore(engine).latest_of())
            and job.last_change_id == changes[-1].change_id
            and job
        ),
        "the cursor reaches the last change",
    )
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM card_follow_jobs")).scalar() == 1
    assert (job.changes, job.issued) == (len(changes), 2 * len(LICENCES))
