"""Open periods following a newly activated kpi-scoring version.

A period's results keep the version they were scored on until it is run again. When a
kpi-scoring version is activated (publish, activate, rollback, a scheduled activation),
a job runs every open period that has results again on it, whichever replica does it:

- Every activation is a row in ``rescoring_jobs`` (the job of an older version still
  running is cancelled and replaced; a unique successor per job makes replicas racing to
  start it agree on one).
- A replica runs a job only while it holds its lease and scores with the job's version;
  it runs the periods one by one in id order (Evaluation.rescore_next, a run each),
  saving its progress (the last period id) and renewing the lease after each. A replica
  that dies leaves a lease that expires; another continues after the last saved period.
  An orderly stop releases the lease at once.
- Re-scoring is idempotent: a period whose results are already on the version (run by
  hand since, or before a crash) is counted done and not run again.
- After the sweep by id, a last pass runs the open periods whose results are still on
  another version (found in SQL, from the first id again; not counted done twice), and
  repeats at each poll until the settling time after the activation has passed
  (job_settling_seconds and two rule polls); only then is the job completed. A replica
  that had not loaded the version yet may have run a period by hand on the old one
  after the sweep passed it.
- A run needs classification and complaints: while either cannot be reached the job
  gives its lease back and tries again a few seconds later, from the same period.

Published periods keep their version (their results are final). The lease, the
replacement, the progress saving and the thread are services/common/leased_jobs.py; the
table's columns, what a run does and its metrics are here.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from retailcare.evaluation.v1 import evaluation_pb2 as pb
from sqlalchemy.engine import Engine

from services.common.errors import NotFound
from services.common.leased_jobs import RUNNING, ActivationJobs, LeasedJobStore, jobs_table
from services.common.times import to_timestamp
from services.evaluation.ports import Unreachable
from services.evaluation.service_layer import RULE_SET, Rescored

log = logging.getLogger("retailcare.evaluation")
# How long a job waits after classification or complaints could not be reached.
UNREACHABLE_PAUSE = 5.0
PROGRESS = ("total", "done", "changed", "failed")

JOBS = Counter(
    "evaluation_rescoring_jobs_total",
    "Re-scoring jobs (open periods onto a newly activated kpi-scoring version): completed, "
    "cancelled, or a failed step.",
    ["outcome"],
)
PERIODS_RESCORED = Counter(
    "evaluation_periods_rescored_total",
    "Open periods a re-scoring job looked at: changed, unchanged, or failed (run refused).",
    ["outcome"],
)
for _outcome in ("completed", "cancelled", "failed"):
    JOBS.labels(_outcome)
for _outcome in ("changed", "unchanged", "failed"):
    PERIODS_RESCORED.labels(_outcome)

metadata = sa.MetaData()
jobs = jobs_table(
    "rescoring_jobs",
    metadata,
    progress=[
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_period_id", sa.String(64), nullable=False, server_default=""),
    ],
)


@dataclass(frozen=True)
class RescoringJob:
    id: int
    version: int
    state: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    total: int
    done: int
    changed: int
    failed: int
    last_period_id: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class RescoringJobStore(LeasedJobStore):
    """The rescoring_jobs table (services/common/leased_jobs.py: every change of a job is
    one conditional UPDATE)."""

    def __init__(self, engine: Engine):
        super().__init__(engine, jobs, RescoringJob)

    def latest(self) -> RescoringJob | None:
        return self.latest_of()

    def current(self) -> RescoringJob:
        """The newest job, as the contract reads it."""
        job = self.latest()
        if job is None:
            raise NotFound("rescoring job", "latest", f"no {RULE_SET} version was activated yet")
        return job

    def replace(self, previous: RescoringJob | None, version: int, moment) -> bool:
        """Cancels ``previous`` if still running and starts the job of ``version``; False
        when another replica did so first."""
        return self.start(previous, version, moment)


def job_message(job: RescoringJob) -> pb.RescoringJob:
    return pb.RescoringJob(
        id=job.id,
        version=job.version,
        state=job.state,
        total=job.total,
        done=job.done,
        changed=job.changed,
        failed=job.failed,
        lease_owner=job.lease_owner,
        created_at=to_timestamp(job.created_at),
        updated_at=to_timestamp(job.updated_at),
    )


class RescoringJobs(ActivationJobs):
    """The background thread of one process: starts the job of each kpi-scoring activation
    and runs a job whose lease it can take, on the version it scores with."""

    thread_name = "rescoring-jobs"
    job_name = "rescoring job"
    log = log

    def __init__(
        self,
        store: RescoringJobStore,
        registry,
        use_cases,
        poll_seconds: float,
        settling: datetime.timedelta | None = None,
    ):
        super().__init__(store, registry, (RULE_SET,), poll_seconds, settling)
        self.use_cases = use_cases
        self._resume_at = 0.0  # monotonic: paused after another service could not be reached

    def step(self, rule_set: str = RULE_SET) -> None:
        if time.monotonic() >= self._resume_at:
            super().step(rule_set)

    def latest(self, rule_set: str) -> RescoringJob | None:
        return self.store.latest()

    def replace(self, previous: RescoringJob | None, rule_set: str, version: int, moment) -> bool:
        return self.store.replace(previous, version, moment)

    def count(self, rule_set: str, outcome: str) -> None:
        JOBS.labels(outcome).inc()

    def run(self, job: RescoringJob) -> None:
        progress = {name: getattr(job, name) for name in (*PROGRESS, "last_period_id")}
        while True:  # the sweep by id, after the last saved period
            step = self._next(job, progress["last_period_id"], off_version_only=False)
            if step is None:
                return
            if not step.period_id:
                break
            progress["done"] += 1
            progress["total"] = progress["done"] + step.remaining
            progress["last_period_id"] = step.period_id
            if not self._counted(job, step, progress):
                return
        progress["total"] = progress["done"]
        # A period whose run failed keeps results on the old version, so every last pass
        # runs it again: the failures are the latest last pass's, not a sum of them.
        progress["failed"] = 0
        after = ""
        while True:  # the last pass: the periods still with results on another version
            step = self._next(job, after, off_version_only=True)
            if step is None:
                return
            if not step.period_id:
                break
            after = step.period_id
            if not self._counted(job, step, progress):
                return
        # A replica that has not loaded the version yet may still run a period by hand on
        # the old one: until the activation has settled, the last pass runs at each poll.
        self.finish(job, RULE_SET, **progress)

    def _next(self, job: RescoringJob, after: str, off_version_only: bool) -> Rescored | None:
        """The next step of the job, or None when the run ends here and gives its lease back
        (another service could not be reached, or this process scores with another version
        now: a newer job follows)."""
        try:
            step = self.use_cases.rescore_next(job.version, after, off_version_only=off_version_only)
        except Unreachable as error:
            log.warning(
                "rescoring job waits for a service that could not be reached",
                extra={"service": error.service, "version": job.version},
            )
            self.count(RULE_SET, "failed")
            self._resume_at = time.monotonic() + UNREACHABLE_PAUSE
            self.release(job)
            return None
        if step.stale:
            self.release(job)
            return None
        return step

    def _counted(self, job: RescoringJob, step: Rescored, progress: dict) -> bool:
        """Counts a period looked at and saves the progress; False when the run ends here
        (cancelled or taken over, or an orderly stop: the lease is given back at once)."""
        progress["changed"] += step.changed
        progress["failed"] += step.failed
        PERIODS_RESCORED.labels("failed" if step.failed else "changed" if step.changed else "unchanged").inc()
        return self.checkpoint(job, **progress)


class RescoringGauges:
    """The newest job's progress at scrape time, read from the database (the same on every
    replica: take max() across them)."""

    def __init__(self, store: RescoringJobStore):
        self.store = store

    def collect(self):
        job = self.store.latest()
        periods = GaugeMetricFamily(
            "evaluation_rescoring_job_periods",
            "The newest re-scoring job's progress over the open periods with results.",
            labels=["version", "progress"],
        )
        running = GaugeMetricFamily(
            "evaluation_rescoring_job_running", "1 while the newest re-scoring job is running."
        )
        if job is not None:
            for name in PROGRESS:
                periods.add_metric([str(job.version), name], getattr(job, name))
        running.add_metric([], 1 if job is not None and job.state == RUNNING else 0)
        yield periods
        yield running
