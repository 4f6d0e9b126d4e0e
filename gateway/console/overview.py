"""The managers' and ops' overview: customers by star level per team or market zone, open
complaints (open, due soon, overdue) per team, counted from the services' lists; each
team's period at a glance (the gateway's team overview: visits and omissions, complaints,
the latest results and the spread of its members' scores); and supervision (服务监督):
findings and broken commitments per team and per committed item, return-visit coverage
and satisfaction per market zone."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb
from retailcare.evaluation.v1 import evaluation_pb2 as epb
from retailcare.evaluation.v1 import evaluation_pb2_grpc
from retailcare.gateway.v1 import gateway_pb2 as gpb

from gateway.composed import Composer
from services.classification.client import ClassificationClient
from services.common.clients import DownstreamNotFound
from services.common.times import now
from services.complaints.client import ComplaintsClient
from services.evaluation.client import EvaluationClient

PAGE_SIZE = 500
MAX_PAGES = 40  # an overview counts at most 20,000 of each
DUE_SOON = timedelta(days=2)
OPEN_STATES = (
    kpb.RECEIVED,
    kpb.ACCEPTED,
    kpb.IN_PROGRESS,
    kpb.WAITING_ON_RETAILER,
    kpb.ESCALATED,
    kpb.REOPENED,
)
NO_GROUP = "(none)"
# Bands of members' total scores (0-100) for the distribution chart: (label, lowest score).
SCORE_BANDS = (("below 60", 0.0), ("60-69", 60.0), ("70-79", 70.0), ("80-89", 80.0), ("90 and above", 90.0))
FINDING_STATES = {
    epb.FINDING_OPEN: "open",
    epb.FINDING_HEARD: "heard",
    epb.FINDING_UPHELD: "upheld",
    epb.FINDING_DISMISSED: "dismissed",
}
FINDING_KINDS = {
    epb.FINDING_NOT_DELIVERED: "not delivered",
    epb.FINDING_STANDARD_NOT_MET: "standard not met",
    epb.FINDING_CARD_MISMATCH: "card mismatch",
}
RECENT_FINDINGS = 50
NEAREST_DEADLINES = 20
GRADE_BAND = 5  # grades 1-30 are shown in bands of five: 1-5, 6-10, ...
RECENT_PERIODS = 3  # the period asked for and the two months before it (ids YYYY-MM)
MONTH = re.compile(r"(\d{4})-(\d{2})")


class Pages:
    """The items of a paged list, read page by page up to MAX_PAGES; ``truncated`` says,
    once iterated, that more pages were left unread (the overview then says so)."""

    def __init__(self, fetch, items: str):
        self.fetch, self.items, self.truncated = fetch, items, False

    def __iter__(self) -> Iterator:
        token = ""
        for _ in range(MAX_PAGES):
            page = self.fetch(token)
            yield from getattr(page, self.items)
            token = page.next_page_token
            if not token:
                return
        self.truncated = True

    def counted(self, summary: dict) -> dict:
        """The summary with ``truncated`` and the most items an overview counts."""
        return {**summary, "truncated": self.truncated, "most_counted": MAX_PAGES * PAGE_SIZE}


def grade_band(grade: int) -> str:
    low = (max(grade, 1) - 1) // GRADE_BAND * GRADE_BAND + 1
    return f"{low}-{low + GRADE_BAND - 1}"


def stars_by_group(customers: Iterable[cpb.Customer], by: str, measure: str = "star") -> dict:
    """{"groups": [...], "levels": [...], "counts": {group: {level: n}}} for the chart:
    levels are star levels ("1".."5") or, with measure "grade", bands of grades ("1-5", ...)."""
    counts: Counter[tuple[str, str]] = Counter()
    for customer in customers:
        group = customer.team_id if by == "team" else customer.input.market_zone
        c = customer.classification
        level = str(c.star_level) if measure == "star" else grade_band(c.grade)
        counts[(group or NO_GROUP, level)] += 1
    groups = sorted({group for group, _ in counts})
    levels = sorted({level for _, level in counts}, key=lambda level: int(level.split("-")[0]))
    return {
        "by": by,
        "measure": measure,
        "groups": groups,
        "levels": levels,
        "counts": {group: {level: counts[(group, level)] for level in levels} for group in groups},
    }


def recent_periods(period_id: str) -> list[str]:
    """The period and, for a month id (YYYY-MM), the months before it, oldest first."""
    month = MONTH.fullmatch(period_id)
    if not month:
        return [period_id]
    year, number = int(month.group(1)), int(month.group(2))
    found = []
    for back in range(RECENT_PERIODS - 1, -1, -1):
        index = year * 12 + number - 1 - back
        found.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    return found


def items_by_period(cards_by_period: dict[str, list[epb.VisitCard]]) -> dict:
    """Per committed item and period: visits that delivered it, omissions of it, and the
    omission rate (the share of the period's visit cards that omitted something of it)."""
    rows = []
    items = sorted(
        {item.service for cards in cards_by_period.values() for card in cards for item in card.items}
        | {o.service for cards in cards_by_period.values() for card in cards for o in card.omissions}
    )
    for item in items:
        for period, cards in cards_by_period.items():
            omissions = sum(1 for card in cards for o in card.omissions if o.service == item)
            omitting = sum(1 for card in cards if any(o.service == item for o in card.omissions))
            rows.append(
                {
                    "item": item,
                    "period": period,
                    "cards": len(cards),
                    "visits": sum(1 for card in cards if any(i.service == item for i in card.items)),
                    "omissions": omissions,
                    "omission_rate": round(omitting / len(cards), 4) if cards else 0.0,
                }
            )
    return {"periods": list(cards_by_period), "items": items, "rows": rows}


def complaint_deadlines(complaints: Iterable[kpb.Complaint], moment: datetime) -> dict:
    """Per team: open complaints, those due within two days and those overdue; and the
    open complaints whose deadline is nearest (the overdue first)."""
    complaints = list(complaints)
    rows: dict[str, Counter] = {}
    for complaint in complaints:
        row = rows.setdefault(complaint.team_id or NO_GROUP, Counter())
        row["open"] += 1
        if complaint.overdue:
            row["overdue"] += 1
        elif (
            complaint.HasField("deadline_at")
            and complaint.deadline_at.ToDatetime(moment.tzinfo) - moment <= DUE_SOON
        ):
            row["due_soon"] += 1
    return {
        "due_soon_days": DUE_SOON.days,
        "teams": [
            {"team": team, "open": row["open"], "due_soon": row["due_soon"], "overdue": row["overdue"]}
            for team, row in sorted(rows.items())
        ],
        "nearest": [
            {
                "id": c.id,
                "team": c.team_id,
                "licence_number": c.licence_number,
                "category": c.category,
                "state": kpb.State.Name(c.state).lower(),
                "deadline_at": c.deadline_at.ToJsonString() if c.HasField("deadline_at") else "",
                "overdue": c.overdue,
            }
            for c in sorted(complaints, key=_deadline_order)[:NEAREST_DEADLINES]
        ],
    }


def _deadline_order(complaint: kpb.Complaint) -> tuple:
    """Overdue first, then by deadline; a complaint without one last."""
    has = complaint.HasField("deadline_at")
    return (not complaint.overdue, not has, complaint.deadline_at.seconds, complaint.id)


def score_band(score: float) -> str:
    return next(label for label, lowest in reversed(SCORE_BANDS) if score >= lowest)


def team_row(overview: gpb.GetTeamOverviewResponse) -> dict:
    """One team's period, flattened for the charts and the table."""
    members = [r for r in overview.member_results if r.graded]
    bands = Counter(score_band(r.total_score) for r in members)
    graded = overview.HasField("team_result") and overview.team_result.graded
    return {
        "team": overview.team.id,
        "name": overview.team.name,
        "customers": overview.customers,
        "stars": {str(level.star_level): level.customers for level in overview.customers_by_star_level},
        "visits": overview.visits,
        "visits_with_omissions": overview.visits_with_omissions,
        "omissions": overview.omissions,
        "omission_rate": round(overview.visits_with_omissions / overview.visits, 4)
        if overview.visits
        else 0.0,
        "open_complaints": overview.open_complaints,
        "overdue_complaints": overview.overdue_complaints,
        "score": round(overview.team_result.total_score, 2) if graded else None,
        "grade": overview.team_result.grade if graded else "",
        "members": [
            {"staff": r.subject_id, "score": round(r.total_score, 2), "grade": r.grade} for r in members
        ],
        "score_bands": {label: bands[label] for label, _ in SCORE_BANDS},
        "missing_parts": [f"{m.part} ({m.service})" for m in overview.missing_parts],
    }


def supervision_summary(findings: Iterable[epb.Finding], tasks: Iterable[epb.ReturnVisitTask]) -> dict:
    """Findings per team by state, checked and broken (upheld) per committed item, the
    latest findings; return-visit tasks per zone: answered share, mean satisfaction, overdue."""
    findings = list(findings)
    per_team: dict[str, Counter] = {}
    per_item: dict[str, Counter] = {}
    for finding in findings:
        state = FINDING_STATES.get(finding.state, "unknown")
        per_team.setdefault(finding.team_id or NO_GROUP, Counter())[state] += 1
        item = per_item.setdefault(finding.service or NO_GROUP, Counter())
        item["checked"] += 1
        item["broken"] += finding.state == epb.FINDING_UPHELD
    zones: dict[str, dict] = {}
    for task in tasks:
        zone = zones.setdefault(
            task.zone or NO_GROUP, {"tasks": 0, "answered": 0, "overdue": 0, "answers": []}
        )
        zone["tasks"] += 1
        zone["answered"] += task.closed
        zone["overdue"] += task.overdue
        zone["answers"].extend(task.satisfaction)
    newest = sorted(findings, key=lambda f: (f.found_at.seconds, f.found_at.nanos), reverse=True)
    return {
        "states": list(FINDING_STATES.values()),
        "teams": [
            {"team": team, **{state: counts[state] for state in FINDING_STATES.values()}}
            for team, counts in sorted(per_team.items())
        ],
        "items": [
            {"service": item, "checked": counts["checked"], "broken": counts["broken"]}
            for item, counts in sorted(per_item.items())
        ],
        "zones": [
            {
                "zone": zone,
                "tasks": row["tasks"],
                "answered": row["answered"],
                "coverage": round(row["answered"] / row["tasks"], 4),
                "satisfaction": round(sum(row["answers"]) / len(row["answers"]), 2)
                if row["answers"]
                else None,
                "overdue": row["overdue"],
            }
            for zone, row in sorted(zones.items())
        ],
        "recent": [
            {
                "id": f.id,
                "found_at": f.found_at.ToJsonString() if f.HasField("found_at") else "",
                "team": f.team_id,
                "staff": f.staff_id,
                "licence_number": f.licence_number,
                "service": f.service,
                "kind": FINDING_KINDS.get(f.kind, "unknown"),
                "state": FINDING_STATES.get(f.state, "unknown"),
            }
            for f in newest[:RECENT_FINDINGS]
        ],
        "findings": len(findings),
    }


class Overview:
    def __init__(
        self,
        classification: ClassificationClient,
        complaints: ComplaintsClient,
        evaluation: EvaluationClient,
        composer: Composer,
    ):
        self.classification = classification
        self.complaints = complaints
        self.evaluation = evaluation
        self.composer = composer
        self._evaluation = evaluation_pb2_grpc.EvaluationServiceStub(evaluation.channel)

    def customers(self, by: str, measure: str = "star") -> dict:
        fetch = lambda token: self.classification.list_customers(page_size=PAGE_SIZE, page_token=token)  # noqa: E731
        customers = Pages(fetch, "customers")
        return customers.counted(stars_by_group(customers, by, measure))

    def items(self, period_id: str) -> dict:
        """Visits and omissions per committed item over the period and the ones before it
        that evaluation knows: the visit cards of the members of every team of a zone."""
        staff = set()
        for team_id in self.team_ids():
            try:
                staff.update(m.staff_id for m in self.evaluation.get_team(team_id).members)
            except DownstreamNotFound:
                continue
        cards_by_period = {}
        for period in recent_periods(period_id):
            try:
                self.evaluation.get_period(period)
            except DownstreamNotFound:
                if period == period_id:
                    raise
                continue
            cards_by_period[period] = [
                card
                for staff_id in sorted(staff)
                for card in self.evaluation.list_visit_cards(
                    epb.ListVisitCardsRequest(staff_id=staff_id, period_id=period)
                ).cards
            ]
        return items_by_period(cards_by_period)

    def open_complaints(self) -> dict:
        def fetch(token: str) -> kpb.ListComplaintsResponse:
            request = kpb.ListComplaintsRequest(
                filter=kpb.ComplaintFilter(states=OPEN_STATES), page_size=PAGE_SIZE, page_token=token
            )
            return self.complaints.list_complaints(request)

        complaints = Pages(fetch, "complaints")
        return complaints.counted(complaint_deadlines(complaints, now()))

    def team_ids(self) -> list[str]:
        """The teams that serve a market zone, as classification keeps the zones."""
        fetch = lambda token: self.classification.list_market_zones(page_size=PAGE_SIZE, page_token=token)  # noqa: E731
        return sorted({zone.team_id for zone in Pages(fetch, "zones") if zone.team_id})

    def teams(self, period_id: str) -> dict:
        """Each team's period through the gateway's team overview; a team that evaluation
        does not know is listed as such (NOT_FOUND for the period fails the whole)."""
        period = self.evaluation.get_period(period_id).period
        rows, unknown = [], []
        for team_id in self.team_ids():
            request = gpb.GetTeamOverviewRequest(team_id=team_id, period_id=period_id)
            try:
                rows.append(team_row(self.composer.get_team_overview(request)))
            except DownstreamNotFound:
                unknown.append(team_id)
        return {
            "period": {"id": period.id, "starts_on": period.starts_on, "ends_on": period.ends_on,
                       "state": epb.PeriodState.Name(period.state), "runs": period.runs},
            "bands": [label for label, _ in SCORE_BANDS],
            "teams": rows,
            "unknown_teams": unknown,
        }  # fmt: skip

    def supervision(self, period_id: str) -> dict:
        """Findings of every team that serves a zone (ListFindings asks per team) and, for
        a period, its return-visit tasks."""
        teams = self.team_ids()
        findings = [
            finding
            for team_id in teams
            for finding in self.evaluation.list_findings(epb.ListFindingsRequest(team_id=team_id)).findings
        ]
        tasks: list = []
        if period_id:
            request = epb.ListReturnVisitTasksRequest(period_id=period_id)
            tasks = self.evaluation.call(self._evaluation.ListReturnVisitTasks, request).tasks
        return {"period": period_id, **supervision_summary(findings, tasks)}
