"""A version stored before a fact took its current name still loads (a database from an
earlier release keeps starting), and a start with no loadable version is one clear line."""

import re

import pytest

from services.classification.rules import RULE_SETS
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.store import RuleSetStore
from services.common.rules.validation import validate
from services.common.server import StartupError
from tests.support.databases import migrated_engine
from tests.support.rule_samples import KINDS, default_source

ENTITLEMENTS = "service-entitlements"


@pytest.fixture
def engine(db_url):
    with migrated_engine(db_url, "classification") as engine:
        yield engine


def _as_stored_by_an_earlier_release() -> str:
    """The shipped entitlements as releases before the rename stored them."""
    old = re.sub(r"\bzone_type\b", "market_zone", default_source(ENTITLEMENTS))
    assert not validate(old, KINDS).valid, "the old name should be refused when publishing"
    return old


def _store(engine, sources: dict[str, str]) -> None:
    store = RuleSetStore(engine)
    for name, source in sources.items():
        store.publish(name, source, "earlier-release", "stored before the rename")


def test_a_version_stored_with_the_old_fact_name_loads_under_the_new_one(engine):
    _store(
        engine,
        {
            "customer-grading": default_source("customer-grading"),
            ENTITLEMENTS: _as_stored_by_an_earlier_release(),
        },
    )
    registry = RuleSetRegistry(engine, RULE_SETS, poll_seconds=0.1)
    registry.load_defaults()  # finds both rule sets stored: publishes nothing
    registry.start()
    try:
        assert registry.serving_version(ENTITLEMENTS) == 1
        facts = {
            "star_level": 5,
            "business_format": "grocery",
            "market_type": "urban",
            "zone_type": "city_centre",
        }
        assert registry.decide(ENTITLEMENTS, facts).outputs["services"]
        # The stored text stays as it was stored: versions are immutable.
        assert "market_zone" in RuleSetStore(engine).get(ENTITLEMENTS, 1).source
    finally:
        registry.stop()


def test_no_loadable_version_stops_start_up_with_one_line(engine):
    broken = default_source(ENTITLEMENTS).replace("zone_type", "zone_kind")
    _store(engine, {"customer-grading": default_source("customer-grading"), ENTITLEMENTS: broken})
    registry = RuleSetRegistry(engine, RULE_SETS, poll_seconds=0.1)
    with pytest.raises(StartupError, match="no loadable active version of service-entitlements"):
        registry.start()
    registry.stop()
