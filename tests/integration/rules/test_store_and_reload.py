"""The versioned store and hot reload, on SQLite and PostgreSQL."""

import os
import threading
import time

import pytest

from services.classification.rules import RULE_SETS
from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.errors import AlreadyExists, NotFound
from services.common.migrations import upgrade_to_head
from services.common.rules import metrics
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.validation import validate
from services.composition import service_definition
from tests.support.databases import migrated_engine
from tests.support.rule_samples import KINDS, default_source

GRADING = "customer-grading"
FACTS = {"monthly_sales_cartons": 120, "business_format": "grocery", "market_type": "urban"}


@pytest.fixture
def engine(db_url):
    with migrated_engine(db_url, "classification") as engine:
        yield engine


@pytest.fixture
def registry(engine):
    registry = RuleSetRegistry(engine, RULE_SETS, poll_seconds=0.1)
    registry.load_defaults()
    registry.start()
    yield registry
    registry.stop()


def _edited(grade_20_threshold: int) -> str:
    """The default grading with one ladder step moved, a real, visible change, and an
    embedded test of the version pinning the moved step."""
    default = default_source(GRADING)
    moved = default.replace(
        'monthly_sales_cartons: ">= 95", set_grade.grade: 20',
        f'monthly_sales_cartons: ">= {grade_20_threshold}", set_grade.grade: 20',
    )
    assert moved != default, "the grade 20 step is no longer where this test moves it"
    return moved.replace(
        "\ntests:\n",
        "\ntests:\n"
        f"  - name: grade 20 from {grade_20_threshold} cartons\n"
        f"    given: {{monthly_sales_cartons: {grade_20_threshold}, business_format: grocery, market_type: urban}}\n"
        "    expect: {grade: 20}\n",
        1,
    )


@pytest.mark.parametrize("threshold", [90, 80])
def test_the_edited_version_is_valid_and_its_own_test_pins_the_change(threshold):
    edited = validate(_edited(threshold), KINDS)
    assert edited.valid, [d.message for d in edited.diagnostics]
    assert edited.tests_passed == len(edited.tests) == len(validate(default_source(GRADING), KINDS).tests) + 1
    unmoved = _edited(threshold).replace(
        f'">= {threshold}", set_grade.grade: 20', '">= 95", set_grade.grade: 20'
    )
    assert not validate(unmoved, KINDS).valid  # the added test fails on the default ladder


def test_defaults_are_version_1_and_publishes_are_new_versions(registry):
    store = registry.store
    first = store.get(GRADING)
    assert (first.version, first.author, first.active) == (1, "system", True)
    assert store.get(GRADING).checksum == first.checksum
    second = store.publish(GRADING, _edited(90), "analyst.li", "lower grade 20 to 90 cartons")
    assert (second.version, second.active, second.author) == (2, True, "analyst.li")
    assert store.get(GRADING, 1).active is False
    with pytest.raises(AlreadyExists, match="version 2"):
        store.publish(GRADING, _edited(90), "analyst.li", "again")
    staged = store.publish(GRADING, _edited(80), "analyst.li", "proposal", activate=False)
    assert staged.version == 3 and not staged.active and store.get(GRADING).version == 2
    record, previous = store.activate(GRADING, 1, "analyst.wang", "roll back")
    assert (record.version, previous) == (1, 2)
    assert [v.version for v in store.versions(GRADING, 0, 10)] == [3, 2, 1]
    assert [(a.action, a.version, a.actor) for a in store.audit(GRADING, 0, 10)] == [
        ("activate", 1, "analyst.wang"),
        ("publish", 3, "analyst.li"),
        ("activate", 2, "analyst.li"),
        ("publish", 2, "analyst.li"),
        ("activate", 1, "system"),
        ("publish", 1, "system"),
    ]
    assert [a.version for a in store.audit(GRADING, 4, 10)] == [1, 1]
    diff = store.diff(GRADING, 1, 2)
    assert '-    - {id: grade_20, priority: 20, monthly_sales_cartons: ">= 95"' in diff
    assert '+    - {id: grade_20, priority: 20, monthly_sales_cartons: ">= 90"' in diff
    with pytest.raises(NotFound):
        store.get(GRADING, 99)


def test_a_second_process_picks_up_a_new_version_within_two_seconds(engine, registry):
    other = RuleSetRegistry(engine, RULE_SETS, poll_seconds=0.1)  # another replica
    other.start()
    try:
        facts = {**FACTS, "monthly_sales_cartons": 92}
        assert other.decide(GRADING, facts).outputs["grade"] == 19
        registry.store.publish(GRADING, _edited(90), "analyst.li", "lower grade 20")
        deadline = time.monotonic() + 2
        while other.serving_version(GRADING) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        decision = other.decide(GRADING, facts)
        assert (decision.version, decision.outputs["grade"]) == (2, 20)
    finally:
        other.stop()


def test_a_version_that_fails_to_load_is_counted_and_the_previous_keeps_serving(registry):
    failures = metrics.RELOADS.labels(GRADING, "failure")
    before = failures._value.get()
    # Stored without validation, as a version written by an older release might be.
    registry.store.publish(
        GRADING, default_source(GRADING).replace("set_star_level:", "set_stars_v0:", 1), "x", "broken"
    )
    registry.refresh()
    assert failures._value.get() == before + 1
    assert registry.serving_version(GRADING) == 1
    assert registry.decide(GRADING, FACTS).version == 1


def test_a_decision_in_flight_finishes_on_its_version(registry):
    old = registry.serving(GRADING)
    old._lock.acquire()  # a decision is running on version 1
    swapped = threading.Thread(target=registry.store.publish, args=(GRADING, _edited(90), "a", "c"))
    swapped.start()
    swapped.join()
    refresher = threading.Thread(target=registry.refresh)
    refresher.start()
    deadline = time.monotonic() + 5
    while registry.serving_version(GRADING) != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert registry.serving_version(GRADING) == 2  # new decisions already use version 2
    assert registry.decide(GRADING, FACTS).version == 2
    assert not old.closed  # version 1 is not released under the running decision
    old._lock.release()
    refresher.join(5)
    assert old.closed


def _resident_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_memory_does_not_grow_across_100_swaps(tmp_path):
    """Engine memory, so SQLite suffices; each swap compiles and releases a version. A
    version left in durable-rules keeps about 390 KiB (39 MiB over 100 swaps); released,
    the process grows about 2 MiB over them."""
    engine = create_database_engine(parse_database_url("test", f"sqlite:///{tmp_path / 'swaps.db'}"))
    upgrade_to_head(service_definition("classification").migrations_dir, engine)
    registry = RuleSetRegistry(engine, RULE_SETS)
    registry.load_defaults()
    registry.start()
    store = registry.store
    store.publish(GRADING, _edited(90), "a", "b")
    versions = (1, 2)

    def swap(count: int) -> None:
        for index in range(count):
            store.activate(GRADING, versions[index % 2], "a", "swap")
            registry.refresh()
            registry.decide(GRADING, FACTS)

    swap(20)  # warm up allocators and caches
    before = _resident_kib()
    swap(100)
    grown_kib = _resident_kib() - before
    registry.stop()
    engine.dispose()
    assert grown_kib < 8 * 1024, f"peak memory grew {grown_kib} KiB over 100 swaps"
