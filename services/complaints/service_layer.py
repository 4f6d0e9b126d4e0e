"""Use cases of the complaints service: load, let the domain decide, save, commit; one
transaction each. They return domain objects (services/complaints/domain.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.common import paging
from services.common.clients import DownstreamError
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.times import now
from services.complaints import calendar as calendars
from services.complaints import domain
from services.complaints import metrics as complaint_metrics
from services.complaints.calendar import CalendarBook, CalendarChange, CalendarYear, WorkingCalendar
from services.complaints.domain import Complaint, Event, Figures, Intake, PolicySnapshot
from services.complaints.ports import (
    CalendarSource,
    ComplaintFilter,
    Conflict,
    Customers,
    DuplicateKey,
    PolicyDecider,
    UnitOfWork,
)
from services.complaints.rules import COMPLAINT_POLICY

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DEFAULT_CHANGES_PAGE_SIZE = 100
SWEEP_BATCH = 2000
FLAGGED_BATCH = 200
log = logging.getLogger("retailcare.complaints")


@dataclass(frozen=True)
class DayChange:
    """One day an administrator changes: YYYY-MM-DD, working or not, and why."""

    date: str
    working: bool
    reason: str


@dataclass(frozen=True)
class PolicyStanding:
    """A complaint's deadline against the complaint-policy version active now (as loaded
    by this process): ``pending_version`` is that version when it says open complaints
    like this one follow it and its job has not reached the complaint yet (the deadline
    will move); 0 when the deadline stands."""

    active_version: int
    pending_version: int = 0


@dataclass(frozen=True)
class FollowBatch:
    """One batch of a policy follow job: complaints looked at, those that took the version
    (``moved`` of them got another deadline), those the policy could not decide."""

    done: int = 0
    followed: int = 0
    moved: int = 0
    failed: int = 0
    last_id: str = ""
    stale: bool = False  # this process no longer decides with the job's version: nothing was saved


@dataclass(frozen=True)
class CalendarView:
    """A year as the calendar counts it, with the administrator's changes of its days."""

    year: int
    data: CalendarYear | None  # None: no data, Monday to Friday is assumed
    changes: list[CalendarChange]


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """The domain's refusals as the statuses callers get."""
    try:
        yield
    except (domain.Refused, calendars.CalendarRefused) as refused:
        raise FailedPrecondition(str(refused), refused.subject) from None
    except calendars.UnknownChange as unknown:
        raise NotFound("calendar change", str(unknown.change_id)) from None


def _notify(events: list[Event], complaint: Complaint) -> None:
    """Metrics of what happened, once it is committed."""
    for event in events:
        if event.action.startswith("escalate_to_"):
            complaint_metrics.ESCALATIONS.labels(event.action.removeprefix("escalate_to_")).inc()
        elif event.to_state == domain.RESOLVED and complaint.resolution_working_days is not None:
            complaint_metrics.RESOLUTION_WORKING_DAYS.observe(complaint.resolution_working_days)


class Complaints:
    def __init__(
        self,
        uow: Callable[..., UnitOfWork],
        registry: PolicyDecider,
        directory: Customers,
        calendar_source: CalendarSource,
    ):
        """``uow()`` opens a unit of work, ``uow(read_only=True)`` one that only reads."""
        self.uow = uow
        self.registry = registry
        self.directory = directory
        self.calendar_source = calendar_source
        self.calendar = WorkingCalendar([])
        self._calendar_lock = threading.Lock()

    # -- the calendar ---------------------------------------------------------------------
    def load_calendar(self) -> None:
        """Seeds the years the data source knows that are not stored yet (all of them at
        the first start; a year a newer library release brought later), recomputing the
        open deadlines that ran into such a year, then reads every year stored. Replicas
        starting together may seed at once: the one that loses reads what the other stored."""
        try:
            self._seed_calendar()
        except Conflict:
            self._seed_calendar()

    def _seed_calendar(self) -> None:
        moment = now()
        with self.uow() as uow:
            book = uow.calendar.book()
            added = [year for year in self.calendar_source.years() if year.year not in book.years]
            for year in added:
                uow.calendar.add_year(year, domain.SYSTEM, moment)
                book.years[year.year] = year
            for year in added:
                self._recompute(
                    uow, book.working_calendar(), year.year, moment, f"calendar year {year.year} added"
                )
            uow.commit()
        self._use(book)

    def reload_calendar(self) -> None:
        with self.uow(read_only=True) as uow:
            book = uow.calendar.book()
        self._use(book)

    def _use(self, book: CalendarBook) -> None:
        with self._calendar_lock:
            self.calendar = book.working_calendar()

    def calendar_year(self, year: int) -> CalendarView:
        _check_year(year)
        with self.uow(read_only=True) as uow:
            book = uow.calendar.book()
        return CalendarView(year, book.effective(year), book.changes_of(year))

    def calendar_changes(
        self, year: int, page_size: int, page_token: str
    ) -> tuple[list[CalendarChange], str]:
        """Every change of a year's days, removed ones too, oldest first."""
        _check_year(year)
        scope = f"ListCalendarChanges {year}"
        offset = paging.decode_token(page_token, scope)
        limit = paging.page_size(page_size, DEFAULT_CHANGES_PAGE_SIZE, MAX_PAGE_SIZE)
        with self.uow(read_only=True) as uow:
            changes = uow.calendar.book().changes_of(year)
        end = offset + limit
        return changes[offset:end], paging.encode_token(end, scope) if end < len(changes) else ""

    def set_calendar_year(
        self,
        year: int,
        holidays: list[str],
        make_up: list[str],
        actor: str,
        replace_known_year: bool = False,
    ) -> tuple[CalendarView, int]:
        problems, data = calendars.parse_year(year, holidays, make_up)
        if not actor:
            problems.append(("actor", "is required"))
        if problems:
            raise InvalidArgument(problems)

        def apply(book: CalendarBook, uow: UnitOfWork, moment: datetime.datetime) -> int:
            book.set_year(data, replace_known_year)
            uow.calendar.put_year(data, actor, moment)
            return year

        return self._change_calendar(f"calendar year {year} set by {actor}", apply)

    def change_calendar_days(self, changes: list[DayChange], actor: str) -> tuple[CalendarView, int]:
        """Lays changes of single days over their year (all in one year)."""
        problems, days = [], []
        if not changes:
            problems.append(("days", "give at least one day"))
        for index, change in enumerate(changes):
            day = calendars.parse_day(change.date)
            if day is None:
                problems.append((f"days[{index}].date", f"{change.date[:20]!r} is not a date YYYY-MM-DD"))
            else:
                problems.extend((f"days[{index}].date", why) for _, why in calendars.year_problems(day.year))
                days.append(day)
            if not change.reason.strip():
                problems.append((f"days[{index}].note", "give the reason"))
        if len({day.year for day in days}) > 1:
            problems.append(("days", "change the days of one year at a time"))
        if len(set(days)) < len(days):
            problems.append(("days", "a day is named twice"))
        if not actor:
            problems.append(("actor", "is required"))
        if problems:
            raise InvalidArgument(problems)

        def apply(book: CalendarBook, uow: UnitOfWork, moment: datetime.datetime) -> int:
            for day, change in zip(days, changes, strict=True):
                added = book.change_day(day, change.working, change.reason.strip(), actor, moment)
                book.stored(uow.calendar.add_change(added))
            return days[0].year

        return self._change_calendar(f"calendar days changed by {actor}", apply)

    def remove_calendar_change(self, change_id: int, actor: str) -> tuple[CalendarView, int]:
        problems = [] if change_id > 0 else [("id", "is required")]
        if not actor:
            problems.append(("actor", "is required"))
        if problems:
            raise InvalidArgument(problems)

        def apply(book: CalendarBook, uow: UnitOfWork, moment: datetime.datetime) -> int:
            removed = book.remove_change(change_id, actor, moment)
            uow.calendar.save_change(removed)
            return removed.day.year

        return self._change_calendar(f"calendar change {change_id} removed by {actor}", apply)

    def _change_calendar(
        self, why: str, apply: Callable[[CalendarBook, UnitOfWork, datetime.datetime], int]
    ) -> tuple[CalendarView, int]:
        """One transaction: ``apply`` changes the calendar and says which year; then every
        open complaint whose clock runs in that year gets its deadline on the new
        calendar, with an event where it moved."""
        moment = now()
        with self.uow() as uow:
            book = uow.calendar.book()
            with _refusals():
                year = apply(book, uow, moment)
            recomputed = self._recompute(uow, book.working_calendar(), year, moment, why)
            uow.commit()
        self._use(book)
        return CalendarView(year, book.effective(year), book.changes_of(year)), recomputed

    @staticmethod
    def _recompute(
        uow: UnitOfWork, calendar: WorkingCalendar, year: int, moment: datetime.datetime, why: str
    ) -> int:
        """The open complaints whose clock runs in ``year`` on ``calendar``; how many moved."""
        recomputed = 0
        for complaint in uow.complaints.open_between(*calendars.year_window(year)):
            events = complaint.recompute_deadline(calendar, moment, why)
            if events:
                uow.complaints.save(complaint, events)
                recomputed += 1
        return recomputed

    # -- intake -----------------------------------------------------------------------------
    def file(self, intake: Intake) -> tuple[Complaint, bool]:
        moment = now()
        problems = intake.problems(moment)
        if problems:
            raise InvalidArgument(problems)
        check = self.directory.check(intake.licence_number)
        if check.known is False:
            raise InvalidArgument([("licence_number", check.why)])
        if check.licence_number:  # the customer's licence as classification keeps it
            intake = dataclasses.replace(intake, licence_number=check.licence_number)
        complaint, events = Complaint.file(
            intake,
            complaint_id=uuid.uuid4().hex,
            team_id=check.team_id,
            needs_verification=check.known is None,
            policy=self._policy(intake.facts()),
            calendar=self.calendar,
            moment=moment,
        )
        try:
            with self.uow() as uow:
                uow.complaints.add(complaint, events)
                uow.commit()
        except DuplicateKey:
            return self._replay(intake), True  # filed before, or by a concurrent retry
        complaint_metrics.FILED.labels(complaint.channel).inc()
        return complaint, False

    def _policy(self, facts: dict) -> PolicySnapshot:
        """The policy's decision; should it fail, the documented defaults (version 0),
        because a complaint is never refused for a rule-set problem."""
        try:
            decision = self.registry.decide(COMPLAINT_POLICY.name, facts)
            return PolicySnapshot.from_outputs(decision.version, decision.outputs)
        except Exception:
            log.exception("complaint policy could not decide; using the defaults", extra={"facts": facts})
            return PolicySnapshot.defaults()

    # -- policy versions ------------------------------------------------------------------
    def standing(self, complaint: Complaint) -> PolicyStanding:
        active = self.registry.serving_version(COMPLAINT_POLICY.name)
        if not complaint.may_follow(active, now()):
            return PolicyStanding(active)
        try:
            decision = self.registry.decide(COMPLAINT_POLICY.name, complaint.facts())
        except Exception:  # a read never fails for the policy; the job counts what it cannot decide
            return PolicyStanding(active)
        if decision.version == active and domain.follows_new_version(decision.outputs):
            return PolicyStanding(active, active)
        return PolicyStanding(active)

    def follow_policy(
        self,
        version: int,
        after_id: str,
        limit: int,
        created_since: datetime.datetime | None = None,
    ) -> FollowBatch:
        """One transaction of a policy follow job: the next ``limit`` open complaints (by id,
        after ``after_id``) that ``version`` may still move are decided under it, and those
        it says follow it take it (Complaint.follow_policy), each with its event."""
        moment = now()
        done = followed = moved = failed = 0
        last_id = after_id
        with self.uow() as uow:
            for complaint in uow.complaints.may_follow(version, moment, after_id, limit, created_since):
                done, last_id = done + 1, complaint.id
                try:
                    decision = self.registry.decide(COMPLAINT_POLICY.name, complaint.facts())
                except Exception:
                    log.exception(
                        "complaint policy could not decide an open complaint; its deadline stands",
                        extra={"complaint_id": complaint.id, "version": version},
                    )
                    failed += 1
                    continue
                if decision.version != version:
                    return FollowBatch(stale=True)  # swapped meanwhile: leave without saving
                if not domain.follows_new_version(decision.outputs):
                    continue
                snapshot = PolicySnapshot.from_outputs(version, decision.outputs)
                events = complaint.follow_policy(snapshot, self.calendar, moment)
                if events:
                    uow.complaints.save(complaint, events)
                    followed += 1
                    moved += events[0].action == domain.DEADLINE_RECOMPUTED
            uow.commit()
        return FollowBatch(done, followed, moved, failed, last_id)

    def _replay(self, intake: Intake) -> Complaint:
        with self.uow(read_only=True) as uow:
            earlier = uow.complaints.by_idempotency_key(intake.idempotency_key)
        if earlier is None:  # the key's holder was rolled back meanwhile: let the caller retry
            raise FailedPrecondition(
                "the idempotency key is being used by another call; retry", intake.idempotency_key
            )
        different = intake.differences(earlier)
        if different:
            raise InvalidArgument(
                [
                    (
                        "idempotency_key",
                        f"already used for complaint {earlier.id} with different content"
                        f" ({', '.join(different)})",
                    )
                ]
            )
        return earlier

    # -- reading ----------------------------------------------------------------------------
    @staticmethod
    def _found(complaint: Complaint | None, complaint_id: str) -> Complaint:
        if complaint is None:
            raise NotFound("complaint", complaint_id)
        return complaint

    def get(self, complaint_id: str) -> Complaint:
        _require_id(complaint_id)
        with self.uow(read_only=True) as uow:
            return self._found(uow.complaints.get(complaint_id), complaint_id)

    def list(self, where: ComplaintFilter, page_size: int, page_token: str) -> tuple[list[Complaint], str]:
        scope = f"ListComplaints {where!r}"
        offset = paging.decode_token(page_token, scope)
        limit = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        with self.uow(read_only=True) as uow:
            found = uow.complaints.matching(where, offset, limit)
        token = paging.encode_token(offset + limit, scope) if len(found) == limit else ""
        return found, token

    def events(self, complaint_id: str) -> list[Event]:
        _require_id(complaint_id)
        with self.uow(read_only=True) as uow:
            self._found(uow.complaints.get(complaint_id), complaint_id)
            return uow.complaints.events(complaint_id)

    def statistics(
        self, period_from: datetime.datetime | None, period_to: datetime.datetime | None, group_by: str
    ) -> list[Figures]:
        if period_from is None or period_to is None or period_to <= period_from:
            raise InvalidArgument([("period_to", "give a period: period_from before period_to")])
        with self.uow(read_only=True) as uow:
            return domain.figures(uow.complaints.outcomes(period_from, period_to, group_by))

    # -- changing ---------------------------------------------------------------------------
    def _change(
        self, complaint_id: str, change: Callable[[Complaint, datetime.datetime], list[Event]]
    ) -> Complaint:
        """Loads and locks a complaint, lets ``change`` act on it, saves it and its events."""
        _require_id(complaint_id)
        with self.uow() as uow:
            complaint = self._found(uow.complaints.get(complaint_id, for_update=True), complaint_id)
            with _refusals():
                events = change(complaint, now())
            uow.complaints.save(complaint, events)
            uow.commit()
        _notify(events, complaint)
        return complaint

    def change_state(self, complaint_id: str, action: str, actor: str, note: str) -> Complaint:
        if not actor:
            raise InvalidArgument([("actor", "is required")])
        if action not in domain.STATE_ACTIONS:
            raise InvalidArgument([("action", f"use one of {', '.join(domain.STATE_ACTIONS)}")])
        return self._change(
            complaint_id, lambda complaint, moment: complaint.act(action, actor, note, moment, self.calendar)
        )

    def hand_off(self, complaint_id: str, handler: str, reason: str, actor: str) -> Complaint:
        problems = [
            (name, "is required")
            for name, value in (("handler", handler), ("reason", reason), ("actor", actor))
            if not value
        ]
        if problems:
            raise InvalidArgument(problems)
        return self._change(
            complaint_id, lambda complaint, moment: complaint.hand_off(handler, reason, actor, moment)
        )

    def return_visit(self, complaint_id: str, satisfaction: int, comment: str, visited_by: str) -> Complaint:
        problems = []
        if not 1 <= satisfaction <= 5:
            problems.append(("satisfaction", "must be 1 to 5"))
        if not visited_by:
            problems.append(("visited_by", "is required"))
        if problems:
            raise InvalidArgument(problems)
        _require_id(complaint_id)
        with self.uow() as uow:
            complaint = self._found(uow.complaints.get(complaint_id, for_update=True), complaint_id)
            with _refusals():
                events, visit = complaint.record_return_visit(
                    satisfaction, comment, visited_by, now(), self.calendar
                )
            uow.complaints.save(complaint, events)
            uow.complaints.add_return_visit(visit)
            uow.commit()
        _notify(events, complaint)
        return complaint

    # -- verification -------------------------------------------------------------------------
    def verify_flagged(self, limit: int = FLAGGED_BATCH) -> int:
        """Checks complaints accepted while classification was down, now that it may be up:
        a known customer clears the flag and gives the complaint its team."""
        with self.uow(read_only=True) as uow:
            flagged = uow.complaints.flagged(limit)
        verified = 0
        for complaint_id, licence in flagged:
            try:
                check = self.directory.check(licence)
            except DownstreamError:
                break  # classification failed; the next sweep asks again
            if check.known is None:
                break  # still unreachable: try again at the next sweep
            if not check.known:
                continue  # stays flagged for a person: no such customer
            self._change(
                complaint_id,
                lambda complaint, moment, team=check.team_id: complaint.verify_customer(team, moment),
            )
            verified += 1
        return verified

    # -- escalation ---------------------------------------------------------------------------
    def sweep(self, moment: datetime.datetime | None = None) -> tuple[int, int, float]:
        """Warns, marks overdue and escalates level by level. Everything it does is
        recorded on the complaint first, so a restart neither repeats nor misses a level."""
        started = time.perf_counter()
        moment = moment or now()
        warned = escalations = 0
        while True:
            with self.uow() as uow:
                count = uow.complaints.warn_due(moment, SWEEP_BATCH)
                uow.commit()
            if not count:
                break
            warned += count
        while True:
            done = []
            with self.uow() as uow:
                due = uow.complaints.due_for_escalation(moment, SWEEP_BATCH)
                if not due:
                    break
                for complaint in due:
                    events = complaint.escalate_when_due(moment, self.calendar)
                    uow.complaints.save(complaint, events)
                    done.append((complaint, events))
                uow.commit()
            for complaint, events in done:
                _notify(events, complaint)
                escalations += sum(e.action.startswith("escalate_to_") for e in events)
        return warned, escalations, time.perf_counter() - started


def _require_id(complaint_id: str) -> None:
    if not complaint_id:
        raise InvalidArgument([("id", "is required")])


def _check_year(year: int) -> None:
    problems = calendars.year_problems(year)
    if problems:
        raise InvalidArgument(problems)
