"""Classification metrics: decisions and grants as counters; customers per star level
and per business format as gauges read from the database at scrape time."""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine

from services.classification.rules import SERVICES
from services.classification.storage import CustomerRow

CLASSIFICATIONS = Counter(
    "classifications_total", "Customers classified (create, update, on demand, reclassify)."
)
GRANTED = Counter(
    "entitlements_granted_total", "Services granted by classifications, per service.", ["service"]
)


_granted = {service: GRANTED.labels(service) for service in SERVICES}


def record(outcome) -> None:
    CLASSIFICATIONS.inc()
    for service in outcome.services:
        _granted[service].inc()


class CustomerGauges:
    """A Prometheus collector: active customers per star level and per business format."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self):
        table = CustomerRow.__table__
        by_star = GaugeMetricFamily(
            "customers_by_star_level", "Active customers per star level.", labels=["star_level"]
        )
        by_format = GaugeMetricFamily(
            "customers_by_business_format",
            "Active customers per business format.",
            labels=["business_format"],
        )
        with self.engine.connect() as connection:
            for column, family in ((table.c.star_level, by_star), (table.c.business_format, by_format)):
                rows = connection.execute(
                    sa.select(column, sa.func.count()).where(table.c.active.is_(True)).group_by(column)
                )
                for value, count in rows:
                    family.add_metric([str(value if value is not None else "unclassified")], count)
        yield by_star
        yield by_format
