"""Rule metrics, labelled by rule set (and rule id, version): bounded, analyst-named values."""

import threading
import weakref
from collections import Counter as Tally

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

DECISIONS = Counter(
    "rules_decisions_total",
    "Decisions made, by rule set, version and outcome.",
    ["rule_set", "version", "outcome"],
)
DECISION_SECONDS = Histogram(
    "rules_decision_seconds",
    "Time to decide one set of facts.",
    ["rule_set"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1),
)


class FiredCounts:
    """``rules_fired_total{rule_set,rule}``, summed at scrape time from the compiled rule
    sets' own tallies; a released version's tallies are kept, so the counter only rises."""

    def __init__(self):
        self._live: weakref.WeakSet = weakref.WeakSet()
        self._retired: Tally = Tally()
        self._lock = threading.Lock()

    def track(self, compiled) -> None:
        with self._lock:
            self._live.add(compiled)

    def retire(self, compiled) -> None:
        with self._lock:
            self._live.discard(compiled)
            for rule, count in compiled.fired_totals().items():
                self._retired[(compiled.name, rule)] += count

    def collect(self):
        family = CounterMetricFamily(
            "rules_fired", "Rules whose actions were applied.", labels=["rule_set", "rule"]
        )
        with self._lock:
            totals = Tally(self._retired)
            live = list(self._live)
        for compiled in live:
            for rule, count in compiled.fired_totals().items():
                totals[(compiled.name, rule)] += count
        for (rule_set, rule), count in sorted(totals.items()):
            family.add_metric([rule_set, rule], count)
        yield family


FIRED_COUNTS = FiredCounts()
REGISTRY.register(FIRED_COUNTS)
ACTIVE_VERSION = Gauge("rules_active_version", "Version each rule set is deciding with.", ["rule_set"])
SCHEDULED_ACTIVATION = Gauge(
    "rules_scheduled_activation_timestamp_seconds",
    "When a version published for later becomes active (Unix time); present while it waits.",
    ["rule_set", "version"],
)
RELOADS = Counter(
    "rules_reloads_total", "Loads of a newly activated version, by result.", ["rule_set", "result"]
)
SHADOW_CHECKS = Counter(
    "rules_shadow_checks_total",
    "Served decisions checked again through durable-rules (the sampled share).",
    ["rule_set"],
)
SHADOW_MISMATCHES = Counter(
    "rules_shadow_mismatches_total",
    "Shadow-checked decisions where the served function and durable-rules differed; should stay 0.",
    ["rule_set"],
)
