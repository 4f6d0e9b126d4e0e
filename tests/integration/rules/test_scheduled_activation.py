"""Scheduled activation on SQLite and PostgreSQL: a version published for a moment
becomes active on every replica once the clock passes it, recorded exactly once."""

import datetime
import threading
import time

import pytest
from retailcare.rules.v1 import rule_sets_pb2 as pb

from services.classification.rules import RULE_SETS
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.migrations import upgrade_to_head
from services.common.rules import metrics
from services.common.rules.admin import RuleSetAdminServicer
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.store import SCHEDULED_COMMENT
from services.common.times import to_timestamp
from services.composition import service_definition
from tests.support.databases import ONE_DATABASE
from tests.support.rule_samples import default_source

GRADING = "customer-grading"
START = datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC)
DUE = START + datetime.timedelta(hours=2)


@pytest.fixture
def replicas(db_url, clock):
    """Two replicas of one service: each its own engine and registry on one database."""
    clock.set(START)
    engines = [create_database_engine(parse_database_url("test", db_url)) for _ in range(2)]
    upgrade_to_head(service_definition("classification").migrations_dir, engines[0])
    registries = [RuleSetRegistry(engine, RULE_SETS, poll_seconds=0.05) for engine in engines]
    for registry in registries:
        registry.load_defaults()
        registry.start()
    yield registries
    for registry in registries:
        registry.stop()
    for engine in engines:
        engine.dispose()


def _publish(admin: RuleSetAdminServicer, moment: datetime.datetime | None, **fields):
    request = pb.PublishRuleSetRequest(
        source=default_source(GRADING) + "\n# the scheduled edition\n",
        author="analyst",
        comment="new ladder from March",
        activate_at=to_timestamp(moment),
        **fields,
    )
    return admin.PublishRuleSet(request, None).version


def _wait_for(check, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _scheduled_gauge(version: int) -> float | None:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(
        "rules_scheduled_activation_timestamp_seconds", {"rule_set": GRADING, "version": str(version)}
    )


def test_both_replicas_switch_when_the_clock_passes_the_moment_recorded_once(replicas, clock):
    first, second = replicas
    admin = RuleSetAdminServicer(first)
    version = _publish(admin, DUE)
    assert not version.active
    listed = admin.ListScheduledActivations(pb.ListScheduledActivationsRequest(), None).activations
    assert [(a.rule_set, a.version, a.activate_at.ToDatetime(datetime.UTC)) for a in listed] == [
        (GRADING, version.version, DUE)
    ]
    assert _wait_for(lambda: _scheduled_gauge(version.version) == DUE.timestamp())

    clock.set(DUE - datetime.timedelta(seconds=1))
    time.sleep(0.3)  # several polls of both replicas before the moment
    assert [r.serving_version(GRADING) for r in replicas] == [1, 1]

    clock.set(DUE + datetime.timedelta(seconds=1))
    assert _wait_for(lambda: [r.serving_version(GRADING) for r in replicas] == [version.version] * 2)
    time.sleep(0.3)  # both keep polling; neither records it again
    audit = [e for e in first.store.audit(GRADING, 0, 50) if e.comment == SCHEDULED_COMMENT]
    assert [(e.version, e.action, e.actor) for e in audit] == [(version.version, "activate", "analyst")]
    assert second.store.activate_due(DUE + datetime.timedelta(days=1)) == []
    assert first.store.scheduled() == []
    assert _scheduled_gauge(version.version) is None
    assert metrics.ACTIVE_VERSION.labels(GRADING)._value.get() == version.version


def test_a_cancelled_activation_never_happens(replicas, clock):
    first, second = replicas
    admin = RuleSetAdminServicer(second)
    version = _publish(admin, DUE)
    cancelled = admin.CancelScheduledActivation(
        pb.CancelScheduledActivationRequest(rule_set=GRADING, version=version.version, actor="analyst"), None
    ).cancelled
    assert (cancelled.version, cancelled.activate_at.ToDatetime(datetime.UTC)) == (version.version, DUE)
    assert (
        admin.ListScheduledActivations(pb.ListScheduledActivationsRequest(rule_set=GRADING), None).activations
        == []
    )
    clock.set(DUE + datetime.timedelta(minutes=5))
    time.sleep(0.3)
    assert [r.serving_version(GRADING) for r in replicas] == [1, 1]
    assert first.store.active_versions()[GRADING] == 1
    assert [e.action for e in first.store.audit(GRADING, 0, 2)] == ["cancel", "schedule"]


def test_cancelling_after_the_activation_is_refused(replicas, clock):
    first, _ = replicas
    admin = RuleSetAdminServicer(first)
    version = _publish(admin, DUE)
    clock.set(DUE)
    assert _wait_for(lambda: first.serving_version(GRADING) == version.version)
    cancel = pb.CancelScheduledActivationRequest(rule_set=GRADING, version=version.version, actor="analyst")
    with pytest.raises(FailedPrecondition, match="already activated"):
        admin.CancelScheduledActivation(cancel, None)
    with pytest.raises(NotFound):
        admin.CancelScheduledActivation(
            pb.CancelScheduledActivationRequest(rule_set=GRADING, version=1, actor="analyst"), None
        )
    assert first.store.active_versions()[GRADING] == version.version


@pytest.mark.parametrize(
    ("moment", "fields", "why"),
    [
        (START - datetime.timedelta(minutes=2), {}, "in the past"),
        (START + datetime.timedelta(days=367), {}, "366 days ahead"),
        (DUE, {"stage_only": True}, "stage_only"),
    ],
)
@ONE_DATABASE  # refused before anything is stored
def test_a_bad_moment_is_invalid_and_stores_nothing(replicas, moment, fields, why):
    first, _ = replicas
    admin = RuleSetAdminServicer(first)
    with pytest.raises(InvalidArgument) as refused:
        _publish(admin, moment, **fields)
    assert [field for field, _ in refused.value.violations] == ["activate_at"]
    assert why in refused.value.violations[0][1]
    assert first.store.latest_versions()[GRADING] == 1
    assert first.store.scheduled() == []


def test_a_moment_within_the_last_minute_activates_at_once(replicas):
    first, second = replicas
    version = _publish(RuleSetAdminServicer(first), START - datetime.timedelta(seconds=30))
    assert first.serving_version(GRADING) == version.version  # the publish's own refresh
    assert _wait_for(lambda: second.serving_version(GRADING) == version.version)


def test_replicas_claiming_the_same_due_versions_at_once_record_each_once(replicas):
    first, second = replicas
    admin = RuleSetAdminServicer(first)
    versions = set()
    for edition in range(4):
        request = pb.PublishRuleSetRequest(
            source=default_source(GRADING) + f"\n# edition {edition}\n",
            author="analyst",
            activate_at=to_timestamp(DUE + datetime.timedelta(seconds=edition)),
        )
        versions.add(admin.PublishRuleSet(request, None).version.version)
    start = threading.Barrier(2)
    claimed = {}

    def claim(registry):
        start.wait()
        claimed[registry] = [
            r.version for r in registry.store.activate_due(DUE + datetime.timedelta(hours=1))
        ]

    threads = [threading.Thread(target=claim, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    together = claimed[first] + claimed[second]
    assert sorted(together) == sorted(versions)  # each once, by one replica or the other
    audit = [e.version for e in first.store.audit(GRADING, 0, 50) if e.comment == SCHEDULED_COMMENT]
    assert sorted(audit) == sorted(versions)
    assert first.store.active_versions()[GRADING] == max(versions)
