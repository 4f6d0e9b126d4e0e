"""The managers' and ops' overview: customers by star level per team or market zone, and
open complaints (open, due soon, overdue) per team, counted from the services' lists."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from retailcare.classification.v1 import classification_pb2 as cpb
from retailcare.complaints.v1 import complaints_pb2 as kpb

from services.classification.client import ClassificationClient
from services.common.times import now
from services.complaints.client import ComplaintsClient

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


def _pages(fetch, items: str) -> Iterator:
    token = ""
    for _ in range(MAX_PAGES):
        page = fetch(token)
        yield from getattr(page, items)
        token = page.next_page_token
        if not token:
            return


def stars_by_group(customers: Iterable[cpb.Customer], by: str) -> dict:
    """{"groups": [...], "levels": [...], "counts": {group: {level: n}}} for the chart."""
    counts: Counter[tuple[str, int]] = Counter()
    for customer in customers:
        group = customer.team_id if by == "team" else customer.input.market_zone
        counts[(group or NO_GROUP, customer.classification.star_level)] += 1
    groups = sorted({group for group, _ in counts})
    levels = sorted({level for _, level in counts})
    return {
        "by": by,
        "groups": groups,
        "levels": levels,
        "counts": {group: {str(level): counts[(group, level)] for level in levels} for group in groups},
    }


def complaint_deadlines(complaints: Iterable[kpb.Complaint], moment: datetime) -> dict:
    """Per team: open complaints, those due within two days and those overdue."""
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
    }


class Overview:
    def __init__(self, classification: ClassificationClient, complaints: ComplaintsClient):
        self.classification = classification
        self.complaints = complaints

    def customers(self, by: str) -> dict:
        fetch = lambda token: self.classification.list_customers(page_size=PAGE_SIZE, page_token=token)  # noqa: E731
        return stars_by_group(_pages(fetch, "customers"), by)

    def open_complaints(self) -> dict:
        def fetch(token: str) -> kpb.ListComplaintsResponse:
            request = kpb.ListComplaintsRequest(
                filter=kpb.ComplaintFilter(states=OPEN_STATES), page_size=PAGE_SIZE, page_token=token
            )
            return self.complaints.list_complaints(request)

        return complaint_deadlines(_pages(fetch, "complaints"), now())
