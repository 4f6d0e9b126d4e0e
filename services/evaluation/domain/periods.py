"""Evaluation periods: open while results may be re-run, frozen once published; which
kpi-scoring version their results were decided on."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from services.evaluation.domain.errors import Invalid, Refused, require
from services.evaluation.domain.people import check_id

KINDS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}  # kind -> months
OPEN, PUBLISHED = "open", "published"


@dataclass(frozen=True)
class Period:
    id: str
    kind: str
    starts_on: datetime.date
    ends_on: datetime.date
    state: str = OPEN
    runs: int = 0
    last_run_at: datetime.datetime | None = None
    published_at: datetime.datetime | None = None
    published_by: str = ""

    def validate(self) -> Period:
        problems = check_id("period.id", self.id)
        if self.kind not in KINDS:
            problems.append(("period.kind", f"must be one of {', '.join(KINDS)}"))
        if self.ends_on < self.starts_on:
            problems.append(("period.ends_on", "must not be before starts_on"))
        elif (self.ends_on - self.starts_on).days > 366:
            problems.append(("period.ends_on", "a period is at most a year"))
        require(problems)
        return self

    @property
    def months(self) -> int:
        return KINDS[self.kind]

    @property
    def published(self) -> bool:
        return self.state == PUBLISHED

    def contains(self, moment: datetime.datetime) -> bool:
        return self.starts_on <= moment.date() <= self.ends_on

    def window(self) -> tuple[datetime.datetime, datetime.datetime]:
        """[from, to) in UTC."""
        start = datetime.datetime.combine(self.starts_on, datetime.time(), datetime.UTC)
        end = datetime.datetime.combine(
            self.ends_on + datetime.timedelta(days=1), datetime.time(), datetime.UTC
        )
        return start, end

    def ensure_open(self, what: str) -> None:
        if self.published:
            raise Refused(f"period {self.id} is published; {what} is no longer possible", self.id)

    def ran(self, at: datetime.datetime) -> Period:
        self.ensure_open("a re-run")
        return replace(self, runs=self.runs + 1, last_run_at=at)

    def publish(self, by: str, at: datetime.datetime) -> Period:
        if not by:
            raise Invalid([("published_by", "is required")])
        self.ensure_open("publishing again")
        if self.runs == 0:
            raise Refused(f"period {self.id} has no results yet; run it before publishing", self.id)
        return replace(self, state=PUBLISHED, published_at=at, published_by=by)


@dataclass(frozen=True)
class ScoredOn:
    """The kpi-scoring versions a period's stored results (its last run) were decided on,
    against the version active now (0 while none is loaded)."""

    versions: tuple[int, ...]  # every version among the results; empty before the first run
    active_version: int
    published: bool

    @property
    def version(self) -> int:
        """The results' version (the oldest, should a run ever have mixed two); 0: no results."""
        return min(self.versions) if self.versions else 0

    @property
    def newer_version_active(self) -> bool:
        """An open period whose results were decided on another version than the active one
        (newer by number, or one a rollback activated): the next run scores differently.
        A published period's results are final, and a period without results has nothing
        to be stale."""
        return (
            not self.published
            and bool(self.versions)
            and self.active_version > 0
            and any(version != self.active_version for version in self.versions)
        )
