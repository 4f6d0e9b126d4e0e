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
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.database import unit_of_work
from services.common.times import now, utc
from services.complaints import metrics
from services.complaints.rules import COMPLAINT_POLICY

log = logging.getLogger("retailcare.complaints")
RUNNING, COMPLETED, CANCELLED = "running", "completed", "cancelled"
LEASE = datetime.timedelta(seconds=30)
BATCH = 200
# The last pass looks at complaints filed from this long before the job started.
LATE_FILING_MARGIN = datetime.timedelta(minutes=5)

metadata = sa.MetaData()
_MOMENT = sa.DateTime(timezone=True)
jobs = sa.Table(
    "policy_follow_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("replaces", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
    sa.Column("lease_expires_at", _MOMENT, nullable=True),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("moved", sa.Integer, nullable=False, server_default="0"),
    sa.Column("followed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_complaint_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("final_pass", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", _MOMENT, nullable=False),
    sa.Column("updated_at", _MOMENT, nullable=False),
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


def _job(row) -> FollowJob:
    values = {name: row[name] for name in FollowJob.__dataclass_fields__}
    for name in ("lease_expires_at", "created_at", "updated_at"):
        values[name] = utc(values[name])
    values["final_pass"] = bool(values["final_pass"])
    return FollowJob(**values)


class FollowJobStore:
    """The policy_follow_jobs table; every change of a job is one conditional UPDATE."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def latest(self) -> FollowJob | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(1)).mappings().first()
        return _job(row) if row else None

    def list(self, limit: int) -> list[FollowJob]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)).mappings()
            return [_job(row) for row in rows]

    def replace(self, previous: FollowJob | None, version: int, moment) -> bool:
        """Cancels ``previous`` if still running and starts the job of ``version``; False
        when another replica did so first."""
        try:
            with unit_of_work(self.engine) as session:
                if previous is not None:
                    session.execute(
                        sa.update(jobs)
                        .where(jobs.c.id == previous.id, jobs.c.state == RUNNING)
                        .values(state=CANCELLED, lease_owner="", lease_expires_at=None, updated_at=moment)
                    )
                session.execute(
                    sa.insert(jobs).values(
                        version=version,
                        replaces=previous.id if previous else 0,
                        state=RUNNING,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
        except IntegrityError:
            return False
        return True

    def take_lease(self, job: FollowJob, owner: str, moment, until) -> bool:
        with unit_of_work(self.engine) as session:
            result = session.execute(
                sa.update(jobs)
                .where(
                    jobs.c.id == job.id,
                    jobs.c.state == RUNNING,
                    sa.or_(
                        jobs.c.lease_owner == "",
                        jobs.c.lease_owner == owner,
                        jobs.c.lease_expires_at.is_(None),
                        jobs.c.lease_expires_at < moment,
                    ),
                )
                .values(lease_owner=owner, lease_expires_at=until, updated_at=moment)
            )
        return result.rowcount == 1

    def save_progress(
        self, job: FollowJob, owner: str, moment, until, *, state: str = RUNNING, **progress
    ) -> bool:
        """Saves progress and renews the lease (or ends the job) while ``owner`` holds the
        lease of the running job; False when it was cancelled or taken over."""
        values = dict(progress, state=state, updated_at=moment, lease_expires_at=until)
        if state != RUNNING:
            values.update(lease_owner="", lease_expires_at=None)
        with unit_of_work(self.engine) as session:
            result = session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
                .values(**values)
            )
        return result.rowcount == 1

    def release(self, job: FollowJob, owner: str, moment) -> bool:
        with unit_of_work(self.engine) as session:
            result = session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
                .values(lease_owner="", lease_expires_at=None, updated_at=moment)
            )
        return result.rowcount == 1


class PolicyFollowJobs:
    """The background thread of one process: starts the job of each activation and runs a
    job whose lease it can take, on the version it decides with."""

    def __init__(
        self, store: FollowJobStore, registry, use_cases, poll_seconds: float, batch_size: int = BATCH
    ):
        self.store = store
        self.registry = registry
        self.use_cases = use_cases
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="policy-follow-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.step()
            except Exception:  # the database may be briefly unreachable; try again next time
                log.exception("policy follow job step failed")
                metrics.POLICY_FOLLOW_JOBS.labels("failed").inc()

    def step(self) -> None:
        """Starts the job of the active version if it has none; runs the latest job if this
        process decides with its version and can take its lease."""
        name = COMPLAINT_POLICY.name
        active = self.registry.store.active_versions().get(name)
        latest = self.store.latest()
        if active and (latest is None or latest.version != active):
            if self.store.replace(latest, active, now()):
                if latest is not None and latest.state == RUNNING:
                    metrics.POLICY_FOLLOW_JOBS.labels("cancelled").inc()
                log.info("policy follow job started", extra={"rule_set": name, "version": active})
            latest = self.store.latest()
        if latest is None or latest.state != RUNNING:
            return
        if self.registry.serving_version(name) != latest.version:
            return  # not loaded here yet: another replica, or a later poll, runs it
        moment = now()
        if self.store.take_lease(latest, self.owner, moment, moment + LEASE):
            self._run(latest)

    def _run(self, job: FollowJob) -> None:
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
                self.store.release(job, self.owner, now())
                return
            for name in ("done", "moved", "followed", "failed"):
                progress[name] += getattr(batch, name)
            metrics.POLICY_FOLLOWED.inc(batch.followed)
            finished = batch.done == 0 and progress["final_pass"]
            if batch.done == 0:  # the sweep by id is done: the last pass, from the first id
                progress.update(final_pass=True, last_complaint_id="")
            else:
                progress["last_complaint_id"] = batch.last_id
            moment = now()
            if finished:
                if self.store.save_progress(job, self.owner, moment, None, state=COMPLETED, **progress):
                    metrics.POLICY_FOLLOW_JOBS.labels("completed").inc()
                    log.info(
                        "policy follow job completed",
                        extra={
                            "version": job.version,
                            "followed": progress["followed"],
                            "moved": progress["moved"],
                        },
                    )
                return
            if not self.store.save_progress(job, self.owner, moment, moment + LEASE, **progress):
                return  # cancelled or taken over
            if self._stop.is_set():  # an orderly stop: another replica need not wait for the expiry
                self.store.release(job, self.owner, now())
                return
