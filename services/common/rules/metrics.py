"""Rule metrics, labelled by rule set (and rule id, version): bounded, analyst-named values."""

import threading
import weakref
from collections import Counter as Counts

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

OUTCOMES = ("decided", "invalid_facts", "error")
SECONDS_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1)


class Tally:
    """One thread's counts for one compiled rule set. Only that thread writes them, so a
    decision counts itself with a few additions and no lock; a scrape reads them as they are."""

    __slots__ = ("outcomes", "buckets", "seconds", "fired")

    def __init__(self):
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.buckets = [0] * (len(SECONDS_BUCKETS) + 1)  # the last: above every bound
        self.seconds = 0.0
        self.fired: dict[tuple[str, ...], int] = {}  # by combination: one count per decision


class DecisionCounts:
    """``rules_decisions_total{rule_set,version,outcome}``, ``rules_decision_seconds{rule_set}``
    and ``rules_fired_total{rule_set,rule}``, summed at scrape time from the compiled rule
    sets' tallies; a released version's counts are kept, so the counters only rise."""

    def __init__(self):
        self._live: weakref.WeakSet = weakref.WeakSet()
        self._decisions: Counts = Counts()  # (rule_set, version, outcome) of released versions
        self._buckets: dict[str, list[int]] = {}
        self._seconds: Counts = Counts()
        self._fired: Counts = Counts()
        self._lock = threading.Lock()

    def track(self, compiled) -> None:
        with self._lock:
            self._live.add(compiled)

    def retire(self, compiled) -> None:
        with self._lock:
            self._live.discard(compiled)
            self._add(compiled, self._decisions, self._buckets, self._seconds, self._fired)

    @staticmethod
    def _add(compiled, decisions, buckets, seconds, fired) -> None:
        name, version = compiled.name, str(compiled.version)
        counted = buckets.setdefault(name, [0] * (len(SECONDS_BUCKETS) + 1))
        for tally in compiled.tallies():
            for outcome, count in tally.outcomes.items():
                decisions[(name, version, outcome)] += count
            for index, count in enumerate(list(tally.buckets)):
                counted[index] += count
            seconds[name] += tally.seconds
            for combination, count in dict(tally.fired).items():  # dict() copies in one step
                for rule in combination:
                    fired[(name, rule)] += count

    def collect(self):
        with self._lock:
            decisions, seconds, fired = Counts(self._decisions), Counts(self._seconds), Counts(self._fired)
            buckets = {name: list(counts) for name, counts in self._buckets.items()}
            live = list(self._live)
        for compiled in live:
            self._add(compiled, decisions, buckets, seconds, fired)
        family = CounterMetricFamily(
            "rules_decisions",
            "Decisions made, by rule set, version and outcome.",
            labels=["rule_set", "version", "outcome"],
        )
        for labels, count in sorted(decisions.items()):
            family.add_metric(list(labels), count)
        yield family
        family = HistogramMetricFamily(
            "rules_decision_seconds", "Time to decide one set of facts.", labels=["rule_set"]
        )
        for name, counts in sorted(buckets.items()):
            cumulative, total = [], 0
            for bound, count in zip((*SECONDS_BUCKETS, float("inf")), counts, strict=True):
                total += count
                cumulative.append((floatToGoString(bound), total))
            family.add_metric([name], cumulative, seconds[name])
        yield family
        family = CounterMetricFamily(
            "rules_fired", "Rules whose actions were applied.", labels=["rule_set", "rule"]
        )
        for (rule_set, rule), count in sorted(fired.items()):
            family.add_metric([rule_set, rule], count)
        yield family


DECISION_COUNTS = DecisionCounts()
REGISTRY.register(DECISION_COUNTS)
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
