"""Automatic reclassification after an activation, through a real classification server on
SQLite and PostgreSQL: a published version reaches every stored customer without a call;
a job whose lease holder died is resumed after its last saved customer; a job of an older
version still running is cancelled and replaced by the newer version's."""

import datetime
import time

import grpc
import pytest
import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc
from retailcare.rules.v1 import rule_sets_pb2 as rules_pb
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.classification import metrics, storage
from services.classification.job_store import JobStore, jobs
from services.common.database import create_database_engine
from services.common.times import now
from services.composition import main, service_definition
from tests.e2e.classification.conftest import customer
from tests.support.replicas import Replica
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, running, settings_for

GRADING = "customer-grading"
LICENCES = [f"L-{n}" for n in range(7)]


class Server:
    def __init__(self, tmp_path, db_url, batch_size: int, **values):
        settings = settings_for(
            tmp_path,
            **{
                "classification_database_url": db_url,
                "rules_poll_seconds": 0.1,
                "reclassification_batch_size": batch_size,
                **values,
            },
        )
        self._running = running(service_definition("classification"), settings)
        self.service = self._running.__enter__()
        self._channel = channel_to(self.service)
        channel = self._channel.__enter__()
        self.stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        self.admin = rule_sets_pb2_grpc.RuleSetAdminStub(channel)

    def close(self):
        self._channel.__exit__(None, None, None)
        self._running.__exit__(None, None, None)

    def publish_grading(self, comment: str) -> int:
        source = default_source(GRADING) + f"\n# {comment}\n"
        request = rules_pb.PublishRuleSetRequest(source=source, author="analyst", comment=comment)
        return self.admin.PublishRuleSet(request, timeout=10).version.version

    def classifications(self) -> dict[str, pb.Classification]:
        return {
            licence: self.stub.GetCustomer(
                pb.GetCustomerRequest(licence_number=licence), timeout=10
            ).customer.classification
            for licence in LICENCES
        }

    def grading_versions(self) -> dict[str, int]:
        return {licence: c.grading_version for licence, c in self.classifications().items()}


@pytest.fixture
def server(tmp_path, db_url):
    opened = []

    def start(batch_size: int, **values) -> Server:
        started = Server(tmp_path, db_url, batch_size, **values)
        opened.append(started)
        return started

    yield start
    for started in opened:
        started.close()


@pytest.fixture
def store(db_url):
    engine = create_database_engine(sa.engine.make_url(db_url))
    yield JobStore(engine)
    engine.dispose()


def _add_customers(server: Server) -> None:
    for licence in LICENCES:
        server.stub.CreateCustomer(pb.CreateCustomerRequest(customer=customer(licence)), timeout=10)


def _wait_for_job(store: JobStore, version: int, state: str = "completed"):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = store.latest(GRADING)
        if job is not None and job.version == version and job.state == state:
            return job
        time.sleep(0.1)
    raise AssertionError(f"no {state} job of {GRADING} version {version}: {store.latest(GRADING)}")


def _count(outcome: str) -> float:
    return metrics.JOBS.labels(GRADING, outcome)._value.get()


def test_a_published_version_reaches_every_stored_customer(server, store):
    running_server = server(batch_size=2)
    _wait_for_job(store, 1)  # the first start's job, over no customers yet
    _add_customers(running_server)
    completed = _count("completed")

    assert running_server.publish_grading("revision 2") == 2

    _wait_for_job(store, 2)
    job = running_server.stub.GetReclassificationJob(pb.GetReclassificationJobRequest(rule_set=GRADING)).job
    assert (job.rule_set, job.version, job.state) == (GRADING, 2, "completed")
    assert (job.total, job.done, job.changed, job.failed, job.skipped, job.lease_owner) == (7, 7, 0, 0, 0, "")
    assert set(running_server.grading_versions().values()) == {2}
    assert _count("completed") == completed + 1
    listed = running_server.stub.ListReclassificationJobs(
        pb.ListReclassificationJobsRequest(rule_set=GRADING)
    ).jobs
    assert [(j.version, j.state) for j in listed] == [(2, "completed"), (1, "completed")]
    both = running_server.stub.ListReclassificationJobs(pb.ListReclassificationJobsRequest()).jobs
    assert {j.rule_set for j in both} == {GRADING, "service-entitlements"}


def test_job_reads_refuse_an_unknown_rule_set(server):
    stub = server(batch_size=2).stub
    for call, request in (
        (stub.GetReclassificationJob, pb.GetReclassificationJobRequest(rule_set="no-such-set")),
        (stub.ListReclassificationJobs, pb.ListReclassificationJobsRequest(rule_set="no-such-set")),
        (stub.ListReclassificationJobs, pb.ListReclassificationJobsRequest(page_size=-1)),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            call(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _customer_ids(store: JobStore) -> list[int]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(sa.select(storage.customers.c.id).order_by(storage.customers.c.id)).scalars()
        )


def _insert_job(store: JobStore, version: int, rule_set: str = GRADING, **values) -> None:
    moment = now()
    row = dict(
        rule_set=rule_set, version=version, replaces=0, state="running", created_at=moment, updated_at=moment
    )
    row.update(values)
    with store.engine.begin() as connection:
        connection.execute(sa.insert(jobs).values(**row))


def test_a_job_whose_lease_holder_died_is_resumed_after_its_last_customer(server, store):
    before = server(batch_size=0)  # no automatic jobs: the customers stay on version 1
    _add_customers(before)
    before.publish_grading("revision 2")
    before.close()
    ids = _customer_ids(store)
    _insert_job(
        store,
        2,
        lease_owner="a replica that died",
        lease_expires_at=now() - datetime.timedelta(minutes=1),
        total=7,
        done=3,
        last_customer_id=ids[2],
    )
    # Its entitlements version has had its job (which would decide every customer again).
    _insert_job(store, 1, rule_set="service-entitlements", state="completed")

    after = server(batch_size=2)

    job = _wait_for_job(store, 2)
    assert (job.total, job.done, job.last_customer_id) == (7, 7, ids[-1])
    # The sweep went on after the dead holder's last customer. The three it had taken as done
    # but left on version 1 (as a replica that had not loaded version 2 would) came after, in
    # the last pass over the customers not on the serving versions.
    classified = after.classifications()
    assert {c.grading_version for c in classified.values()} == {2}
    moments = {licence: c.classified_at.ToDatetime() for licence, c in classified.items()}
    assert max(moments[licence] for licence in LICENCES[3:]) <= min(
        moments[licence] for licence in LICENCES[:3]
    )


def test_a_customer_written_on_the_old_version_by_a_lagging_replica_is_caught_by_the_last_pass(
    server, store, tmp_path, db_url
):
    """A replica that has not loaded the activation yet classifies a customer after the
    job's sweep passed it: the job's last pass, until it settles, decides it again."""
    current = server(batch_size=2, job_settling_seconds=8)
    _add_customers(current)
    # Another process on the same database: it loaded version 1 and will not look again.
    lagging = Replica(
        tmp_path,
        db_url,
        "lagging",
        "classification",
        classification_pb2_grpc.ClassificationServiceStub,
        rules_poll_seconds="3600",
        reclassification_batch_size="0",
    )
    try:
        current.publish_grading("revision 2")
        deadline = time.monotonic() + 60
        while set(current.grading_versions().values()) != {2}:  # the sweep has passed everyone
            assert time.monotonic() < deadline, current.grading_versions()
            time.sleep(0.05)
        assert store.latest(GRADING).state == "running"  # still settling
        request = pb.ClassifyCustomerRequest(licence_number=LICENCES[4])
        assert lagging.stub.ClassifyCustomer(request, timeout=10).customer.classification.grading_version == 1
    finally:
        lagging.stop()

    job = _wait_for_job(store, 2)
    assert current.grading_versions() == dict.fromkeys(LICENCES, 2)
    assert job.done == len(LICENCES)


def test_a_job_with_a_live_lease_is_left_to_its_holder(server, store):
    before = server(batch_size=0)
    _add_customers(before)
    before.publish_grading("revision 2")
    before.close()
    _insert_job(
        store, 2, lease_owner="another replica", lease_expires_at=now() + datetime.timedelta(minutes=5)
    )
    _insert_job(store, 1, rule_set="service-entitlements", state="completed")

    after = server(batch_size=2)
    time.sleep(1)  # several polls of the job thread

    assert store.latest(GRADING).state == "running"
    assert set(after.grading_versions().values()) == {1}


def test_a_newer_version_cancels_and_replaces_the_running_job(server, store):
    before = server(batch_size=0)
    _add_customers(before)
    before.publish_grading("revision 2")
    before.publish_grading("revision 3")
    before.close()
    _insert_job(
        store, 2, lease_owner="another replica", lease_expires_at=now() + datetime.timedelta(minutes=5)
    )
    cancelled = _count("cancelled")

    after = server(batch_size=2)

    job = _wait_for_job(store, 3)
    assert job.done == 7
    assert [j.state for j in store.list(GRADING, 10)] == ["completed", "cancelled"]
    assert set(after.grading_versions().values()) == {3}
    assert _count("cancelled") == cancelled + 1


def test_the_status_command_prints_each_rule_sets_job(server, store, monkeypatch, capsys):
    running_server = server(batch_size=2)
    _add_customers(running_server)
    running_server.publish_grading("revision 2")
    _wait_for_job(store, 2)
    monkeypatch.setenv(
        "RETAILCARE_CLASSIFICATION_GRPC_PORT",
        str(running_server.service.settings.grpc_port("classification")),
    )

    assert main(["customers", "reclassify-status", "--watch", "--interval", "0.1"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith(f"{GRADING} v2 completed [{'#' * 30}] 7/7  changed 0")
    assert lines[-1].startswith("service-entitlements v1 completed")
