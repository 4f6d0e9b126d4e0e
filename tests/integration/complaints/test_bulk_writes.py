"""The complaints storage's bulk paths on SQLite and PostgreSQL: a filed complaint's row
(inserted without an ORM object) is stored as the ORM stored it; the escalation sweep
(warnings by one guarded UPDATE, on PostgreSQL with their events in the same statement;
escalations read without ORM objects and written as one UPDATE of the changed columns)
leaves every complaint and event as the domain says, across several batches, and a second
sweep finds nothing."""

import datetime
import functools
import random

import pytest
import sqlalchemy as sa

from benchmarks.complaints_bench import open_complaints
from services.common.times import utc
from services.complaints import domain, service_layer, storage
from services.complaints.calendar import WorkingCalendar
from services.complaints.domain import Complaint, Event, PolicySnapshot
from services.complaints.ports import DuplicateKey
from services.complaints.service_layer import Complaints
from services.complaints.storage import ComplaintEventRow, ComplaintRow, SqlUnitOfWork
from tests.support.databases import migrated_engine

COMPLAINTS, EVENTS = ComplaintRow.__table__, ComplaintEventRow.__table__
MOMENT = datetime.datetime(2026, 11, 25, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture
def engine(db_url):
    with migrated_engine(db_url, "complaints") as engine:
        yield engine


def _filed(complaint_id: str, key: str) -> tuple[Complaint, list[Event]]:
    policy = PolicySnapshot(
        version=2,
        deadline_working_days=3,
        pause_clock_while_waiting=True,
        warn_at_share=0.75,
        escalation_levels=("owner", "team_leader"),
        escalation_interval_working_days=1,
    )
    intake = domain.Intake.of(
        idempotency_key=key,
        licence_number="L-1",
        channel="hotline",
        category="delivery",
        severity="",
        description="投诉 — late delivery",
        received_by="staff-1",
        received_at=MOMENT,
    )
    return Complaint.file(
        intake,
        complaint_id=complaint_id,
        team_id="team-1",
        needs_verification=False,
        policy=policy,
        calendar=WorkingCalendar([]),
        moment=MOMENT,
    )


def _as_text(engine, table, where) -> list[tuple]:
    names = [c.name for c in table.c if c.name not in ("id", "idempotency_key", "complaint_id")]
    with engine.connect() as connection:
        return connection.execute(
            sa.select(*(sa.cast(table.c[name], sa.Text) for name in names)).where(where)
        ).all()


def test_a_filed_complaint_is_stored_as_the_orm_stored_it(engine):
    complaint, events = _filed("a" * 32, "key-a")
    with SqlUnitOfWork(engine) as uow:
        uow.complaints.add(complaint, events)
        uow.commit()
    twin, twin_events = _filed("b" * 32, "key-b")
    with SqlUnitOfWork(engine) as uow:  # the same complaint through an ORM object
        uow.session.add(storage._fill(ComplaintRow(), twin))
        uow.session.flush()
        uow.complaints._append(twin.id, twin_events)
        uow.commit()

    assert _as_text(engine, COMPLAINTS, COMPLAINTS.c.id == complaint.id) == _as_text(
        engine, COMPLAINTS, COMPLAINTS.c.id == twin.id
    )
    assert _as_text(engine, EVENTS, EVENTS.c.complaint_id == complaint.id) == _as_text(
        engine, EVENTS, EVENTS.c.complaint_id == twin.id
    )
    with SqlUnitOfWork(engine, read_only=True) as uow:
        assert uow.complaints.get(complaint.id) == complaint
        assert uow.complaints.events(complaint.id) == events


def test_a_key_used_before_is_a_duplicate_and_nothing_of_the_second_is_kept(engine):
    first, events = _filed("a" * 32, "key-a")
    with SqlUnitOfWork(engine) as uow:
        uow.complaints.add(first, events)
        uow.commit()
    again, events = _filed("b" * 32, "key-a")
    with pytest.raises(DuplicateKey), SqlUnitOfWork(engine) as uow:
        uow.complaints.add(again, events)
        uow.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.select(COMPLAINTS.c.id)).scalars().all() == [first.id]
        assert connection.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar_one() == 1


def _stored(engine) -> tuple[dict[str, Complaint], dict[str, list[Event]]]:
    with engine.connect() as connection:
        complaints = {row.id: storage._complaint(row) for row in connection.execute(sa.select(COMPLAINTS))}
        events: dict[str, list[Event]] = {key: [] for key in complaints}
        for row in connection.execute(sa.select(EVENTS).order_by(EVENTS.c.id)):
            events[row.complaint_id].append(
                Event(utc(row.at), row.actor, row.action, row.from_state, row.to_state, row.note)
            )
    return complaints, events


def _expected(complaints: dict[str, Complaint], calendar, moment) -> tuple[dict, dict]:
    """What the sweep must leave: warnings first, then the escalations, by the domain."""
    events: dict[str, list[Event]] = {key: [] for key in complaints}
    for complaint in complaints.values():
        if complaint.is_open and complaint.warned_at is None and complaint.warn_at <= moment:
            complaint.warned_at = moment
            events[complaint.id].append(domain.warning(moment))
    for complaint in complaints.values():
        due = complaint.next_escalation_at
        if complaint.is_open and due is not None and due <= moment:
            events[complaint.id] += complaint.escalate_when_due(moment, calendar)
    return complaints, events


def test_the_sweep_leaves_what_the_domain_decides_batch_after_batch(engine, monkeypatch):
    monkeypatch.setattr(service_layer, "SWEEP_BATCH", 37)  # many batches of each kind
    rows = open_complaints(600, random.Random(11))
    for index, row in enumerate(rows[:60]):  # some closed ones, due or not: never touched
        row["state"] = domain.CLOSED if index % 2 else domain.RESOLVED
    with engine.begin() as connection:
        connection.execute(sa.insert(COMPLAINTS), rows)
    moment = max(row["received_at"] for row in rows) + datetime.timedelta(hours=1)
    calendar = WorkingCalendar([])
    expected, expected_events = _expected(_stored(engine)[0], calendar, moment)
    assert sum(map(len, expected_events.values())) > 300  # warnings and escalations to check

    use_cases = Complaints(functools.partial(SqlUnitOfWork, engine), None, None, None)
    use_cases.calendar = calendar
    warned, escalations, _ = use_cases.sweep(moment)

    stored, events = _stored(engine)
    assert stored == expected
    assert events == expected_events
    assert warned == sum(e.action == "warn" for es in events.values() for e in es)
    assert escalations == sum(e.action.startswith("escalate_to_") for es in events.values() for e in es)
    assert use_cases.sweep(moment)[:2] == (0, 0)  # nothing twice
    assert _stored(engine) == (stored, events)
