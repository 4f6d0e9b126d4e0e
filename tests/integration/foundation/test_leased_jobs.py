"""The kernel's leased-jobs SQL on SQLite and PostgreSQL over a table this test declares:
jobs kept per key, the successor of a job started once, a lease held by one owner until it
expires, progress saved only while the lease is held, an orderly release, and rows read
back as aware moments and real booleans."""

import dataclasses
import datetime

import pytest
import sqlalchemy as sa

from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.leased_jobs import CANCELLED, COMPLETED, RUNNING, LeasedJobStore, jobs_table

MOMENT = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.UTC)
LATER = MOMENT + datetime.timedelta(minutes=1)
UNTIL = MOMENT + datetime.timedelta(seconds=30)

metadata = sa.MetaData()
table = jobs_table(
    "sample_jobs",
    metadata,
    key=[sa.Column("topic", sa.String(32), nullable=False)],
    progress=[
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_pass", sa.Boolean, nullable=False, server_default=sa.false()),
    ],
)
# What the services' migrations declare: replicas racing to start a successor agree on one.
sa.UniqueConstraint(table.c.topic, table.c.replaces, name="uq_sample_jobs_successor")


@dataclasses.dataclass(frozen=True)
class Sample:
    """What a row is read into (``replaces`` left out, as the services do)."""

    id: int
    topic: str
    version: int
    state: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    done: int
    last_pass: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


@pytest.fixture
def store(db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    metadata.create_all(engine)
    yield LeasedJobStore(engine, table, Sample)
    engine.dispose()


def test_jobs_are_kept_per_key_and_the_successor_of_a_job_is_started_once(store):
    assert store.start(None, 1, MOMENT, topic="a")
    assert not store.start(None, 1, MOMENT, topic="a")  # another replica, same activation
    assert store.start(None, 7, MOMENT, topic="b")
    first = store.latest_of(topic="a")
    assert store.start(first, 2, LATER, topic="a")
    assert not store.start(first, 2, LATER, topic="a")

    assert [(j.version, j.state) for j in store.list_of(10, topic="a")] == [(2, RUNNING), (1, CANCELLED)]
    assert [(j.topic, j.version) for j in store.list_of(10)] == [("a", 2), ("b", 7), ("a", 1)]
    assert [j.version for j in store.list_of(1)] == [2]
    assert store.latest_of(topic="b").version == 7
    assert store.latest_of().topic == "a"
    assert store.latest_of(topic="c") is None
    assert store.get(first.id).state == CANCELLED
    assert store.get(999) is None


def test_rows_are_read_as_aware_moments_and_booleans(store):
    store.start(None, 1, MOMENT, topic="a")
    job = store.latest_of(topic="a")
    assert (job.created_at, job.updated_at, job.lease_expires_at) == (MOMENT, MOMENT, None)
    assert job.last_pass is False
    store.take_lease(job, "me", MOMENT, UNTIL)
    store.save_progress(job, "me", LATER, UNTIL, done=3, last_pass=True)
    job = store.get(job.id)
    assert (job.done, job.last_pass, job.lease_expires_at, job.updated_at) == (3, True, UNTIL, LATER)
    assert job.lease_expires_at.tzinfo is not None


def test_a_lease_is_held_by_one_owner_until_it_expires(store):
    store.start(None, 1, MOMENT, topic="a")
    job = store.latest_of(topic="a")
    assert store.take_lease(job, "first", MOMENT, UNTIL)
    assert not store.take_lease(job, "second", MOMENT + datetime.timedelta(seconds=10), UNTIL)
    assert store.take_lease(
        job, "first", MOMENT + datetime.timedelta(seconds=10), UNTIL
    )  # renewed by its holder
    assert store.take_lease(job, "second", UNTIL + datetime.timedelta(seconds=1), LATER)
    assert store.get(job.id).lease_owner == "second"
    assert not store.save_progress(job, "first", LATER, UNTIL, done=1)  # lost its lease
    assert store.save_progress(job, "second", LATER, UNTIL, done=1)


def test_the_end_of_a_job_clears_its_lease_and_nothing_more_is_saved(store):
    store.start(None, 1, MOMENT, topic="a")
    job = store.latest_of(topic="a")
    store.take_lease(job, "me", MOMENT, UNTIL)
    assert store.save_progress(job, "me", LATER, None, state=COMPLETED, done=5)
    ended = store.get(job.id)
    assert (ended.state, ended.done, ended.lease_owner, ended.lease_expires_at) == (COMPLETED, 5, "", None)
    assert not store.save_progress(job, "me", LATER, UNTIL, done=6)
    assert not store.take_lease(job, "me", LATER, UNTIL)
    assert not store.release(job, "me", LATER)


def test_a_cancelled_job_keeps_no_lease_and_takes_no_progress(store):
    store.start(None, 1, MOMENT, topic="a")
    job = store.latest_of(topic="a")
    store.take_lease(job, "me", MOMENT, UNTIL)
    store.start(job, 2, LATER, topic="a")
    cancelled = store.get(job.id)
    assert (cancelled.state, cancelled.lease_owner, cancelled.lease_expires_at) == (CANCELLED, "", None)
    assert not store.save_progress(job, "me", LATER, UNTIL, done=1)


def test_a_release_frees_the_lease_for_another_owner_at_once(store):
    store.start(None, 1, MOMENT, topic="a")
    job = store.latest_of(topic="a")
    store.take_lease(job, "first", MOMENT, UNTIL)
    assert not store.release(job, "second", MOMENT)  # not its lease
    assert store.release(job, "first", MOMENT + datetime.timedelta(seconds=1))
    released = store.get(job.id)
    assert (released.state, released.lease_owner, released.lease_expires_at) == (RUNNING, "", None)
    assert store.take_lease(job, "second", MOMENT + datetime.timedelta(seconds=2), UNTIL)
