"""Evaluation metrics: runs, cards, omissions and ratings as they happen; open and
overdue improvement plans and unpublished ended periods as gauges read from the database
at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from services.common.times import now

PERIOD_RUNS = Counter("evaluation_period_runs_total", "Period evaluation runs, by outcome.", ["outcome"])
PERIOD_RUN_SECONDS = Histogram(
    "evaluation_period_run_seconds",
    "Duration of successful period runs.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
VISIT_CARDS = Counter(
    "evaluation_visit_cards_total", "Visit record cards recorded, by whether checked.", ["checked"]
)
OMISSIONS = Counter(
    "evaluation_omissions_total", "Omissions found on visit cards, per service item.", ["service"]
)
RATINGS = Counter("evaluation_ratings_total", "Ratings recorded or corrected, per mode.", ["mode"])
FINDINGS = Counter(
    "evaluation_findings_total",
    "Inspection findings recorded: committed items checked and found wanting, per item and kind.",
    ["service", "kind"],
)
COMMITMENTS_BROKEN = Counter(
    "evaluation_commitments_broken_total",
    "Findings upheld (broken commitments), per service item.",
    ["service"],
)
BREACHES = Counter(
    "evaluation_breaches_total", "Findings upheld (broken commitments), per responsible team.", ["team"]
)
RETURN_VISITS_PLANNED = Counter(
    "evaluation_return_visits_planned_total", "Return-visit tasks planned, per market zone.", ["zone"]
)
RETURN_VISITS_ANSWERED = Counter(
    "evaluation_return_visits_answered_total", "Return-visit tasks answered, per market zone.", ["zone"]
)
RETURN_VISIT_SATISFACTION = Histogram(
    "evaluation_return_visit_satisfaction",
    "Return-visit satisfaction answers (1-5), per market zone.",
    ["zone"],
    buckets=(1, 2, 3, 4, 5),
)
RETURN_VISIT_UNDELIVERED = Counter(
    "evaluation_return_visit_undelivered_total",
    "Committed items a customer said in a return visit were not delivered, per service item.",
    ["service"],
)
RETURN_VISIT_DISCREPANCIES = Counter(
    "evaluation_return_visit_discrepancies_total",
    "Return-visit answers at odds with the visit cards, per service item and kind.",
    ["service", "kind"],
)
BREACH_PLANS = Counter(
    "evaluation_breach_plans_opened_total",
    "Improvement plans opened by an upheld finding (a broken commitment).",
)
COMMITMENT_CARDS = Counter(
    "evaluation_commitment_cards_issued_total", "Commitment card versions issued (a changed menu)."
)
CARDS_FOLLOWED = Counter(
    "evaluation_card_follow_issued_total",
    "Commitment card versions the card follower issued for a change of entitlements.",
)
CHANGES_FOLLOWED = Counter(
    "evaluation_card_follow_changes_total", "Classification changes the card follower handled."
)
FOLLOW_FAILURES = Counter(
    "evaluation_card_follow_failures_total",
    "Card follower steps that stored nothing, by reason (unreachable, conflict, lease_lost, error).",
    ["reason"],
)
for _reason in ("unreachable", "conflict", "lease_lost", "error"):
    FOLLOW_FAILURES.labels(_reason)  # exported as 0 from the start
FOLLOW_LAG = Gauge(
    "evaluation_card_follow_lag_seconds",
    "Age of the oldest classification change the card follower has read and not yet handled "
    "(0 when it has handled every change it saw, and on a replica without the follower's lease).",
)


class PlanGauges:
    """Open (not closed) and overdue improvement plans."""

    def __init__(self, unit_of_work):
        self.unit_of_work = unit_of_work

    def collect(self):
        open_family = GaugeMetricFamily(
            "evaluation_plans_open", "Improvement plans not closed, per state.", labels=["state"]
        )
        overdue = GaugeMetricFamily(
            "evaluation_plans_overdue", "Improvement plans past their due date, not closed."
        )
        today = now().date()
        with self.unit_of_work() as uow:
            plans = uow.plans.find(not_closed=True)
        counts: dict[str, int] = {}
        for plan in plans:
            counts[plan.state] = counts.get(plan.state, 0) + 1
        for state, count in sorted(counts.items()):
            open_family.add_metric([state], count)
        overdue.add_metric([], sum(1 for plan in plans if plan.overdue(today)))
        yield open_family
        yield overdue


class PeriodGauges:
    """Evaluation periods whose last day is over and that are not published yet. Every
    replica reads the same database and reports the same value."""

    def __init__(self, unit_of_work):
        self.unit_of_work = unit_of_work

    def collect(self):
        unpublished = GaugeMetricFamily(
            "evaluation_periods_unpublished_past_end",
            "Evaluation periods whose end date has passed and that are not published.",
        )
        with self.unit_of_work() as uow:
            unpublished.add_metric([], uow.periods.unpublished_ended_before(now().date()))
        yield unpublished
