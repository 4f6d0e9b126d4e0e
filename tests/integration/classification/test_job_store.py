"""The reclassification jobs' table on SQLite and PostgreSQL: replicas starting the job of
the same activation store it once; a lease is held by one replica until it expires; a
replica that lost its lease (or whose job was cancelled) can no longer save progress."""

import datetime

import pytest

from services.classification.job_store import JobStore
from tests.support.databases import migrated_engine

GRADING = "customer-grading"
MOMENT = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.UTC)
LATER = MOMENT + datetime.timedelta(minutes=1)


@pytest.fixture
def store(db_url):
    with migrated_engine(db_url, "classification") as engine:
        yield JobStore(engine)


def test_the_successor_of_a_job_is_started_once(store):
    assert store.replace(None, GRADING, 1, MOMENT)
    assert not store.replace(None, GRADING, 1, MOMENT)  # another replica, same moment
    first = store.latest(GRADING)

    assert store.replace(first, GRADING, 2, LATER)
    assert not store.replace(first, GRADING, 2, LATER)

    assert [(job.version, job.state) for job in store.list(GRADING, 10)] == [(2, "running"), (1, "cancelled")]


def test_a_lease_is_held_until_it_expires_and_then_taken_over(store):
    store.replace(None, GRADING, 1, MOMENT)
    job = store.latest(GRADING)
    expiry = MOMENT + datetime.timedelta(seconds=30)

    assert store.take_lease(job, "replica-a", MOMENT, expiry)
    assert not store.take_lease(job, "replica-b", MOMENT, MOMENT + datetime.timedelta(seconds=30))
    assert store.save_progress(job, "replica-a", MOMENT, expiry, done=2, last_customer_id=2)

    assert store.take_lease(job, "replica-b", LATER, LATER + datetime.timedelta(seconds=30))
    assert not store.save_progress(job, "replica-a", LATER, expiry, done=4, last_customer_id=4)
    taken = store.get(job.id)
    assert (taken.lease_owner, taken.done, taken.last_customer_id) == ("replica-b", 2, 2)


def test_a_cancelled_job_takes_no_more_progress(store):
    store.replace(None, GRADING, 1, MOMENT)
    job = store.latest(GRADING)
    store.take_lease(job, "replica-a", MOMENT, LATER)
    store.replace(job, GRADING, 2, MOMENT)

    assert not store.save_progress(job, "replica-a", MOMENT, LATER, done=1, last_customer_id=1)
    assert not store.take_lease(job, "replica-a", MOMENT, LATER)
    assert store.get(job.id).state == "cancelled"
