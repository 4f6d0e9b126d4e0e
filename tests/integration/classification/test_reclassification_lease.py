"""The reclassification job thread over the real jobs' table on SQLite and PostgreSQL: a
process stopping in an orderly way saves the batch in hand and releases its lease, so
another replica continues after the last saved customer at once, not after the expiry."""

import datetime
import threading
import time
from types import SimpleNamespace

import pytest

from services.classification.job_store import JobStore
from services.classification.reclassification_job import ReclassificationJobs
from services.classification.service_layer import ReclassifyProgress
from tests.support.databases import migrated_engine

GRADING = "customer-grading"
DEADLINE = 60
NO_SETTLING = datetime.timedelta(0)  # a job may complete at once (stragglers: a test of its own)


@pytest.fixture
def store(db_url):
    with migrated_engine(db_url, "classification") as engine:
        yield JobStore(engine)


def _registry(version: int):
    """Version ``version`` of the grading is active and serving; no entitlements version."""
    return SimpleNamespace(
        store=SimpleNamespace(active_versions=lambda: {GRADING: version}),
        serving_version=lambda name: version if name == GRADING else 0,
    )


class Batches:
    """Reclassification in batches of two over customers 1..total; ``hold`` (an event) is
    awaited after the first batch, as a long batch in hand when the stop comes."""

    def __init__(self, total: int, hold: threading.Event | None = None):
        self.total, self.hold = total, hold
        self.calls: list[int] = []
        self.first_batch_done = threading.Event()

    def reclassify(self, query, after_id=0, batch_size=2, **_):
        self.calls.append(after_id)
        progress = ReclassifyProgress(total=self.total)
        for last in range(after_id + 2, self.total + 1, 2):
            progress.processed += 2
            progress.last_id = last
            yield ReclassifyProgress(**vars(progress))
            self.first_batch_done.set()
            if self.hold is not None:
                self.hold.wait(DEADLINE)

    def reclassify_stragglers(self, batch_size, rule_set, version=0):
        return iter(())


def _wait(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def test_an_orderly_stop_releases_the_lease_and_another_replica_continues_at_once(store):
    first = ReclassificationJobs(
        store, _registry(2), None, batch_size=2, poll_seconds=0.05, settling=NO_SETTLING
    )
    held = Batches(total=10)
    first.use_cases = held
    held.hold = first._stop  # the second batch is in hand until the stop is asked for
    first.start()
    _wait(held.first_batch_done.is_set, "the first batch saved")
    running = store.latest(GRADING)
    assert (running.lease_owner, running.done) == (first.owner, 2)
    assert running.lease_expires_at is not None

    first.stop()

    stopped = store.latest(GRADING)
    # The batch in hand was saved, then the lease given up.
    assert (stopped.state, stopped.done, stopped.last_customer_id) == ("running", 4, 4)
    assert (stopped.lease_owner, stopped.lease_expires_at) == ("", None)

    rest = Batches(total=10)
    second = ReclassificationJobs(
        store, _registry(2), rest, batch_size=2, poll_seconds=0.05, settling=NO_SETTLING
    )
    second.step(GRADING)  # no waiting for the 30-second expiry of the stopped replica's lease

    done = store.latest(GRADING)
    assert rest.calls == [4]
    assert (done.state, done.done, done.last_customer_id, done.lease_owner) == ("completed", 10, 10, "")


def test_a_lease_not_released_keeps_the_job_from_another_replica(store):
    """Without the release (a killed process), the lease holds until it expires."""
    first = ReclassificationJobs(
        store, _registry(2), None, batch_size=2, poll_seconds=0.05, settling=NO_SETTLING
    )
    first.use_cases = Batches(total=10, hold=threading.Event())  # never released
    holder = threading.Thread(target=first.step, args=(GRADING,), daemon=True)
    holder.start()
    _wait(first.use_cases.first_batch_done.is_set, "the first batch saved")

    rest = Batches(total=10)
    second = ReclassificationJobs(
        store, _registry(2), rest, batch_size=2, poll_seconds=0.05, settling=NO_SETTLING
    )
    second.step(GRADING)

    assert rest.calls == []
    assert store.latest(GRADING).lease_owner == first.owner
    first.use_cases.hold.set()
    holder.join(DEADLINE)


def test_a_stop_while_the_job_settles_releases_its_lease(store):
    """Swept, but its activation not settled yet: the job waits between polls holding its
    lease; an orderly stop gives it up."""
    settling = ReclassificationJobs(
        store,
        _registry(2),
        Batches(total=4),
        batch_size=2,
        poll_seconds=0.05,
        settling=datetime.timedelta(minutes=5),
    )
    settling.step(GRADING)
    waiting = store.latest(GRADING)
    assert (waiting.state, waiting.done, waiting.lease_owner) == ("running", 4, settling.owner)

    settling.stop()

    released = store.latest(GRADING)
    assert (released.state, released.lease_owner, released.lease_expires_at) == ("running", "", None)


class Stragglers(Batches):
    """The sweep as Batches; every last pass finds four customers on the old versions in
    two batches (its reports count the whole pass so far): two reclassified, and one that
    cannot be (``failing``), which stays behind and is found again by the next pass."""

    def __init__(self, total: int):
        super().__init__(total)
        self.failing = True

    def reclassify_stragglers(self, batch_size, rule_set, version=0):
        failed = 1 if self.failing else 0
        yield ReclassifyProgress(total=4, processed=2, changed=1, failed=failed, last_id=2)
        yield ReclassifyProgress(total=4, processed=4, changed=2, failed=failed, last_id=4)


def test_the_last_pass_counts_its_whole_pass_once_and_a_failing_customer_once(store):
    use_cases = Stragglers(total=4)
    jobs = ReclassificationJobs(
        store, _registry(2), use_cases, batch_size=2, poll_seconds=60, settling=datetime.timedelta(hours=1)
    )
    for polls in (1, 2, 3):
        jobs.step(GRADING)
        job = store.latest(GRADING)
        assert (job.state, job.done, job.changed, job.failed) == ("running", 4, 2 * polls, 1)
    use_cases.failing = False
    jobs.settling = NO_SETTLING
    jobs.step(GRADING)
    job = store.latest(GRADING)
    assert (job.state, job.done, job.changed, job.failed) == ("completed", 4, 8, 0)


class LastPasses(Batches):
    """No customer left for the main pass; the last passes asked for are recorded."""

    def __init__(self):
        super().__init__(total=0)
        self.last_passes: list[str] = []

    def reclassify_stragglers(self, batch_size, rule_set, version=0):
        self.last_passes.append(rule_set)
        return iter(())


def test_a_job_whose_version_no_longer_serves_leaves_the_last_pass_to_the_newer_job(store):
    """A job still settling when the next version is loaded must not make its last pass:
    it would reclassify for the newer version and count those changes as its own, leaving
    the newer version's job to report nothing changed (seen: a publish a few seconds after
    start-up reported `changed 0`). It stays running until the newer job replaces it."""
    moment = datetime.datetime.now(datetime.UTC)
    assert store.replace(None, GRADING, 1, moment)
    superseded = store.latest(GRADING)
    jobs = ReclassificationJobs(
        store, _registry(2), None, batch_size=2, poll_seconds=60, settling=NO_SETTLING
    )
    jobs.use_cases = LastPasses()
    assert store.take_lease(superseded, jobs.owner, moment, moment + datetime.timedelta(minutes=1))
    jobs.run(superseded)
    assert jobs.use_cases.last_passes == []
    assert store.latest(GRADING).state == "running"

    assert store.latest(GRADING).lease_expires_at is None  # given back: the newer job need not wait

    jobs.registry = _registry(1)  # the same job while its version still serves: the last pass runs
    assert store.take_lease(store.latest(GRADING), jobs.owner, moment, moment + datetime.timedelta(minutes=1))
    jobs.run(store.latest(GRADING))
    assert jobs.use_cases.last_passes == [GRADING]
    assert store.latest(GRADING).state == "completed"


def test_a_job_whose_version_stops_serving_mid_sweep_stops_after_the_batch_in_hand(store):
    """The sweep by id of a superseded job stops too: its batches would be decided on the
    newer version and counted as its own. The batch in hand is saved, the lease given back."""
    moment = datetime.datetime.now(datetime.UTC)
    assert store.replace(None, GRADING, 1, moment)
    jobs = ReclassificationJobs(
        store, _registry(2), None, batch_size=2, poll_seconds=60, settling=NO_SETTLING
    )
    jobs.use_cases = batches = Batches(total=10)
    assert store.take_lease(store.latest(GRADING), jobs.owner, moment, moment + datetime.timedelta(minutes=1))
    jobs.run(store.latest(GRADING))
    job = store.latest(GRADING)
    assert (job.state, job.done, job.last_customer_id, job.lease_expires_at) == ("running", 2, 2, None)
    assert batches.calls == [0]
