"""Decision metrics counted in each thread's own tally and summed at scrape time: every
thread's decisions count, times land in their buckets, and a released version's counts
stay (the counters only rise)."""

import threading
from types import SimpleNamespace

from prometheus_client import REGISTRY

from services.common.rules import engine
from services.common.rules.validation import validate
from tests.support.rule_samples import KINDS, minimal

RULES = (
    "  - {id: base, priority: 1, then: [{set_grade: {grade: 1}}]}\n"
    "  - id: big\n"
    "    priority: 5\n"
    "    when: {monthly_sales_cartons: {at_least: 100}}\n"
    "    then: [{set_grade: {grade: 5}}]\n"
)
FACTS = {"monthly_sales_cartons": 120, "business_format": "grocery", "market_type": "urban"}


def _compiled(version: int):
    result = validate(minimal(RULES, "collect"), KINDS, version)
    assert result.valid, [str(d) for d in result.diagnostics]
    return result.compiled


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, {"rule_set": "customer-grading", **labels}) or 0.0


def test_decisions_from_several_threads_all_count_and_stay_after_release():
    compiled = _compiled(971)
    decided = {"outcome": "decided", "version": "971"}
    before_decided = _sample("rules_decisions_total", **decided)  # the tests may run twice in one process
    before_fired = _sample("rules_fired_total", rule="big")
    before_count = _sample("rules_decision_seconds_count")

    def serve_many():
        for _ in range(250):
            compiled.serve(FACTS)

    threads = [threading.Thread(target=serve_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compiled.decide(FACTS)
    assert len(compiled.tallies()) == 5  # the four threads' and this one's
    assert _sample("rules_decisions_total", **decided) == before_decided + 1001 + len(compiled.document.tests)
    assert _sample("rules_fired_total", rule="big") == before_fired + 1001
    assert _sample("rules_decision_seconds_count") == before_count + 1001
    compiled.close()
    assert _sample("rules_decisions_total", **decided) == before_decided + 1001 + len(compiled.document.tests)
    assert _sample("rules_fired_total", rule="big") == before_fired + 1001


def test_a_decision_time_lands_in_the_first_bucket_that_holds_it(monkeypatch):
    compiled = _compiled(972)
    try:
        below, within = (
            _sample("rules_decision_seconds_bucket", le="0.00025"),
            _sample("rules_decision_seconds_bucket", le="0.0005"),
        )
        total = _sample("rules_decision_seconds_sum")
        clock = iter([0.0, 0.0003, 0.0, 0.0005])
        monkeypatch.setattr(engine, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
        compiled.serve(FACTS)
        compiled.serve(FACTS)  # exactly on the bound: counted in it, as Prometheus does
        assert _sample("rules_decision_seconds_bucket", le="0.00025") == below
        assert _sample("rules_decision_seconds_bucket", le="0.0005") == within + 2
        assert abs(_sample("rules_decision_seconds_sum") - total - 0.0008) < 1e-9
    finally:
        compiled.close()
