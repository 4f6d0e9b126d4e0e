"""Classification metrics: classifications, grants and skipped reclassifications as
counters; customers per star level and per business format as gauges read at scrape time."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.classification.domain import SERVICES
from services.common.per_thread import PerThread


class _ThreadCounts:
    """One thread's counts: only that thread adds to them."""

    __slots__ = ("classified", "granted")

    def __init__(self):
        self.classified = 0
        self.granted: dict[str, int] = {}


class Classified:
    """``classifications_total`` and ``entitlements_granted_total{service}``. Every
    classification counts itself and each service it grants, so each thread adds to counts
    of its own (a few additions, no lock) and a scrape sums them."""

    def __init__(self):
        self._counts = PerThread(_ThreadCounts)

    def add(self, customers: int, services: Iterable[str]) -> None:
        counts = self._counts.mine()
        counts.classified += customers
        granted = counts.granted
        for service in services:
            granted[service] = granted.get(service, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        every = self._counts.every()
        granted = Tally(dict.fromkeys(SERVICES, 0))  # every service from the start, at 0
        for counts in every:
            granted.update(dict(counts.granted))  # a copy: its thread may add meanwhile
        yield CounterMetricFamily(
            "classifications",
            "Customers classified (create, update, on demand, reclassify).",
            value=sum(counts.classified for counts in every),
        )
        family = CounterMetricFamily(
            "entitlements_granted", "Services granted by classifications, per service.", labels=["service"]
        )
        for service, count in granted.items():
            family.add_metric([service], count)
        yield family


CLASSIFIED = Classified()
REGISTRY.register(CLASSIFIED)

SKIPPED = Counter(
    "reclassification_skipped_total",
    "Customers a reclassification left alone because another call changed them after they were read.",
)

JOBS = Counter(
    "reclassification_jobs_total",
    "Automatic reclassification jobs that ended, per rule set and outcome (completed, cancelled, failed).",
    ["rule_set", "outcome"],
)
for _rule_set in ("customer-grading", "service-entitlements"):
    for _outcome in ("completed", "cancelled", "failed"):
        JOBS.labels(_rule_set, _outcome)


def record(outcome) -> None:
    CLASSIFIED.add(1, outcome.services)


def record_many(outcomes: list) -> None:
    """As record for each (a batch of a bulk run)."""
    CLASSIFIED.add(len(outcomes), (s for outcome in outcomes for s in outcome.services))


class CustomerGauges:
    """A Prometheus collector: active customers per star level and per business format,
    counted by ``counts`` (column -> {value: customers}) at every scrape."""

    def __init__(self, counts: Callable[[], Mapping[str, Mapping[object, int]]]):
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.counts()
        for column, help_text in (
            ("star_level", "Active customers per star level."),
            ("business_format", "Active customers per business format."),
        ):
            family = GaugeMetricFamily(f"customers_by_{column}", help_text, labels=[column])
            for value, count in counts[column].items():
                family.add_metric([str(value if value is not None else "unclassified")], count)
            yield family
