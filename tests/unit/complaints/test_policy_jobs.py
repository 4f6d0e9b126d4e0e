"""The policy follow job's runner over an in-memory job store: one job per activation, run
only where the version is loaded and the lease is free, resumed after the last saved
complaint, a last pass over late filings, and giving way when cancelled, taken over,
stopped or swapped."""

from __future__ import annotations

import dataclasses
import datetime

from services.common.times import now
from services.complaints.policy_jobs import CANCELLED, COMPLETED, RUNNING, FollowJob, PolicyFollowJobs
from services.complaints.service_layer import FollowBatch


class MemoryJobs:
    """FollowJobStore's behaviour in memory (each change conditional, as the SQL is)."""

    def __init__(self):
        self.jobs: list[FollowJob] = []
        self.saved: list[dict] = []

    def latest(self):
        return self.jobs[-1] if self.jobs else None

    def _put(self, job):
        self.jobs = [job if j.id == job.id else j for j in self.jobs]

    def replace(self, previous, version, moment):
        if previous is not None and previous.state == RUNNING:
            self._put(dataclasses.replace(previous, state=CANCELLED, lease_owner=""))
        self.jobs.append(
            FollowJob(len(self.jobs) + 1, version, RUNNING, "", None, 0, 0, 0, 0, "", False, moment, moment)
        )
        return True

    def _current(self, job):
        return next(j for j in self.jobs if j.id == job.id)

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
        self.saved.append(dict(progress, state=state))
        self._put(
            dataclasses.replace(
                current,
                state=state,
                lease_owner=owner if state == RUNNING else "",
                lease_expires_at=until,
                **progress,
            )
        )
        return True

    def release(self, job, owner, moment):
        current = self._current(job)
        if current.state != RUNNING or current.lease_owner != owner:
            return False
        self._put(dataclasses.replace(current, lease_owner="", lease_expires_at=None))
        return True


class Registry:
    def __init__(self, active: int, serving: int | None = None):
        self.active, self.serving = active, active if serving is None else serving
        self.store = self

    def active_versions(self):
        return {"complaint-policy": self.active}

    def serving_version(self, name):
        assert name == "complaint-policy"
        return self.serving


class UseCases:
    """Open complaints c-01 .. c-NN; each follows (and moves) unless listed in ``keep``."""

    def __init__(self, count: int = 5, late: tuple[str, ...] = (), keep: tuple[str, ...] = ()):
        self.ids = [f"c-{n:02d}" for n in range(1, count + 1)]
        self.late, self.keep = late, keep
        self.calls: list[tuple[int, str, int, bool]] = []
        self.hook = None

    def follow_policy(self, version, after_id, limit, created_since=None):
        self.calls.append((version, after_id, limit, created_since is not None))
        if self.hook:
            self.hook()
        pool = self.late if created_since is not None else self.ids
        batch = [i for i in sorted(pool) if i > after_id][:limit]
        if not batch:
            return FollowBatch(last_id=after_id)
        followed = [i for i in batch if i not in self.keep]
        return FollowBatch(len(batch), len(followed), len(followed), 0, batch[-1])


def runner(store, registry, use_cases, batch_size=2, settling=datetime.timedelta(0)) -> PolicyFollowJobs:
    """A runner whose jobs may complete at once (``settling``: see the test of late filings)."""
    return PolicyFollowJobs(
        store, registry, use_cases, poll_seconds=60, batch_size=batch_size, settling=settling
    )


def test_an_activation_starts_its_job_and_runs_it_batch_by_batch_then_a_last_pass():
    store, use_cases = MemoryJobs(), UseCases(count=5, late=("c-03",), keep=("c-02",))
    runner(store, Registry(2), use_cases).step()
    job = store.latest()
    assert (job.version, job.state, job.done, job.followed, job.lease_owner) == (2, COMPLETED, 6, 5, "")
    assert [(after, last_pass) for _, after, _, last_pass in use_cases.calls] == [
        ("", False),
        ("c-02", False),
        ("c-04", False),
        ("c-05", False),  # the sweep by id is done
        ("", True),  # the last pass, from the first id
        ("c-03", True),
    ]
    assert all(version == 2 and limit == 2 for version, _, limit, _ in use_cases.calls)


def test_the_job_of_a_version_is_started_once():
    store = MemoryJobs()
    runner(store, Registry(2), UseCases()).step()
    runner(store, Registry(2), UseCases()).step()
    assert [(j.version, j.state) for j in store.jobs] == [(2, COMPLETED)]


def test_a_newer_activation_cancels_the_running_job_and_starts_its_own():
    store = MemoryJobs()
    runner(store, Registry(2, serving=1), UseCases()).step()  # not loaded here: started, not run
    assert [(j.version, j.state) for j in store.jobs] == [(2, RUNNING)]
    runner(store, Registry(3), UseCases()).step()
    assert [(j.version, j.state) for j in store.jobs] == [(2, CANCELLED), (3, COMPLETED)]


def test_a_lease_held_elsewhere_is_left_alone_until_it_expires():
    store, use_cases = MemoryJobs(), UseCases()
    store.replace(None, 2, now())
    store._put(
        dataclasses.replace(
            store.latest(), lease_owner="elsewhere", lease_expires_at=now() + datetime.timedelta(minutes=1)
        )
    )
    runner(store, Registry(2), use_cases).step()
    assert use_cases.calls == [] and store.latest().state == RUNNING
    store._put(dataclasses.replace(store.latest(), lease_expires_at=now() - datetime.timedelta(seconds=1)))
    runner(store, Registry(2), use_cases).step()
    assert store.latest().state == COMPLETED


def test_a_job_taken_over_continues_after_the_last_saved_complaint_with_its_counts():
    store, use_cases = MemoryJobs(), UseCases(count=5)
    store.replace(None, 2, now())
    store._put(dataclasses.replace(store.latest(), done=3, followed=3, moved=3, last_complaint_id="c-03"))
    runner(store, Registry(2), use_cases).step()
    assert use_cases.calls[0][1] == "c-03"
    job = store.latest()
    assert (job.state, job.done, job.followed) == (COMPLETED, 5, 5)


def test_a_job_cancelled_meanwhile_stops_after_the_batch_in_hand():
    store, use_cases = MemoryJobs(), UseCases(count=6)
    jobs = runner(store, Registry(2), use_cases)

    def cancel():
        if len(use_cases.calls) == 2:
            store._put(dataclasses.replace(store.latest(), state=CANCELLED))

    use_cases.hook = cancel
    jobs.step()
    assert len(use_cases.calls) == 2 and store.latest().state == CANCELLED
    assert store.latest().done == 2  # the first batch's progress; the second was not saved


def test_an_orderly_stop_releases_the_lease_after_the_batch_in_hand():
    store, use_cases = MemoryJobs(), UseCases(count=6)
    jobs = runner(store, Registry(2), use_cases)
    use_cases.hook = jobs._stop.set
    jobs.step()
    job = store.latest()
    assert (len(use_cases.calls), job.state, job.lease_owner, job.last_complaint_id) == (
        1,
        RUNNING,
        "",
        "c-02",
    )


def test_a_version_swapped_under_the_job_releases_it_without_saving():
    store, use_cases = MemoryJobs(), UseCases()
    use_cases.follow_policy = lambda *args: FollowBatch(stale=True)
    runner(store, Registry(2), use_cases).step()
    job = store.latest()
    assert (job.state, job.lease_owner, job.done, store.saved) == (RUNNING, "", 0, [])


def test_the_last_pass_runs_again_at_each_poll_until_late_filings_cannot_come(clock):
    """A replica still on the old version, or a filing under way at the activation, may add
    a complaint after the last pass: the job stays running, looking again at each poll,
    until the settling time (job_settling_seconds, 5 s by default, and two polls) after
    its activation is over."""
    clock.set(datetime.datetime(2026, 11, 24, 9, tzinfo=datetime.UTC))
    store, use_cases = MemoryJobs(), UseCases(count=2)
    jobs = PolicyFollowJobs(store, Registry(2), use_cases, poll_seconds=1, batch_size=2)
    assert jobs.settling == datetime.timedelta(seconds=7)
    jobs.step()
    job = store.latest()
    assert (job.state, job.final_pass, job.last_complaint_id, job.done) == (RUNNING, True, "", 2)
    use_cases.late = ("c-09",)  # filed on the old version after the last pass
    clock.advance(datetime.timedelta(seconds=5))
    jobs.step()
    assert (store.latest().state, store.latest().done) == (RUNNING, 3)
    use_cases.late = ()  # the real pass does not look at a complaint that follows already
    clock.advance(datetime.timedelta(seconds=8))
    jobs.step()
    job = store.latest()
    assert (job.state, job.done, job.followed, job.lease_owner) == (COMPLETED, 3, 3, "")
