"""The kernel's activation-job thread over an in-memory store: the job of each active
version is started once per rule set, run only where that version is served and the
lease is free, a newer activation cancels the running job, progress is saved with a
renewed lease, an orderly stop releases it, a job completes only once its activation
has settled, and a failing step is counted and the next rule set still looked at."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from services.common.leased_jobs import (
    CANCELLED,
    COMPLETED,
    LEASE,
    RUNNING,
    ActivationJobs,
    settling_time,
)


@dataclasses.dataclass(frozen=True)
class Job:
    id: int
    rule_set: str
    version: int
    state: str = RUNNING
    lease_owner: str = ""
    lease_expires_at: datetime.datetime | None = None
    done: int = 0
    created_at: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )


class MemoryStore:
    """LeasedJobStore's conditions in memory, keyed by rule set."""

    def __init__(self):
        self.jobs: list[Job] = []
        self.saves: list[tuple[dict, datetime.datetime | None]] = []
        self.released: list[int] = []

    def latest(self, rule_set):
        return next((j for j in reversed(self.jobs) if j.rule_set == rule_set), None)

    def _put(self, job):
        self.jobs = [job if j.id == job.id else j for j in self.jobs]

    def _current(self, job):
        return next(j for j in self.jobs if j.id == job.id)

    def replace(self, previous, rule_set, version, moment):
        if previous is not None and self._current(previous).state == RUNNING:
            self._put(dataclasses.replace(self._current(previous), state=CANCELLED, lease_owner=""))
        self.jobs.append(Job(len(self.jobs) + 1, rule_set, version))
        return True

    def take_lease(self, job, owner, moment, until):
        current = self._current(job)
        free = current.lease_owner in ("", owner) or current.lease_expires_at < moment
        if current.state != RUNNING or not free:
            return False
        self._put(dataclasses.replace(current, lease_owner=owner, lease_expires_at=until))
        return True

    def save_progress(self, job, owner, moment, until, *, state=RUNNING, **progress):
        current = self._current(job)
        if current.state != RUNNING or current.lease_owner != owner:
            return False
        self.saves.append((dict(progress, state=state), until))
        owner = owner if state == RUNNING else ""
        self._put(
            dataclasses.replace(current, state=state, lease_owner=owner, lease_expires_at=until, **progress)
        )
        return True

    def release(self, job, owner, moment):
        current = self._current(job)
        if current.state != RUNNING or current.lease_owner != owner:
            return False
        self.released.append(job.id)
        self._put(dataclasses.replace(current, lease_owner="", lease_expires_at=None))
        return True


class Registry:
    def __init__(self, active: dict, serving: dict | None = None):
        self.active, self.serving = active, dict(active if serving is None else serving)
        self.store = self

    def active_versions(self):
        return dict(self.active)

    def serving_version(self, name):
        return self.serving.get(name, 0)


class Counting(ActivationJobs):
    """Runs a job in ``batches`` batches of one; ``during`` is called before each batch."""

    thread_name = "test-jobs"
    job_name = "test job"

    def __init__(self, store, registry, batches=2, during=None, settling=datetime.timedelta(0)):
        super().__init__(store, registry, ("a", "b"), poll_seconds=60, settling=settling)
        self.batches, self.during = batches, during or (lambda: None)
        self.counted: list[tuple[str, str]] = []
        self.runs: list[int] = []

    def latest(self, rule_set):
        return self.store.latest(rule_set)

    def replace(self, previous, rule_set, version, moment):
        return self.store.replace(previous, rule_set, version, moment)

    def count(self, rule_set, outcome):
        self.counted.append((rule_set, outcome))

    def run(self, job):
        self.runs.append(job.id)
        done = job.done
        while done < self.batches:
            self.during()
            done += 1
            if not self.checkpoint(job, done=done):
                return
        self.finish(job, job.rule_set, done=done)


def test_the_job_of_each_active_version_is_started_once_and_run_to_completion():
    store = MemoryStore()
    jobs = Counting(store, Registry({"a": 2}))
    jobs.step("a")
    jobs.step("a")
    jobs.step("b")  # no active version: no job
    assert [(j.rule_set, j.version, j.state, j.done, j.lease_owner) for j in store.jobs] == [
        ("a", 2, COMPLETED, 2, "")
    ]
    assert jobs.runs == [1]
    assert jobs.counted == [("a", "completed")]


def test_progress_renews_the_lease_and_the_end_clears_it():
    store = MemoryStore()
    Counting(store, Registry({"a": 1})).step("a")
    assert [(progress, until is not None) for progress, until in store.saves] == [
        ({"done": 1, "state": RUNNING}, True),
        ({"done": 2, "state": RUNNING}, True),
        ({"done": 2, "state": COMPLETED}, False),
    ]


def test_a_version_not_served_here_is_started_but_not_run():
    store = MemoryStore()
    jobs = Counting(store, Registry({"a": 2}, serving={"a": 1}))
    jobs.step("a")
    assert [(j.version, j.state, j.lease_owner) for j in store.jobs] == [(2, RUNNING, "")]
    assert jobs.runs == []


def test_a_newer_activation_cancels_the_running_job_and_runs_its_own():
    store = MemoryStore()
    Counting(store, Registry({"a": 1}, serving={"a": 0})).step("a")
    jobs = Counting(store, Registry({"a": 2}))
    jobs.step("a")
    assert [(j.version, j.state) for j in store.jobs] == [(1, CANCELLED), (2, COMPLETED)]
    assert jobs.counted == [("a", "cancelled"), ("a", "completed")]


def test_a_lease_held_elsewhere_is_left_alone_until_it_expires():
    store = MemoryStore()
    Counting(store, Registry({"a": 1}, serving={"a": 0})).step("a")
    holder = Job(
        1, "a", 1, lease_owner="elsewhere", lease_expires_at=datetime.datetime.now(datetime.UTC) + LEASE
    )
    store._put(holder)
    jobs = Counting(store, Registry({"a": 1}))
    jobs.step("a")
    assert jobs.runs == []
    store._put(
        dataclasses.replace(holder, lease_expires_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    )
    jobs.step("a")
    assert (jobs.runs, store.latest("a").state) == ([1], COMPLETED)


def test_an_orderly_stop_releases_the_lease_after_the_batch_in_hand():
    store = MemoryStore()
    jobs = Counting(store, Registry({"a": 1}), batches=5)
    jobs.during = jobs._stop.set
    jobs.step("a")
    job = store.latest("a")
    assert (job.state, job.done, job.lease_owner) == (RUNNING, 1, "")
    assert store.released == [1]
    other = Counting(store, Registry({"a": 1}), batches=5)
    other.step("a")  # continues after the saved batch, at once
    assert (store.latest("a").state, store.latest("a").done) == (COMPLETED, 5)


def test_an_orderly_stop_logs_the_lease_it_gave_back(caplog):
    jobs = Counting(MemoryStore(), Registry({"a": 1}), batches=5)
    jobs.during = jobs._stop.set
    with caplog.at_level("INFO", logger="retailcare"):
        jobs.step("a")
    released = [r for r in caplog.records if r.getMessage() == "test job lease released"]
    assert [(r.version, r.done) for r in released] == [(1, 1)]


def test_a_job_completes_only_once_its_activation_has_settled(caplog):
    store = MemoryStore()
    jobs = Counting(store, Registry({"a": 1}), settling=datetime.timedelta(hours=1))
    jobs.step("a")
    jobs.step("a")  # the last pass again at the next poll: still within the settling time
    job = store.latest("a")
    assert (job.state, job.done, job.lease_owner, jobs.counted) == (RUNNING, 2, jobs.owner, [])
    store._put(dataclasses.replace(job, created_at=job.created_at - datetime.timedelta(hours=1)))
    with caplog.at_level("INFO", logger="retailcare"):
        jobs.step("a")
    assert (store.latest("a").state, store.latest("a").lease_owner, jobs.counted) == (
        COMPLETED,
        "",
        [("a", "completed")],
    )
    completed = [r for r in caplog.records if r.getMessage() == "test job completed"]
    assert [(r.rule_set, r.version, r.done) for r in completed] == [("a", 1, 2)]


def test_the_settling_time_is_the_setting_and_two_polls():
    assert settling_time(5, 2) == datetime.timedelta(seconds=9)
    assert Counting(MemoryStore(), Registry({}), settling=None).settling == datetime.timedelta(seconds=125)


def test_a_job_cancelled_during_a_run_stops_saving():
    store = MemoryStore()
    jobs = Counting(store, Registry({"a": 1}), batches=5)

    def cancel():
        if store.latest("a").done == 2:
            store._put(dataclasses.replace(store.latest("a"), state=CANCELLED, lease_owner=""))

    jobs.during = cancel
    jobs.step("a")
    assert (store.latest("a").state, store.latest("a").done) == (CANCELLED, 2)
    assert ("a", "completed") not in jobs.counted


def test_a_failing_step_is_logged_and_counted_and_the_other_rule_sets_still_run(caplog):
    class Failing(Counting):
        def latest(self, rule_set):
            if rule_set == "a":
                raise RuntimeError("database unreachable")
            return super().latest(rule_set)

    store = MemoryStore()
    jobs = Failing(store, Registry({"a": 1, "b": 1}))
    jobs.poll_seconds = 0
    stopping = jobs._stop.is_set
    calls = []

    def wait(timeout):  # one pass of the loop, then stop
        calls.append(timeout)
        return len(calls) > 1 or stopping()

    jobs._stop.wait = wait
    with caplog.at_level("ERROR", logger="retailcare"):
        jobs._loop()
    assert ("a", "failed") in jobs.counted
    assert [(j.rule_set, j.state) for j in store.jobs] == [("b", COMPLETED)]
    assert [r.getMessage() for r in caplog.records] == ["test job step failed"]


def test_the_thread_stops_when_asked():
    jobs = Counting(MemoryStore(), Registry({}))
    jobs.start()
    jobs.stop()
    assert jobs.stopping and not jobs._thread.is_alive()


@pytest.mark.parametrize("name", ["latest", "count", "run"])
def test_what_the_service_supplies_is_not_guessed(name):
    jobs = ActivationJobs(MemoryStore(), Registry({}), ("a",), poll_seconds=60)
    with pytest.raises(NotImplementedError):
        getattr(jobs, name)(*(("a", "x") if name == "count" else ("a",)))
