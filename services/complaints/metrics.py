"""Complaint metrics: filed, escalations and resolution time as they happen; open, due
soon and overdue complaints and the working calendar's last year as gauges read from the
database at scrape time."""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine

from services.common.times import now
from services.complaints.domain import OPEN_STATES
from services.complaints.storage import CalendarYearRow, ComplaintRow

FILED = Counter("complaints_filed_total", "Complaints filed, per channel.", ["channel"])
ESCALATIONS = Counter("complaint_escalations_total", "Escalations, per level reached.", ["level"])
RESOLUTION_WORKING_DAYS = Histogram(
    "complaint_resolution_workdays",
    "Working days from receipt to resolution.",
    buckets=(0, 1, 2, 3, 4, 5, 7, 10, 15, 20),
)

POLICY_FOLLOW_JOBS = Counter(
    "complaint_policy_follow_jobs_total",
    "Policy follow jobs (open complaints onto a newly activated version), per outcome.",
    ["outcome"],
)
POLICY_FOLLOWED = Counter(
    "complaint_policy_followed_total",
    "Open complaints that took a newly activated complaint-policy version (deadline recomputed).",
)


class ComplaintGauges:
    """A Prometheus collector over the complaints and calendar tables. Every replica reads
    the same database and reports the same values (the alerts take max(), never sum())."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self):
        table = ComplaintRow.__table__.c
        open_family = GaugeMetricFamily(
            "complaints_open", "Open complaints by category and state.", labels=["category", "state"]
        )
        overdue = GaugeMetricFamily("complaints_overdue", "Open complaints past their deadline.")
        due_soon = GaugeMetricFamily(
            "complaints_due_soon",
            "Open complaints past the warning share of their deadline, not yet overdue.",
        )
        last_year = GaugeMetricFamily(
            "complaints_calendar_last_year",
            "The last year the working calendar has data for (0: none).",
        )
        moment = now()
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.category, table.state, sa.func.count())
                .where(table.state.in_(OPEN_STATES))
                .group_by(table.category, table.state)
            )
            for category, state, count in rows:
                open_family.add_metric([category, state], count)
            overdue.add_metric(
                [],
                connection.execute(
                    sa.select(sa.func.count()).where(
                        table.state.in_(OPEN_STATES), table.overdue_at.is_not(None)
                    )
                ).scalar_one(),
            )
            due_soon.add_metric(
                [],
                connection.execute(
                    sa.select(sa.func.count()).where(
                        table.state.in_(OPEN_STATES), table.overdue_at.is_(None), table.warn_at <= moment
                    )
                ).scalar_one(),
            )
            last_year.add_metric(
                [],
                connection.execute(sa.select(sa.func.max(CalendarYearRow.__table__.c.year))).scalar_one()
                or 0,
            )
        yield open_family
        yield overdue
        yield due_soon
        yield last_year
