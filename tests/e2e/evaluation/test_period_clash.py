"""Two calls creating one period: one creates it, the other is ALREADY_EXISTS naming the
id, whether it came second or both were under way at once (never ABORTED)."""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from sqlmodel import Session

from services.common.database import create_database_engine
from services.evaluation.domain.periods import Period
from services.evaluation.storage import SqlPeriods

T = 30
DEADLINE_SECONDS = 60


def _create(ev, period_id: str, barrier: threading.Barrier | None = None):
    """The call's status code and details."""
    if barrier is not None:
        barrier.wait(timeout=T)
    request = pb.CreatePeriodRequest(
        period=pb.Period(id=period_id, kind="month", starts_on="2026-03-01", ends_on="2026-03-31")
    )
    try:
        ev.CreatePeriod(request, timeout=T)
    except grpc.RpcError as error:
        return error.code(), error.details()
    return grpc.StatusCode.OK, ""


def test_two_calls_at_once_one_creates_the_other_already_exists(stubs):
    ev = stubs[0]
    for attempt in range(12):  # each a fresh race; the window between read and write is narrow
        period_id = f"2026-03-c{attempt}"
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            calls = [pool.submit(_create, ev, period_id, barrier) for _ in range(2)]
            outcomes = [call.result(timeout=T) for call in calls]
        codes = sorted(outcomes, key=lambda outcome: outcome[0].value[0])
        assert [code for code, _ in codes] == [grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS], outcomes
        assert period_id in codes[1][1]
        period = ev.GetPeriod(pb.GetPeriodRequest(id=period_id), timeout=T).period
        assert (period.kind, period.starts_on, period.ends_on) == ("month", "2026-03-01", "2026-03-31")


def _waiting_on(session: Session) -> bool:
    """PostgreSQL: whether another transaction waits for this one's (the insert's) lock."""
    row = session.connection().exec_driver_sql(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
        " AND transactionid = (SELECT transactionid FROM pg_locks"
        "   WHERE locktype = 'transactionid' AND granted AND pid = pg_backend_pid() LIMIT 1)"
    )
    return row.scalar() > 0


def test_a_period_being_created_by_another_writer_is_already_exists(stubs, pack):
    """Another writer (another replica) has written the period and not yet committed: the
    call's read does not see it, its insert waits and then clashes on the key."""
    ev = stubs[0]
    url = pack.settings.database_url("evaluation")
    engine = create_database_engine(url, threads=1)
    try:
        with Session(engine) as session:
            period = Period("2026-04", "month", datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
            SqlPeriods(session).save(period)
            session.flush()  # the row is written, the transaction open
            with ThreadPoolExecutor(1) as pool:
                call = pool.submit(_create, ev, "2026-04")
                if engine.dialect.name == "postgresql":
                    # The call's insert waits for this transaction: wait until it does.
                    deadline = time.monotonic() + DEADLINE_SECONDS
                    while not _waiting_on(session) and time.monotonic() < deadline:
                        assert not call.done(), call.result()  # it cannot finish before the commit
                        time.sleep(0.05)
                    assert _waiting_on(session)
                session.commit()
                code, details = call.result(timeout=T)
    finally:
        engine.dispose()
    assert code == grpc.StatusCode.ALREADY_EXISTS, (code, details)
    assert "2026-04" in details
    assert ev.GetPeriod(pb.GetPeriodRequest(id="2026-04"), timeout=T).period.ends_on == "2026-04-30"
