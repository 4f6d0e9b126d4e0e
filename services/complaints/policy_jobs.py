"""Open complaints following a newly activated complaint-policy version.

A complaint keeps the policy it was filed under, unless the version activated later
(publish, activate, rollback, a scheduled activation) decides, for that complaint, the
output ``open_complaints: follow_new_version``. Then its deadline is computed again under
that version, once, whichever replica does it:

- Every activation is a row in ``policy_follow_jobs`` (the job of an older version still
  running is cancelled and replaced; a unique successor per job makes replicas racing to
  start it agree on one).
- A replica runs a job only while it holds its lease (a conditional UPDATE) and decides
  with the job's version; it works batch by batch (Complaints.follow_policy, one
  transaction each), saving its progress (the last complaint id) and renewing the lease
  after each batch. A replica that dies leaves a lease that expires; another continues
  after the last saved complaint. An orderly stop releases the lease at once.
- Following is idempotent: a complaint that took the version is not looked at again,
  and one the version says keeps its deadline is left as it is.
- After the sweep by id a last pass looks at the complaints filed since shortly before the
  activation (a replica that had not loaded the version yet filed them under the old one).

The lease, the replacement, the progress saving and the thread are
services/common/leased_jobs.py; the table's columns and what a run does are here.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.leased_jobs import (
    CANCELLED,
    COMPLETED,
    RUNNING,
    ActivationJobs,
    LeasedJobStore,
    jobs_table,
)
from services.complaints import metrics
from services.complaints.rules import COMPLAINT_POLICY

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "RUNNING",
    "FollowJob",
    "FollowJobStore",
    "PolicyFollowJobs",
    "jobs",
    "metadata",
]
log = logging.getLogger("retailcare.complaints")
BATCH = 200
# The last pass looks at complaints filed from this long before the job started.
LATE_FILING_MARGIN = datetime.timedelta(minutes=5)

metadata = sa.MetaData()
jobs = jobs_table(
    "policy_follow_jobs",
    metadata,
    progress=[
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("moved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("followed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_complaint_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("final_pass", sa.Boolean, nullable=False, server_default=sa.false()),
    ],
)


@dataclass(frozen=True)
class FollowJob:
    id: int
    version: int
    state: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    done: int
    moved: int
    followed: int
    failed: int
    last_complaint_id: str
    final_pass: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class FollowJobStore(LeasedJobStore):
    """The policy_follow_jobs table (services/common/leased_jobs.py: every change of a job
    is one conditional UPDATE)."""

    def __init__(self, engine: Engine):
        super().__init__(engine, jobs, FollowJob)

    def latest(self) -> FollowJob | None:
        return self.latest_of()

    def list(self, limit: int) -> list[FollowJob]:
        return self.list_of(limit)

    def replace(self, previous: FollowJob | None, version: int, moment) -> bool:
        """Cancels ``previous`` if still running and starts the job of ``version``; False
        when another replica did so first."""
        return self.start(previous, version, moment)


class PolicyFollowJobs(ActivationJobs):
    """The background thread of one process: starts the job of each activation and runs a
    job whose lease it can take, on the version it decides with."""

    thread_name = "policy-follow-jobs"
    job_name = "policy follow job"
    log = log

    def __init__(
        self,
        store: FollowJobStore,
        registry,
        use_cases,
        poll_seconds: float,
        batch_size: int = BATCH,
        settling: datetime.timedelta | None = None,
    ):
        super().__init__(store, registry, (COMPLAINT_POLICY.name,), poll_seconds, settling)
        self.use_cases = use_cases
        self.batch_size = batch_size

    def step(self, rule_set: str = COMPLAINT_POLICY.name) -> None:
        super().step(rule_set)

    def latest(self, rule_set: str) -> FollowJob | None:
        return self.store.latest()

    def replace(self, previous: FollowJob | None, rule_set: str, version: int, moment) -> bool:
        return self.store.replace(previous, version, moment)

    def count(self, rule_set: str, outcome: str) -> None:
        metrics.POLICY_FOLLOW_JOBS.labels(outcome).inc()

    def run(self, job: FollowJob) -> None:
        progress = {
            "done": job.done,
            "moved": job.moved,
            "followed": job.followed,
            "failed": job.failed,
            "last_complaint_id": job.last_complaint_id,
            "final_pass": job.final_pass,
        }
        while True:
            since = job.created_at - LATE_FILING_MARGIN if progress["final_pass"] else None
            batch = self.use_cases.follow_policy(
                job.version, progress["last_complaint_id"], self.batch_size, since
            )
            if batch.stale:
                self.release(job)
                return
            for name in ("done", "moved", "followed", "failed"):
                progress[name] += getattr(batch, name)
            metrics.POLICY_FOLLOWED.inc(batch.followed)
            finished = batch.done == 0 and progress["final_pass"]
            if batch.done == 0:  # the sweep by id is done: the last pass, from the first id
                progress.update(final_pass=True, last_complaint_id="")
            else:
                progress["last_complaint_id"] = batch.last_id
            if finished:  # a filing under way at the activation may still come: see finish
                self.finish(job, COMPLAINT_POLICY.name, **progress)
                return
            if not self.checkpoint(job, **progress):
                return
