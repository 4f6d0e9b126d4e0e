"""The re-scoring job thread (RescoringJobs) over the real rescoring_jobs table on SQLite
and PostgreSQL and a scripted use case: one job per activation with its progress, run
only where the version is loaded, resumed after the last saved period when another
process takes over an expired lease (a killed replica), cancelled and replaced by a newer
activation, waiting while another service is down, and an orderly stop that gives the
lease back after the period in hand."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from services.common.leased_jobs import CANCELLED, COMPLETED, RUNNING
from services.common.times import now
from services.evaluation.ports import Unreachable
from services.evaluation.rescoring_jobs import JOBS, RescoringJobs, RescoringJobStore
from services.evaluation.service_layer import Rescored
from tests.support.databases import migrated_engine

NO_SETTLING = datetime.timedelta(0)  # a job completes right after its last pass


# -- the job -----------------------------------------------------------------------------------
class Registry:
    """The rule-set registry as the job thread sees it: the active and the served version."""

    def __init__(self, version: int):
        self.active = self.serving = version
        self.store = self

    def active_versions(self):
        return {"kpi-scoring": self.active}

    def serving_version(self, name):
        return self.serving


class ScriptedRescoring:
    """Evaluation.rescore_next over a list of open periods: ``changed`` and ``failed`` name
    periods; ``before(period_id)`` runs before a period is done (to cancel, stop or fail).
    The last pass finds the periods of ``off_version`` (put there meanwhile, as a lagging
    replica's run would); running one brings it to the version, except a ``failed`` one,
    which fails again and stays behind, as a refused run leaves the old results. ``calls``
    are the sweep's, ``last_pass_calls`` the last pass's."""

    def __init__(self, periods, changed=(), failed=(), before=None):
        self.periods, self.changed, self.failed = sorted(periods), set(changed), set(failed)
        self.before = before or (lambda period_id: None)
        self.off_version: set[str] = set()
        self.calls: list[tuple[int, str]] = []
        self.last_pass_calls: list[tuple[int, str]] = []

    def rescore_next(self, version, after, off_version_only=False):
        if off_version_only:
            self.last_pass_calls.append((version, after))
            ahead = sorted(p for p in self.off_version if p > after)
            if not ahead:
                return Rescored()
            if ahead[0] in self.failed:
                return Rescored(ahead[0], failed=True)
            self.off_version.discard(ahead[0])
            return Rescored(ahead[0], changed=True)
        self.calls.append((version, after))
        ahead = [p for p in self.periods if p > after]
        if not ahead:
            return Rescored()
        self.before(ahead[0])
        if ahead[0] in self.failed:
            self.off_version.add(ahead[0])
        return Rescored(ahead[0], ahead[0] in self.changed, ahead[0] in self.failed, len(ahead) - 1)


@pytest.fixture
def store(db_url):
    with migrated_engine(db_url, "evaluation") as engine:
        yield RescoringJobStore(engine)


def _progress(job) -> tuple:
    return job.state, job.total, job.done, job.changed, job.failed, job.last_period_id


def test_a_job_starts_for_the_active_version_and_records_its_progress(store):
    use_cases = ScriptedRescoring(["a", "b", "c"], changed={"a", "c"}, failed={"b"})
    completed = JOBS.labels("completed")._value.get()
    RescoringJobs(store, Registry(2), use_cases, 1, NO_SETTLING).step()
    job = store.latest()
    assert (job.version, job.lease_owner) == (2, "")
    assert _progress(job) == (COMPLETED, 3, 3, 2, 1, "c")
    assert use_cases.calls == [(2, ""), (2, "a"), (2, "b"), (2, "c")]
    assert JOBS.labels("completed")._value.get() == completed + 1


def test_a_process_that_has_not_loaded_the_version_leaves_the_job_to_others(store):
    registry = Registry(2)
    registry.serving = 1
    use_cases = ScriptedRescoring(["a"])
    RescoringJobs(store, registry, use_cases, 1, NO_SETTLING).step()
    assert store.latest().state == RUNNING and use_cases.calls == []


def test_a_job_taken_over_after_its_lease_expired_continues_after_the_last_saved_period(store):
    def crash_at(period_id):
        if period_id == "c":
            raise RuntimeError("the process dies")

    first = RescoringJobs(
        store, Registry(2), ScriptedRescoring(["a", "b", "c", "d"], before=crash_at), 1, NO_SETTLING
    )
    with pytest.raises(RuntimeError):
        first.step()
    job = store.latest()
    assert _progress(job) == (RUNNING, 4, 2, 0, 0, "b") and job.lease_owner == first.owner

    other = ScriptedRescoring(["a", "b", "c", "d"], changed={"d"})
    taker = RescoringJobs(store, Registry(2), other, 1, NO_SETTLING)
    taker.step()
    assert other.calls == []  # the lease is still the first process's
    with store.engine.begin() as connection:  # its 30 seconds pass
        connection.execute(
            sa.update(store.table).values(lease_expires_at=now() - datetime.timedelta(seconds=1))
        )
    taker.step()
    assert other.calls[0] == (2, "b")
    assert _progress(store.latest()) == (COMPLETED, 4, 4, 1, 0, "d")


def test_a_newer_activation_cancels_the_running_job_and_its_successor_starts_over(store):
    registry = Registry(2)

    def activate_3(period_id):
        if period_id == "b":  # another replica starts the job of version 3 meanwhile
            store.replace(store.latest(), 3, now())
            registry.active = registry.serving = 3

    jobs = RescoringJobs(
        store, registry, ScriptedRescoring(["a", "b", "c"], before=activate_3), 1, NO_SETTLING
    )
    jobs.step()
    cancelled, successor = store.list_of(2)[1], store.latest()
    assert _progress(cancelled) == (CANCELLED, 3, 1, 0, 0, "a")  # b was not saved
    assert (successor.version, successor.state) == (3, RUNNING) and successor.id > cancelled.id
    jobs.use_cases = ScriptedRescoring(["a", "b", "c"])
    jobs.step()
    assert jobs.use_cases.calls[0] == (3, "")
    assert _progress(store.latest()) == (COMPLETED, 3, 3, 0, 0, "c")


def test_a_job_waits_while_another_service_is_down_and_continues_from_the_same_period(store):
    down = {"on": True}

    def outage(period_id):
        if period_id == "b" and down["on"]:
            raise Unreachable("complaints")

    jobs = RescoringJobs(store, Registry(2), ScriptedRescoring(["a", "b"], before=outage), 0.01, NO_SETTLING)
    jobs.step()
    job = store.latest()
    assert _progress(job) == (RUNNING, 2, 1, 0, 0, "a") and job.lease_owner == ""  # given back
    jobs.step()
    assert len(jobs.use_cases.calls) == 2  # paused: not asked again at once
    down["on"] = False
    jobs._resume_at = 0.0  # the pause is over
    jobs.step()
    assert jobs.use_cases.calls[-2:] == [(2, "a"), (2, "b")]
    assert _progress(store.latest()) == (COMPLETED, 2, 2, 0, 0, "b")


def test_a_stale_step_gives_the_lease_back_without_progress(store):
    use_cases = ScriptedRescoring(["a"])
    use_cases.rescore_next = lambda version, after, off_version_only=False: Rescored(stale=True)
    RescoringJobs(store, Registry(2), use_cases, 1, NO_SETTLING).step()
    job = store.latest()
    assert _progress(job) == (RUNNING, 0, 0, 0, 0, "") and job.lease_owner == ""


def test_an_orderly_stop_releases_the_lease_after_the_period_in_hand(store):
    jobs = None

    def stop_at(period_id):
        if period_id == "b":
            jobs._stop.set()  # stop() asked while b is being scored

    jobs = RescoringJobs(
        store, Registry(2), ScriptedRescoring(["a", "b", "c"], before=stop_at), 1, NO_SETTLING
    )
    jobs.step()
    job = store.latest()
    assert _progress(job) == (RUNNING, 3, 2, 0, 0, "b") and job.lease_owner == ""


def test_the_last_pass_runs_again_at_each_poll_until_the_job_has_settled(store):
    """A period run on the old version after the sweep passed it (a lagging replica) is
    brought over by the last pass, counted changed but not done twice; the job stays
    running until the settling time after its activation is over."""
    use_cases = ScriptedRescoring(["a", "b", "c"])
    jobs = RescoringJobs(store, Registry(2), use_cases, 1, datetime.timedelta(hours=1))
    jobs.step()
    assert _progress(store.latest()) == (RUNNING, 3, 3, 0, 0, "c")
    assert use_cases.last_pass_calls == [(2, "")]

    use_cases.off_version = {"b"}  # run by hand on version 1 meanwhile
    jobs.step()
    assert use_cases.last_pass_calls[1:] == [(2, ""), (2, "b")]
    assert use_cases.calls[-1] == (2, "c")  # the sweep is not run again
    assert _progress(store.latest()) == (RUNNING, 3, 3, 1, 0, "c")

    jobs.settling = datetime.timedelta(0)  # the settling time is over
    jobs.step()
    assert _progress(store.latest()) == (COMPLETED, 3, 3, 1, 0, "c")


def test_a_period_that_keeps_failing_is_counted_once_however_often_the_last_pass_runs(store):
    """Its refused run leaves the old results, so the sweep and every last pass run it
    again: the job's failures are the periods failing now, not one per attempt."""
    use_cases = ScriptedRescoring(["a", "b", "c"], failed={"b"})
    jobs = RescoringJobs(store, Registry(2), use_cases, 1, datetime.timedelta(hours=1))
    for _ in range(3):
        jobs.step()
        assert _progress(store.latest()) == (RUNNING, 3, 3, 0, 1, "c")
    assert use_cases.last_pass_calls == [(2, ""), (2, "b")] * 3
    use_cases.failed.clear()  # the cause is fixed: the next last pass brings it over
    jobs.settling = datetime.timedelta(0)
    jobs.step()
    assert _progress(store.latest()) == (COMPLETED, 3, 3, 1, 0, "c")
