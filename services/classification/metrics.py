"""Classification metrics: decisions, grants and skipped reclassifications as counters;
customers per star level and per business format as gauges read at scrape time."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from services.classification.domain import SERVICES

CLASSIFICATIONS = Counter(
    "classifications_total", "Customers classified (create, update, on demand, reclassify)."
)
GRANTED = Counter(
    "entitlements_granted_total", "Services granted by classifications, per service.", ["service"]
)
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

_granted = {service: GRANTED.labels(service) for service in SERVICES}


def record(outcome) -> None:
    CLASSIFICATIONS.inc()
    for service in outcome.services:
        _granted[service].inc()


def record_many(outcomes: list) -> None:
    """As record for each, counted first: one increment per counter (a batch of a bulk run)."""
    CLASSIFICATIONS.inc(len(outcomes))
    for service, count in Tally(s for outcome in outcomes for s in outcome.services).items():
        _granted[service].inc(count)


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
