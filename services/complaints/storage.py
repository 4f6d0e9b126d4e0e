"""The complaints service's tables (the only module that knows them) and the SQL
implementations of its ports (services/complaints/ports.py)."""

from __future__ import annotations

import contextlib
import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from services.common.database import DirectStatement, unit_of_work
from services.common.times import utc
from services.complaints import domain
from services.complaints.calendar import CalendarBook, CalendarChange, CalendarYear
from services.complaints.domain import Complaint, Event, Outcome, PolicySnapshot, ReturnVisit
from services.complaints.ports import ComplaintFilter, Conflict, DuplicateKey


def _time(**kwargs):
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), **kwargs))


class ComplaintRow(SQLModel, table=True):
    __tablename__ = "complaints"
    id: str = Field(primary_key=True)
    idempotency_key: str = Field(sa_column=sa.Column(sa.String(100), unique=True, nullable=False))
    licence_number: str
    channel: str
    category: str
    severity: str
    description: str
    owner: str
    handler: str
    team_id: str
    state: str
    received_at: datetime.datetime = _time(nullable=False)
    deadline_at: datetime.datetime = _time(nullable=False)
    deadline_estimated: bool
    deadline_working_days: int
    policy_version: int
    pause_clock: bool
    warn_at_share: float
    escalation_levels: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    escalation_interval: int
    needs_verification: bool
    warn_at: datetime.datetime | None = _time(nullable=True)
    warned_at: datetime.datetime | None = _time(nullable=True)
    overdue_at: datetime.datetime | None = _time(nullable=True)
    escalation_level: int = 0
    escalated_to: str = ""
    next_escalation_at: datetime.datetime | None = _time(nullable=True)
    paused_at: datetime.datetime | None = _time(nullable=True)
    paused_working_days: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    resolved_at: datetime.datetime | None = _time(nullable=True)
    resolution_working_days: int | None = None
    return_visit_due_at: datetime.datetime | None = _time(nullable=True)
    satisfaction: int | None = None
    created_at: datetime.datetime = _time(nullable=False)
    updated_at: datetime.datetime = _time(nullable=False)


class ComplaintEventRow(SQLModel, table=True):
    __tablename__ = "complaint_events"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: str = Field(index=True)
    at: datetime.datetime = _time(nullable=False)
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str


class ReturnVisitRow(SQLModel, table=True):
    __tablename__ = "return_visits"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: str = Field(index=True)
    visited_at: datetime.datetime = _time(nullable=False)
    visited_by: str
    satisfaction: int
    comment: str


class CalendarYearRow(SQLModel, table=True):
    __tablename__ = "calendar_years"
    year: int = Field(primary_key=True)
    source: str
    holidays: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    make_up_workdays: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime.datetime = _time(nullable=False)
    updated_by: str


class CalendarChangeRow(SQLModel, table=True):
    __tablename__ = "calendar_changes"
    id: int | None = Field(default=None, primary_key=True)
    day: datetime.date = Field(sa_column=sa.Column(sa.Date, nullable=False, index=True))
    working: bool
    reason: str
    actor: str
    at: datetime.datetime = _time(nullable=False)
    removed_at: datetime.datetime | None = _time(nullable=True)
    removed_by: str = ""


# -- complaints -----------------------------------------------------------------------------
_PLAIN = (  # fields a complaint and its row share by name
    "id",
    "idempotency_key",
    "licence_number",
    "channel",
    "category",
    "severity",
    "description",
    "owner",
    "handler",
    "team_id",
    "state",
    "deadline_estimated",
    "needs_verification",
    "escalation_level",
    "escalated_to",
    "paused_working_days",
    "resolution_working_days",
    "satisfaction",
)
_TIMES = (
    "received_at",
    "deadline_at",
    "created_at",
    "updated_at",
    "warn_at",
    "warned_at",
    "overdue_at",
    "next_escalation_at",
    "paused_at",
    "resolved_at",
    "return_visit_due_at",
)


def _complaint(row: ComplaintRow) -> Complaint:
    policy = PolicySnapshot(
        version=row.policy_version,
        deadline_working_days=row.deadline_working_days,
        pause_clock_while_waiting=row.pause_clock,
        warn_at_share=row.warn_at_share,
        escalation_levels=tuple(row.escalation_levels),
        escalation_interval_working_days=row.escalation_interval,
    )
    values = {name: getattr(row, name) for name in _PLAIN}
    values.update({name: utc(getattr(row, name)) for name in _TIMES})
    return Complaint(policy=policy, **values)


def _fill(row: ComplaintRow, complaint: Complaint) -> ComplaintRow:
    """Sets the row's columns that differ from the complaint (setting a column costs)."""
    for name, value in _values(complaint).items():
        current = getattr(row, name, None)
        if (utc(current) if name in _TIMES else current) != value or current is None and value is not None:
            setattr(row, name, value)
    return row


def _values(complaint: Complaint) -> dict:
    """Every column of a complaint's row."""
    policy = complaint.policy
    values = {name: getattr(complaint, name) for name in (*_PLAIN, *_TIMES)}
    values.update(
        policy_version=policy.version,
        deadline_working_days=policy.deadline_working_days,
        pause_clock=policy.pause_clock_while_waiting,
        warn_at_share=policy.warn_at_share,
        escalation_levels=list(policy.escalation_levels),
        escalation_interval=policy.escalation_interval_working_days,
    )
    return values


_COMPLAINTS = ComplaintRow.__table__
_EVENTS = ComplaintEventRow.__table__
_EVENT_COLUMNS = ("complaint_id", "at", "actor", "action", "from_state", "to_state", "note")
# A new complaint's row and its first event: run on the driver's cursor (no ORM object).
_ADD_COMPLAINT = DirectStatement(
    sa.insert(_COMPLAINTS).values(**{c.name: sa.bindparam(c.name) for c in _COMPLAINTS.c})
)
_ADD_EVENT = DirectStatement(
    sa.insert(_EVENTS).values(**{name: sa.bindparam(name) for name in _EVENT_COLUMNS}).inline()
)
_COPY_EVENTS = f"COPY {_EVENTS.name} ({', '.join(_EVENT_COLUMNS)}) FROM STDIN"
_COPY_FROM = 50  # events in one write from which PostgreSQL takes them by COPY


def _insert_events(connection: sa.Connection, rows: list[dict]) -> None:
    """Inserts event rows (dicts of _EVENT_COLUMNS) in the connection's transaction: one by
    one statement, many by COPY on PostgreSQL, else as one executemany."""
    if len(rows) == 1:
        _ADD_EVENT.execute(connection, rows[0])
    elif connection.dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
        with connection.connection.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
            for row in rows:
                copy.write_row([row[name] for name in _EVENT_COLUMNS])
    elif rows:
        connection.execute(sa.insert(_EVENTS), rows)


def _event_values(complaint_id: str, event: Event) -> dict:
    return {
        "complaint_id": complaint_id,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
    }


class SqlComplaints:
    def __init__(self, session: Session):
        self.session = session
        # The rows read in this unit of work, held so save() finds them without a query
        # (the session's identity map only holds them weakly).
        self._rows: dict[str, ComplaintRow] = {}
        # Complaints read in bulk (no ORM object): their columns as read; save() queues
        # what changed, written together by write_events().
        self._read_in_bulk: dict[str, dict] = {}
        self._changed: dict[str, dict] = {}
        self._new_events: list[dict] = []  # written together by write_events()

    def _read(self, row: ComplaintRow) -> Complaint:
        self._rows[row.id] = row
        return _complaint(row)

    def _read_bulk(self, query) -> list[Complaint]:
        """Complaints selected by a Core query of every column, for saving in bulk."""
        self.write_events()  # what this unit of work saved so far, before reading again
        found = [_complaint(row) for row in self.session.connection().execute(query)]
        for complaint in found:
            self._read_in_bulk[complaint.id] = _values(complaint)
        return found

    def add(self, complaint: Complaint, events: list[Event]) -> None:
        connection = self.session.connection()
        try:
            _ADD_COMPLAINT.execute(connection, _values(complaint))
        except connection.dialect.dbapi.IntegrityError:
            # a retry is found by the unique key here, not by a query first
            raise DuplicateKey(complaint.idempotency_key) from None
        self._append(complaint.id, events)

    def _append(self, complaint_id: str, events: list[Event]) -> None:
        self._new_events.extend(_event_values(complaint_id, e) for e in events)

    def write_events(self) -> None:
        """Writes what was queued in this unit of work: the changes of the complaints read
        in bulk (an UPDATE of the changed columns, one executemany for each set of them),
        then the new events (one statement, or COPY)."""
        if self.session.new or self.session.dirty:
            self.session.flush()  # the rows changed through the session first, as before
        if self._changed:
            by_columns: dict[tuple, list[dict]] = {}
            for complaint_id, changed in self._changed.items():
                by_columns.setdefault(tuple(changed), []).append({**changed, "_id": complaint_id})
            connection = self.session.connection()
            for names, rows in by_columns.items():
                connection.execute(
                    sa.update(_COMPLAINTS)
                    .where(_COMPLAINTS.c.id == sa.bindparam("_id"))
                    .values(**{name: sa.bindparam(name) for name in names}),
                    rows,
                )
            self._changed = {}
        if self._new_events:
            _insert_events(self.session.connection(), self._new_events)
            self._new_events = []

    def get(self, complaint_id: str, *, for_update: bool = False) -> Complaint | None:
        row = self.session.get(ComplaintRow, complaint_id, with_for_update=for_update)
        return None if row is None else self._read(row)

    def by_idempotency_key(self, key: str) -> Complaint | None:
        row = self.session.exec(select(ComplaintRow).where(ComplaintRow.idempotency_key == key)).first()
        return None if row is None else _complaint(row)

    def save(self, complaint: Complaint, events: list[Event]) -> None:
        read = self._read_in_bulk.get(complaint.id)
        if read is not None:
            values = _values(complaint)
            changed = {name: value for name, value in values.items() if read[name] != value}
            if changed:
                self._changed.setdefault(complaint.id, {}).update(changed)
                read.update(changed)
        else:
            row = self._rows.get(complaint.id) or self.session.get(ComplaintRow, complaint.id)
            self.session.add(_fill(row, complaint))
        self._append(complaint.id, events)

    def add_return_visit(self, visit: ReturnVisit) -> None:
        self.session.add(
            ReturnVisitRow(
                complaint_id=visit.complaint_id,
                visited_at=visit.visited_at,
                visited_by=visit.visited_by,
                satisfaction=visit.satisfaction,
                comment=visit.comment,
            )
        )

    def events(self, complaint_id: str) -> list[Event]:
        rows = self.session.exec(
            select(ComplaintEventRow)
            .where(ComplaintEventRow.complaint_id == complaint_id)
            .order_by(ComplaintEventRow.id)
        )
        return [Event(utc(r.at), r.actor, r.action, r.from_state, r.to_state, r.note) for r in rows]

    def matching(self, where: ComplaintFilter, offset: int, limit: int) -> list[Complaint]:
        table = ComplaintRow.__table__.c
        clauses = [
            getattr(table, name) == getattr(where, name)
            for name in ("licence_number", "owner", "team_id")
            if getattr(where, name)
        ]
        if where.states:
            clauses.append(table.state.in_(where.states))
        if where.overdue_only:
            clauses.append(table.overdue_at.is_not(None))
        if where.received_from:
            clauses.append(table.received_at >= where.received_from)
        if where.received_to:
            clauses.append(table.received_at < where.received_to)
        rows = self.session.exec(
            select(ComplaintRow)
            .where(*clauses)
            .order_by(ComplaintRow.received_at, ComplaintRow.id)
            .offset(offset)
            .limit(limit)
        )
        return [_complaint(row) for row in rows]

    def flagged(self, limit: int) -> list[tuple[str, str]]:
        rows = self.session.exec(
            select(ComplaintRow.id, ComplaintRow.licence_number)
            .where(ComplaintRow.needs_verification.is_(True), ComplaintRow.state.in_(domain.OPEN_STATES))
            .order_by(ComplaintRow.received_at)
            .limit(limit)
        )
        return [tuple(row) for row in rows]

    def warn_due(self, moment: datetime.datetime, limit: int) -> int:
        """Up to ``limit`` open complaints past their warning moment and not warned yet get
        warned_at and a warning event: one UPDATE (which checks again that the complaint is
        not warned yet, so it is warned once, whoever sweeps at the same time) and the
        events of the ids it returns; on PostgreSQL both in one statement."""
        self.write_events()
        table = _COMPLAINTS.c
        due = (table.state.in_(domain.OPEN_STATES), table.warned_at.is_(None), table.warn_at <= moment)
        # The UPDATE finds its rows by id and checks again only that they are not warned
        # yet (an indexed column in its WHERE would make SQLite walk that index a second time).
        warned = (
            sa.update(_COMPLAINTS)
            .where(
                table.id.in_(sa.select(table.id).where(*due).limit(limit).scalar_subquery()),
                table.warned_at.is_(None),
            )
            .values(warned_at=moment)
            .returning(table.id)
        )
        warning = _event_values("", domain.warning(moment))
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            written = warned.cte("warned")
            values = [written.c.id] + [
                sa.literal(warning[name], _EVENTS.c[name].type) for name in _EVENT_COLUMNS[1:]
            ]
            added = sa.insert(_EVENTS).from_select(list(_EVENT_COLUMNS), sa.select(*values))
            return len(connection.execute(added.returning(_EVENTS.c.id)).all())
        ids = connection.execute(warned).scalars().all()
        _insert_events(connection, [{**warning, "complaint_id": complaint_id} for complaint_id in ids])
        return len(ids)

    def due_for_escalation(self, moment: datetime.datetime, limit: int) -> list[Complaint]:
        table = _COMPLAINTS.c
        return self._read_bulk(
            sa.select(_COMPLAINTS)
            .where(table.state.in_(domain.OPEN_STATES), table.next_escalation_at <= moment)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def open_between(self, start: datetime.datetime, end: datetime.datetime) -> list[Complaint]:
        table = _COMPLAINTS.c
        return self._read_bulk(
            sa.select(_COMPLAINTS)
            .where(table.state.in_(domain.OPEN_STATES), table.received_at < end, table.deadline_at > start)
            .with_for_update()
        )

    def may_follow(
        self,
        version: int,
        moment: datetime.datetime,
        after_id: str,
        limit: int,
        created_since: datetime.datetime | None = None,
    ) -> list[Complaint]:
        table = _COMPLAINTS.c
        query = sa.select(_COMPLAINTS).where(
            table.state.in_(domain.OPEN_STATES),
            table.policy_version != version,
            table.overdue_at.is_(None),
            table.deadline_at > moment,
            table.id > after_id,
        )
        if created_since is not None:
            query = query.where(table.created_at >= created_since)
        return self._read_bulk(query.order_by(table.id).limit(limit).with_for_update())

    def outcomes(
        self, period_from: datetime.datetime, period_to: datetime.datetime, group_by: str
    ) -> list[Outcome]:
        key = ComplaintRow.owner if group_by == "owner" else ComplaintRow.team_id
        rows = self.session.exec(
            select(
                key,
                ComplaintRow.resolved_at,
                ComplaintRow.deadline_at,
                ComplaintRow.overdue_at,
                ComplaintRow.resolution_working_days,
                ComplaintRow.satisfaction,
            ).where(ComplaintRow.received_at >= period_from, ComplaintRow.received_at < period_to)
        )
        return [
            Outcome(key_value, utc(resolved), utc(deadline), utc(overdue), days, satisfaction)
            for key_value, resolved, deadline, overdue, days, satisfaction in rows
        ]


# -- the calendar ---------------------------------------------------------------------------
def _days(values: list[str]) -> frozenset:
    return frozenset(datetime.date.fromisoformat(d) for d in values)


def _change(row: CalendarChangeRow) -> CalendarChange:
    return CalendarChange(
        row.id, row.day, row.working, row.reason, row.actor, utc(row.at), utc(row.removed_at), row.removed_by
    )


class SqlCalendar:
    def __init__(self, session: Session):
        self.session = session

    def book(self) -> CalendarBook:
        years = {
            row.year: CalendarYear(row.year, row.source, _days(row.holidays), _days(row.make_up_workdays))
            for row in self.session.exec(select(CalendarYearRow))
        }
        changes = [
            _change(row)
            for row in self.session.exec(select(CalendarChangeRow).order_by(CalendarChangeRow.id))
        ]
        return CalendarBook(years, changes)

    def add_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        self.session.add(self._row(CalendarYearRow(year=data.year), data, actor, moment))

    def put_year(self, data: CalendarYear, actor: str, moment: datetime.datetime) -> None:
        row = self.session.get(CalendarYearRow, data.year, with_for_update=True) or CalendarYearRow(
            year=data.year
        )
        self.session.add(self._row(row, data, actor, moment))

    @staticmethod
    def _row(
        row: CalendarYearRow, data: CalendarYear, actor: str, moment: datetime.datetime
    ) -> CalendarYearRow:
        row.source, row.updated_at, row.updated_by = data.source, moment, actor
        row.holidays = sorted(d.isoformat() for d in data.holidays)
        row.make_up_workdays = sorted(d.isoformat() for d in data.make_up_workdays)
        return row

    def add_change(self, change: CalendarChange) -> CalendarChange:
        row = CalendarChangeRow(
            day=change.day, working=change.working, reason=change.reason, actor=change.actor, at=change.at
        )
        self.session.add(row)
        self.session.flush()
        return _change(row)

    def save_change(self, change: CalendarChange) -> None:
        row = self.session.get(CalendarChangeRow, change.id)
        row.removed_at, row.removed_by = change.removed_at, change.removed_by
        self.session.add(row)


class SqlUnitOfWork:
    """One transaction over the complaints database. A reading one takes no writer lock
    and never commits."""

    def __init__(self, engine: Engine, *, read_only: bool = False):
        self.engine = engine
        self.read_only = read_only

    def __enter__(self) -> SqlUnitOfWork:
        self._stack = contextlib.ExitStack()
        if self.read_only:
            self.session = self._stack.enter_context(Session(self.engine))
        else:
            self.session = self._stack.enter_context(unit_of_work(self.engine))
        self.complaints = SqlComplaints(self.session)
        self.calendar = SqlCalendar(self.session)
        return self

    def commit(self) -> None:
        try:
            self.complaints.write_events()
            self.session.commit()
        except IntegrityError:
            raise Conflict() from None

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.session.rollback()  # what commit() did not keep
        self._stack.__exit__(*exc)
