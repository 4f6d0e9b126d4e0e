"""Use cases of the complaints service: one function each, one transaction each."""

from __future__ import annotations

import datetime
import logging
import statistics
import threading
import time
import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.common import paging
from services.common.database import unit_of_work
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.rules.registry import RuleSetRegistry
from services.common.times import now, utc
from services.complaints import domain
from services.complaints import metrics as complaint_metrics
from services.complaints.calendar import CalendarYear, WorkingCalendar, local_date
from services.complaints.customers import CustomerDirectory
from services.complaints.ports import CalendarSource
from services.complaints.rules import COMPLAINT_POLICY
from services.complaints.storage import (
    CalendarYearRow,
    ComplaintEventRow,
    ComplaintRow,
    ReturnVisitRow,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SWEEP_BATCH = 2000
SYSTEM = "system"
log = logging.getLogger("retailcare.complaints")


def _event(
    complaint_id: str, actor: str, action: str, before: str, after: str, note: str, at
) -> ComplaintEventRow:
    return ComplaintEventRow(
        complaint_id=complaint_id,
        at=at,
        actor=actor,
        action=action,
        from_state=before,
        to_state=after,
        note=note,
    )


class Complaints:
    def __init__(
        self,
        engine: Engine,
        registry: RuleSetRegistry,
        directory: CustomerDirectory,
        calendar_source: CalendarSource,
    ):
        self.engine = engine
        self.calendar_source = calendar_source
        self.registry = registry
        self.directory = directory
        self.calendar = WorkingCalendar([])
        self._calendar_lock = threading.Lock()

    # -- the calendar ---------------------------------------------------------------------
    def load_calendar(self) -> None:
        """Seeds the years the data source knows (first start), then reads every year stored."""
        with unit_of_work(self.engine) as session:
            stored = set(session.exec(select(CalendarYearRow.year)).all())
            for year in self.calendar_source.years():
                if year.year not in stored:
                    session.add(
                        CalendarYearRow(
                            year=year.year,
                            source="library",
                            holidays=sorted(d.isoformat() for d in year.holidays),
                            make_up_workdays=sorted(d.isoformat() for d in year.make_up_workdays),
                            updated_at=now(),
                            updated_by=SYSTEM,
                        )
                    )
        self.reload_calendar()

    def reload_calendar(self) -> None:
        with Session(self.engine) as session:
            rows = session.exec(select(CalendarYearRow)).all()
        years = [
            CalendarYear(
                row.year,
                row.source,
                frozenset(datetime.date.fromisoformat(d) for d in row.holidays),
                frozenset(datetime.date.fromisoformat(d) for d in row.make_up_workdays),
            )
            for row in rows
        ]
        with self._calendar_lock:
            self.calendar = WorkingCalendar(years)

    def calendar_year(self, year: int) -> CalendarYear | None:
        return self.calendar.years.get(year)

    def set_calendar_year(
        self, year: int, holidays: list[str], make_up: list[str], actor: str
    ) -> tuple[CalendarYear, int]:
        problems = []
        if not 2000 <= year <= 2100:
            problems.append(("year", "must be between 2000 and 2100"))
        if not actor:
            problems.append(("actor", "is required"))
        parsed = {}
        for name, values, weekend in (("holidays", holidays, False), ("make_up_workdays", make_up, True)):
            days = []
            for value in values:
                try:
                    day = datetime.date.fromisoformat(value)
                except ValueError:
                    problems.append((name, f"{value!r} is not a date YYYY-MM-DD"))
                    continue
                if day.year != year:
                    problems.append((name, f"{value} is not in {year}"))
                elif (day.weekday() >= 5) != weekend:
                    problems.append((name, f"{value} is a {'weekday' if weekend else 'weekend day'}"))
                days.append(day)
            parsed[name] = days
        if problems:
            raise InvalidArgument(problems)
        with unit_of_work(self.engine) as session:
            row = session.get(CalendarYearRow, year) or CalendarYearRow(
                year=year,
                source="admin",
                holidays=[],
                make_up_workdays=[],
                updated_at=now(),
                updated_by=actor,
            )
            row.source, row.updated_at, row.updated_by = "admin", now(), actor
            row.holidays = sorted(d.isoformat() for d in parsed["holidays"])
            row.make_up_workdays = sorted(d.isoformat() for d in parsed["make_up_workdays"])
            session.add(row)
        self.reload_calendar()
        return self.calendar.years[year], self._recompute_estimated_deadlines()

    def _recompute_estimated_deadlines(self) -> int:
        """Open complaints whose deadline was estimated get the exact one where data now exists."""
        recomputed = 0
        with unit_of_work(self.engine) as session:
            rows = session.exec(
                select(ComplaintRow).where(
                    ComplaintRow.deadline_estimated.is_(True), ComplaintRow.state.in_(domain.OPEN_STATES)
                )
            ).all()
            for row in rows:
                deadline = self.calendar.deadline(utc(row.received_at), row.deadline_working_days)
                if deadline.estimated:
                    continue
                before = utc(row.deadline_at)
                self._set_deadline(row, deadline.due_at, False)
                session.add(row)
                session.add(
                    _event(
                        row.id,
                        SYSTEM,
                        "deadline_recomputed",
                        row.state,
                        row.state,
                        f"calendar published: {before.isoformat()} -> {deadline.due_at.isoformat()}",
                        now(),
                    )
                )
                recomputed += 1
        return recomputed

    def _set_deadline(self, row: ComplaintRow, due_at: datetime.datetime, estimated: bool) -> None:
        received = utc(row.received_at)
        row.deadline_at, row.deadline_estimated = due_at, estimated
        row.warn_at = received + (due_at - received) * row.warn_at_share
        if row.escalation_level == 0:
            row.next_escalation_at = due_at if row.escalation_levels else None

    # -- intake -----------------------------------------------------------------------------
    def file(self, values: dict) -> tuple[ComplaintRow, bool]:
        moment = now()
        values["severity"] = values.get("severity") or "normal"
        problems = domain.check_intake(values, moment)
        if problems:
            raise InvalidArgument(problems)
        # A retry is found by the unique key when it is inserted, not by a query first:
        # one round trip less for every new complaint.
        check = self.directory.check(values["licence_number"])
        if check.known is False:
            raise InvalidArgument(
                [("licence_number", f"no customer with licence number {values['licence_number']!r}")]
            )
        received_at = values.get("received_at") or moment
        policy = domain.PolicySnapshot.from_decision(
            self.registry.decide(
                COMPLAINT_POLICY.name, {k: values[k] for k in ("category", "severity", "channel")}
            )
        )
        deadline = self.calendar.deadline(received_at, policy.deadline_working_days)
        row = ComplaintRow(
            id=uuid.uuid4().hex,
            idempotency_key=values["idempotency_key"],
            licence_number=values["licence_number"],
            channel=values["channel"],
            category=values["category"],
            severity=values["severity"],
            description=values["description"].strip(),
            owner=values["received_by"],
            handler=values["received_by"],
            team_id=check.team_id,
            state=domain.RECEIVED,
            received_at=received_at,
            deadline_at=deadline.due_at,
            deadline_estimated=deadline.estimated,
            deadline_working_days=policy.deadline_working_days,
            policy_version=policy.version,
            pause_clock=policy.pause_clock_while_waiting,
            warn_at_share=policy.warn_at_share,
            escalation_levels=list(policy.escalation_levels),
            escalation_interval=policy.escalation_interval_working_days,
            needs_verification=check.known is None,
            created_at=moment,
            updated_at=moment,
        )
        self._set_deadline(row, deadline.due_at, deadline.estimated)
        note = "customer not verified: classification unreachable" if check.known is None else ""
        try:
            with unit_of_work(self.engine) as session:
                session.add(row)
                session.flush()
                session.add(_event(row.id, values["received_by"], "file", "", domain.RECEIVED, note, moment))
        except IntegrityError:
            replay = self._replay(values)  # filed before, or by a concurrent retry
            if replay is None:
                raise
            return replay, True
        complaint_metrics.FILED.labels(row.channel).inc()
        return row, False

    def _policy(self, facts: dict) -> domain.PolicySnapshot:
        """The policy's decision; should it fail, the documented defaults (version 0),
        because a complaint is never refused for a rule-set problem."""
        try:
            return domain.PolicySnapshot.from_decision(self.registry.decide(COMPLAINT_POLICY.name, facts))
        except Exception:
            log.exception("complaint policy could not decide; using the defaults", extra={"facts": facts})
            return domain.PolicySnapshot.defaults()

    def _replay(self, values: dict) -> ComplaintRow | None:
        with Session(self.engine) as session:
            row = session.exec(
                select(ComplaintRow).where(ComplaintRow.idempotency_key == values["idempotency_key"])
            ).first()
        if row is not None and (row.licence_number, row.description) != (
            values["licence_number"],
            values["description"].strip(),
        ):
            raise InvalidArgument(
                [("idempotency_key", f"already used for complaint {row.id} with different content")]
            )
        return row

    # -- reading ----------------------------------------------------------------------------
    def _complaint(self, session: Session, complaint_id: str, lock: bool = False) -> ComplaintRow:
        if not complaint_id:
            raise InvalidArgument([("id", "is required")])
        row = session.get(ComplaintRow, complaint_id, with_for_update=lock)
        if row is None:
            raise NotFound("complaint", complaint_id)
        return row

    def get(self, complaint_id: str) -> ComplaintRow:
        with Session(self.engine) as session:
            return self._complaint(session, complaint_id)

    def list(self, filters: dict, page_size: int, page_token: str) -> tuple[list[ComplaintRow], str]:
        offset = paging.decode_token(page_token)
        limit = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        table = ComplaintRow.__table__.c
        clauses = [
            getattr(table, name) == filters[name]
            for name in ("licence_number", "owner", "team_id")
            if filters.get(name)
        ]
        if filters.get("states"):
            clauses.append(table.state.in_(filters["states"]))
        if filters.get("overdue_only"):
            clauses.append(table.overdue_at.is_not(None))
        if filters.get("received_from"):
            clauses.append(table.received_at >= filters["received_from"])
        if filters.get("received_to"):
            clauses.append(table.received_at < filters["received_to"])
        with Session(self.engine) as session:
            rows = session.exec(
                select(ComplaintRow)
                .where(*clauses)
                .order_by(ComplaintRow.received_at, ComplaintRow.id)
                .offset(offset)
                .limit(limit)
            ).all()
        token = paging.encode_token(offset + limit) if len(rows) == limit else ""
        return list(rows), token

    def events(self, complaint_id: str) -> list[ComplaintEventRow]:
        with Session(self.engine) as session:
            self._complaint(session, complaint_id)
            return list(
                session.exec(
                    select(ComplaintEventRow)
                    .where(ComplaintEventRow.complaint_id == complaint_id)
                    .order_by(ComplaintEventRow.id)
                )
            )

    # -- changing ---------------------------------------------------------------------------
    def change_state(self, complaint_id: str, action: str, actor: str, note: str) -> ComplaintRow:
        if not actor:
            raise InvalidArgument([("actor", "is required")])
        if action not in domain.ACTIONS or action == "record_return_visit":
            raise InvalidArgument(
                [
                    (
                        "action",
                        f"use one of {', '.join(a for a in domain.ACTIONS if a != 'record_return_visit')}",
                    )
                ]
            )
        with unit_of_work(self.engine) as session:
            row = self._complaint(session, complaint_id, lock=True)
            self._transition(session, row, action, actor, note, now())
            return row

    def _transition(
        self, session: Session, row: ComplaintRow, action: str, actor: str, note: str, moment
    ) -> None:
        try:
            after = domain.next_state(row.state, action)
        except domain.IllegalTransition as problem:
            raise FailedPrecondition(str(problem), subject=row.id) from None
        before = row.state
        if before == domain.WAITING and row.paused_at is not None:
            self._resume_clock(row, moment)
        if after == domain.WAITING and row.pause_clock:
            row.paused_at = moment
        if after == domain.RESOLVED:
            row.resolved_at = moment
            row.resolution_working_days, _ = self.calendar.working_days_between(
                local_date(utc(row.received_at)), local_date(moment)
            )
            due, _ = self.calendar.add_working_days(
                local_date(moment), domain.RETURN_VISIT_AFTER_WORKING_DAYS
            )
            row.return_visit_due_at = datetime.datetime.combine(due, datetime.time(9), tzinfo=datetime.UTC)
            row.next_escalation_at = None
            complaint_metrics.RESOLUTION_WORKING_DAYS.observe(row.resolution_working_days)
        if after == domain.REOPENED:
            row.resolved_at = None
            row.next_escalation_at = self._next_escalation(row) if row.overdue_at else utc(row.deadline_at)
        if action == "escalate":
            self._escalate_one(
                session, row, actor, "escalated by hand: " + note if note else "escalated by hand", moment
            )
        row.state, row.updated_at = after, moment
        session.add(row)
        session.add(_event(row.id, actor, action, before, after, note, moment))

    def _resume_clock(self, row: ComplaintRow, moment) -> None:
        """Waiting on the retailer stopped the clock: the deadline moves on by the working
        days d with pause day < d <= resume day."""
        paused, row.paused_at = utc(row.paused_at), None
        days, _ = self.calendar.working_days_between(local_date(paused), local_date(moment))
        if days and row.overdue_at is None:
            deadline = self.calendar.extend(utc(row.deadline_at), days)
            self._set_deadline(row, deadline.due_at, row.deadline_estimated or deadline.estimated)

    def hand_off(self, complaint_id: str, handler: str, reason: str, actor: str) -> ComplaintRow:
        problems = [
            (name, "is required")
            for name, value in (("handler", handler), ("reason", reason), ("actor", actor))
            if not value
        ]
        if problems:
            raise InvalidArgument(problems)
        with unit_of_work(self.engine) as session:
            row = self._complaint(session, complaint_id, lock=True)
            if row.state not in domain.OPEN_STATES:
                raise FailedPrecondition(
                    f"complaint {row.id} is {row.state}; only open complaints are handed off", row.id
                )
            moment = now()
            before, row.handler, row.updated_at = row.handler, handler, moment
            session.add(row)
            session.add(
                _event(
                    row.id,
                    actor,
                    "hand_off",
                    row.state,
                    row.state,
                    f"{before} -> {handler}: {reason} (owner stays {row.owner})",
                    moment,
                )
            )
            return row

    def return_visit(
        self, complaint_id: str, satisfaction: int, comment: str, visited_by: str
    ) -> tuple[ComplaintRow, bool]:
        problems = []
        if not 1 <= satisfaction <= 5:
            problems.append(("satisfaction", "must be 1 to 5"))
        if not visited_by:
            problems.append(("visited_by", "is required"))
        if problems:
            raise InvalidArgument(problems)
        with unit_of_work(self.engine) as session:
            row = self._complaint(session, complaint_id, lock=True)
            moment = now()
            self._transition(
                session,
                row,
                "record_return_visit",
                visited_by,
                f"satisfaction {satisfaction}: {comment}",
                moment,
            )
            row.satisfaction = satisfaction
            session.add(
                ReturnVisitRow(
                    complaint_id=row.id,
                    visited_at=moment,
                    visited_by=visited_by,
                    satisfaction=satisfaction,
                    comment=comment,
                )
            )
            reopened = satisfaction <= domain.DISSATISFIED_AT_MOST
            if reopened:
                self._transition(
                    session, row, "reopen", visited_by, "dissatisfied at the return visit", moment
                )
            return row, reopened

    # -- verification -------------------------------------------------------------------------
    def verify_flagged(self, limit: int = 200) -> int:
        """Checks complaints accepted while classification was down, now that it may be up:
        a known customer clears the flag and gives the complaint its team."""
        with Session(self.engine) as session:
            flagged = session.exec(
                select(ComplaintRow.id, ComplaintRow.licence_number)
                .where(ComplaintRow.needs_verification.is_(True), ComplaintRow.state.in_(domain.OPEN_STATES))
                .order_by(ComplaintRow.received_at)
                .limit(limit)
            ).all()
        verified = 0
        for complaint_id, licence in flagged:
            check = self.directory.check(licence)
            if check.known is None:
                break  # still unreachable: try again at the next sweep
            if not check.known:
                continue  # stays flagged for a person: no such customer
            with unit_of_work(self.engine) as session:
                row = self._complaint(session, complaint_id, lock=True)
                row.needs_verification, row.team_id, row.updated_at = False, check.team_id, now()
                session.add(row)
                session.add(
                    _event(
                        row.id,
                        SYSTEM,
                        "customer_verified",
                        row.state,
                        row.state,
                        f"team {check.team_id}",
                        row.updated_at,
                    )
                )
            verified += 1
        return verified

    # -- escalation ---------------------------------------------------------------------------
    def _next_escalation(self, row: ComplaintRow) -> datetime.datetime | None:
        if row.escalation_level >= len(row.escalation_levels):
            return None
        steps = row.escalation_level * row.escalation_interval
        return self.calendar.extend(utc(row.deadline_at), steps).due_at if steps else utc(row.deadline_at)

    def _escalate_one(self, session: Session, row: ComplaintRow, actor: str, note: str, moment) -> None:
        if row.escalation_level >= len(row.escalation_levels):
            raise FailedPrecondition(f"complaint {row.id} is already at the top escalation level", row.id)
        row.escalation_level += 1
        row.escalated_to = row.escalation_levels[row.escalation_level - 1]
        row.next_escalation_at = self._next_escalation(row)
        complaint_metrics.ESCALATIONS.labels(row.escalated_to).inc()
        session.add(
            _event(row.id, actor, f"escalate_to_{row.escalated_to}", row.state, row.state, note, moment)
        )

    def sweep(self, moment: datetime.datetime | None = None) -> tuple[int, int, float]:
        """Warns, marks overdue and escalates level by level. Everything it does is
        recorded on the complaint first, so a restart neither repeats nor misses a level."""
        started = time.perf_counter()
        moment = moment or now()
        warned = escalations = 0
        table = ComplaintRow.__table__.c
        open_states = table.state.in_(domain.OPEN_STATES)
        while True:
            with unit_of_work(self.engine) as session:
                ids = session.exec(
                    select(ComplaintRow.id)
                    .where(open_states, ComplaintRow.warned_at.is_(None), ComplaintRow.warn_at <= moment)
                    .limit(SWEEP_BATCH)
                ).all()
                if not ids:
                    break
                session.execute(sa.update(ComplaintRow).where(table.id.in_(ids)).values(warned_at=moment))
                session.execute(
                    sa.insert(ComplaintEventRow),
                    [
                        {
                            "complaint_id": i,
                            "at": moment,
                            "actor": SYSTEM,
                            "action": "warn",
                            "from_state": "",
                            "to_state": "",
                            "note": "share of the time used",
                        }
                        for i in ids
                    ],
                )
                warned += len(ids)
        while True:
            with unit_of_work(self.engine) as session:
                rows = session.exec(
                    select(ComplaintRow)
                    .where(open_states, ComplaintRow.next_escalation_at <= moment)
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                ).all()
                if not rows:
                    break
                for row in rows:
                    if row.overdue_at is None:
                        row.overdue_at = utc(row.deadline_at)
                    while row.next_escalation_at is not None and utc(row.next_escalation_at) <= moment:
                        self._escalate_one(
                            session,
                            row,
                            SYSTEM,
                            f"deadline {utc(row.deadline_at).isoformat()} passed",
                            moment,
                        )
                        escalations += 1
                    if row.state != domain.ESCALATED and (row.state, "escalate") in domain.TRANSITIONS:
                        session.add(
                            _event(row.id, SYSTEM, "escalate", row.state, domain.ESCALATED, "overdue", moment)
                        )
                        row.state = domain.ESCALATED
                    row.updated_at = moment
                    session.add(row)
        return warned, escalations, time.perf_counter() - started

    # -- statistics -------------------------------------------------------------------------------
    def statistics(self, period_from, period_to, group_by: str) -> list[dict]:
        if period_from is None or period_to is None or period_to <= period_from:
            raise InvalidArgument([("period_to", "give a period: period_from before period_to")])
        column = ComplaintRow.owner if group_by == "owner" else ComplaintRow.team_id
        with Session(self.engine) as session:
            rows = session.exec(
                select(
                    column,
                    ComplaintRow.resolved_at,
                    ComplaintRow.deadline_at,
                    ComplaintRow.overdue_at,
                    ComplaintRow.resolution_working_days,
                    ComplaintRow.satisfaction,
                ).where(ComplaintRow.received_at >= period_from, ComplaintRow.received_at < period_to)
            ).all()
        groups: dict[str, dict] = defaultdict(
            lambda: {"received": 0, "resolved": 0, "on_time": 0, "overdue": 0, "days": [], "satisfaction": []}
        )
        for key, resolved_at, deadline_at, overdue_at, days, satisfaction in rows:
            group = groups[key]
            group["received"] += 1
            if resolved_at is not None:
                group["resolved"] += 1
                group["on_time"] += utc(resolved_at) <= utc(deadline_at)
                group["days"].append(days or 0)
            group["overdue"] += overdue_at is not None
            if satisfaction:
                group["satisfaction"].append(satisfaction)
        return [
            {
                "key": key,
                "received": g["received"],
                "resolved": g["resolved"],
                "resolved_on_time": g["on_time"],
                "overdue": g["overdue"],
                "mean_working_days_to_resolve": statistics.fmean(g["days"]) if g["days"] else 0.0,
                "mean_satisfaction": statistics.fmean(g["satisfaction"]) if g["satisfaction"] else 0.0,
            }
            for key, g in sorted(groups.items())
        ]
