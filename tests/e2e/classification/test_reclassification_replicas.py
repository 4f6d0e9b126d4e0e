"""Two replicas of classification, each its own process, sharing one database (SQLite and
PostgreSQL): a published version's reclassification job runs on one of them; that one is
killed mid-job (SIGKILL: no orderly stop, its lease is left to expire; the test moves the
expiry back rather than wait 30 s); the other takes the job over after the expiry and
continues after the last saved customer, and every stored customer ends on the new
version. Meanwhile, reads through the survivor say which customers the job has not
reached yet. Stopped in an orderly way (SIGTERM) instead, the holder releases the lease
as it stops, and the other replica continues."""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb

from services.classification import domain
from services.classification.job_store import JobStore, jobs
from services.classification.storage import customer_row, customers
from services.common.database import create_database_engine
from services.common.times import now
from tests.support.replicas import Replica, expire_lease, replica_starter
from tests.support.rule_samples import default_source

GRADING, ENTITLEMENTS = "customer-grading", "service-entitlements"
CUSTOMERS = 3000  # at 10 a batch the job runs for seconds: caught after its first batch, well before its end
BATCH = 10  # small batches: the job runs for many of them, long enough to be caught mid-way
DEADLINE = 240  # seconds: a loaded machine may take long over the jobs


@pytest.fixture
def replicas(tmp_path, db_url):
    with replica_starter(
        tmp_path,
        db_url,
        "classification",
        classification_pb2_grpc.ClassificationServiceStub,
        rules_poll_seconds="0.2",
        reclassification_batch_size=str(BATCH),
    ) as start:
        yield start


@pytest.fixture
def engine(db_url):
    engine = create_database_engine(sa.engine.make_url(db_url))
    yield engine
    engine.dispose()


def _insert_customers(engine, count: int = CUSTOMERS) -> None:
    """Customers as an earlier system's data would arrive: stored, not yet classified."""
    moment = now()
    rows = []
    for index in range(count):
        inputs = domain.normalised_inputs(
            {
                "licence_number": f"R{index:06d}",
                "name": f"Shop {index}",
                "business_format": ("grocery", "supermarket", "convenience_store")[index % 3],
                "market_type": ("urban", "rural")[index % 2],
                "monthly_sales_cartons": float(index % 700),
            }
        )
        rows.append(customer_row(domain.Customer(inputs=inputs, created_at=moment, updated_at=moment)))
    with engine.begin() as connection:
        connection.execute(sa.insert(customers), rows)


def _wait(condition, what: str, deadline: float = DEADLINE):
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {deadline} s: {what}")


def _not_on(engine, version: int) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(customers).where(customers.c.grading_version != version)
        ).scalar_one()


def _menu(replica: Replica, licence: str) -> pb.GetServiceMenuResponse:
    return replica.stub.GetServiceMenu(pb.GetServiceMenuRequest(licence_number=licence), timeout=30)


def test_the_job_survives_the_kill_of_its_replica_and_every_customer_ends_on_the_new_version(
    replicas, engine
):
    first = replicas("first")  # migrates; its start-up jobs run over no customers
    running, holder, survivor = _publish_and_catch_the_job(first, replicas("second"), engine, CUSTOMERS)
    store = JobStore(engine)
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(30)

    stopped = store.get(running.id)
    assert stopped.state == "running" and 0 < stopped.done < CUSTOMERS, stopped  # killed mid-job
    assert stopped.lease_owner == running.lease_owner  # nobody released it
    # Until the job reaches a customer, the survivor says a newer version is active.
    _wait(lambda: _menu(survivor, "R000000").decided_on.active_grading_version == 2, "version 2 loaded")
    last = _menu(survivor, f"R{CUSTOMERS - 1:06d}")
    assert (last.decided_on.grading_version, last.decided_on.newer_version_active) == (
        0,
        True,
    )  # unclassified
    reached = _menu(survivor, "R000000")
    assert (reached.decided_on.grading_version, reached.decided_on.newer_version_active) == (2, False)
    assert store.get(running.id).lease_owner == running.lease_owner  # the survivor waits for the expiry

    expire_lease(engine, jobs, running.id)  # the 30 s of the lease are over
    done = _wait(
        lambda: (job := store.get(running.id)) and job.state == "completed" and job,
        "the survivor completing the job after the lease expired",
    )

    assert store.latest(GRADING).id == running.id  # the same job, taken over, not a new one
    assert (done.done, done.total, done.failed, done.lease_owner) == (CUSTOMERS, CUSTOMERS, 0, "")
    assert _not_on(engine, 2) == 0
    with engine.connect() as connection:
        entitlements = set(
            connection.execute(sa.select(customers.c.entitlements_version).distinct()).scalars()
        )
    assert entitlements == {1}
    assert _menu(survivor, f"R{CUSTOMERS - 1:06d}").decided_on.newer_version_active is False
    assert survivor.process.poll() is None


def _publish_and_catch_the_job(first: Replica, second: Replica, engine, count: int):
    """Starts the job of grading version 2 over ``count`` new customers; its job row once
    under way, the replica holding it, and the other."""
    store = JobStore(engine)
    _wait(
        lambda: all(
            (job := store.latest(name)) and job.state == "completed" for name in (GRADING, ENTITLEMENTS)
        ),
        "the start-up jobs completed",
    )
    _insert_customers(engine, count)
    source = default_source(GRADING) + "\n# revision 2\n"
    request = rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment="revision 2")
    assert first.admin.PublishRuleSet(request, timeout=30).version.version == 2
    running = _wait(
        lambda: (
            (job := store.latest(GRADING))
            and job.version == 2
            and job.state == "running"
            and job.lease_owner
            and job.done > 0
            and job
        ),
        "the job of version 2 under way",
    )
    holder = {r.process.pid: r for r in (first, second)}[int(running.lease_owner.split("-")[-2])]
    return running, holder, second if holder is first else first


def test_an_orderly_stop_of_the_holder_releases_the_lease_for_the_other_replica(replicas, engine):
    count = 2 * CUSTOMERS  # long enough to be under way still when the stop reaches the job thread
    running, holder, survivor = _publish_and_catch_the_job(
        replicas("first"), replicas("second"), engine, count
    )
    store = JobStore(engine)

    holder.process.send_signal(signal.SIGTERM)
    assert holder.process.wait(60) == 0

    handed = store.get(running.id)
    assert handed.lease_owner != running.lease_owner, handed  # released (or taken over since)
    assert "reclassification job lease released" in holder.log_path.read_text()
    done = _wait(
        lambda: (job := store.get(running.id)) and job.state == "completed" and job, "the job completed"
    )
    assert (done.done, done.total, done.failed) == (count, count, 0)
    assert _not_on(engine, 2) == 0
    assert survivor.process.poll() is None
