"""Jobs that follow the activations of a rule-set version, run by one replica at a time.

A service declares the table of its jobs (``jobs_table`` with its own progress columns
and, when its jobs are kept per rule set, a key column such as ``rule_set``) and the
frozen dataclass a row is read into. This module holds what is the same for every
such table and its background thread:

- ``jobs_table``: the columns every jobs table has, around the service's own.
- ``LeasedJobStore``: every change of a job is one conditional UPDATE, so replicas
  racing for a job never both hold it. Starting the job of a newer activation cancels
  the previous job if it is still running and inserts its successor; a unique
  ``(key..., replaces)`` constraint makes replicas racing to start it agree on one.
  A lease is taken when it is free, expired or already ours; progress is saved (and
  the lease renewed, or the job ended) only while the saver still holds the lease of
  the running job; an orderly stop releases it so another replica continues at once.
- ``ActivationJobs``: one thread per process that, every poll, starts the job of each
  active version that has none and runs the latest job of each rule set when this
  process serves its version and can take its lease. What one run does (the batches,
  the progress columns, the metric) is the service's; how a run saves its progress
  (``checkpoint``) and how it ends (``finish``: a last pass repeated until the
  activation has settled) are the same for every job.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import socket
import threading
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.database import unit_of_work
from services.common.logs import RepeatedFailures
from services.common.times import now, utc

RUNNING, COMPLETED, CANCELLED = "running", "completed", "cancelled"
LEASE = datetime.timedelta(seconds=30)
SETTLING_SECONDS = 5.0  # default of job_settling_seconds
_MOMENT = sa.DateTime(timezone=True)


def jobs_table(name: str, metadata: sa.MetaData, *, key=(), progress=()) -> sa.Table:
    """A jobs table: ``id``, the ``key`` columns (whose job it is, e.g. a rule set; none
    when the table serves one), ``version``, ``replaces``, ``state``, the lease, the
    service's ``progress`` columns, ``created_at`` and ``updated_at``, in that order.
    (Its migration creates it; this is what the SQL is written against.)"""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *key,
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("replaces", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
        sa.Column("lease_expires_at", _MOMENT, nullable=True),
        *progress,
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
    )


class LeasedJobStore:
    """The SQL over a service's jobs table. ``key`` arguments (column=value) select the
    jobs of one key (e.g. one rule set) in a table that holds several."""

    def __init__(self, engine: Engine, table: sa.Table, job_type: type):
        self.engine = engine
        self.table = table
        self.job_type = job_type
        fields = [field.name for field in dataclasses.fields(job_type)]
        self._moments = [name for name in fields if isinstance(table.c[name].type, sa.DateTime)]
        self._flags = [name for name in fields if isinstance(table.c[name].type, sa.Boolean)]
        self._fields = fields

    def _job(self, row):
        values = {name: row[name] for name in self._fields}
        for name in self._moments:  # SQLite hands back naive datetimes
            values[name] = utc(values[name])
        for name in self._flags:
            values[name] = bool(values[name])
        return self.job_type(**values)

    def _select(self, **key):
        select = sa.select(self.table)
        if key:
            select = select.where(*(self.table.c[name] == value for name, value in key.items()))
        return select

    def latest_of(self, **key):
        """The newest job (of ``key``), or None."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(self._select(**key).order_by(self.table.c.id.desc()).limit(1))
                .mappings()
                .first()
            )
        return self._job(row) if row else None

    def get(self, job_id: int):
        with self.engine.connect() as connection:
            row = (
                connection.execute(sa.select(self.table).where(self.table.c.id == job_id)).mappings().first()
            )
        return self._job(row) if row else None

    def list_of(self, limit: int, **key) -> list:
        """The newest ``limit`` jobs (of ``key``), newest first."""
        select = self._select(**key).order_by(self.table.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [self._job(row) for row in connection.execute(select).mappings()]

    def start(self, previous, version: int, moment, **key) -> bool:
        """Cancels ``previous`` if it is still running and starts the job of ``version``
        after it; False when another replica did so first."""
        jobs = self.table
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
                        **key,
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

    def take_lease(self, job, owner: str, moment, until) -> bool:
        """The lease of a running job whose lease is free, expired or already ours."""
        jobs = self.table
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

    def save_progress(self, job, owner: str, moment, until, *, state: str = RUNNING, **progress) -> bool:
        """Saves progress (and renews the lease, or ends the job) while ``owner`` still holds
        the lease of the running job; False when it was cancelled or taken over."""
        values = dict(progress, state=state, updated_at=moment, lease_expires_at=until)
        if state != RUNNING:
            values.update(lease_owner="", lease_expires_at=None)
        return self._while_held(job, owner, values)

    def release(self, job, owner: str, moment) -> bool:
        """Gives up ``owner``'s lease of the running job (an orderly stop), so another
        replica takes it over at its next poll instead of waiting for the expiry."""
        return self._while_held(
            job, owner, {"lease_owner": "", "lease_expires_at": None, "updated_at": moment}
        )

    def _while_held(self, job, owner: str, values: dict) -> bool:
        jobs = self.table
        with unit_of_work(self.engine) as session:
            result = session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
                .values(**values)
            )
        return result.rowcount == 1


def settling_time(settling_seconds: float, poll_seconds: float) -> datetime.timedelta:
    """How long after its activation a job keeps making its last pass: every replica loads
    a version within a poll or two, and a call that decided just before writes soon after
    (``settling_seconds``)."""
    return datetime.timedelta(seconds=settling_seconds + 2 * poll_seconds)


def process_owner() -> str:
    """A lease owner naming this process uniquely (host, pid, a random part)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class ActivationJobs:
    """The background thread of one process over the jobs of ``rule_sets``.

    ``registry`` is the process's rule-set registry (``registry.store.active_versions()``,
    ``registry.serving_version(name)``). A service subclass names its thread and jobs
    (``thread_name``, ``job_name`` and ``log``: the log lines are "<job_name> started",
    "... completed", "... lease released" and "... step failed") and supplies ``latest``,
    ``replace`` (its store's calls), ``count`` (its jobs metric) and ``run`` (one run of a
    job whose lease it holds, saving progress with ``checkpoint``, ending with ``finish``).
    ``settling``: how long a job keeps making its last pass after its activation (by
    default ``settling_time`` of the default settling seconds and ``poll_seconds``)."""

    thread_name = "activation-jobs"
    job_name = "job"
    log = logging.getLogger("retailcare")

    def __init__(
        self,
        store,
        registry,
        rule_sets: tuple[str, ...],
        poll_seconds: float,
        settling: datetime.timedelta | None = None,
    ):
        self.store = store
        self.registry = registry
        self.rule_sets = rule_sets
        self.poll_seconds = poll_seconds
        self.settling = settling_time(SETTLING_SECONDS, poll_seconds) if settling is None else settling
        self.owner = process_owner()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[str, RepeatedFailures] = {}

    # What the service supplies.

    def latest(self, rule_set: str):
        raise NotImplementedError

    def replace(self, previous, rule_set: str, version: int, moment) -> bool:
        raise NotImplementedError

    def count(self, rule_set: str, outcome: str) -> None:
        """Counts a job ``cancelled``, ``completed`` or a ``failed`` step."""
        raise NotImplementedError

    def run(self, job) -> None:
        raise NotImplementedError

    def step_failed(self, rule_set: str) -> None:
        self._failures_of(rule_set).failed(rule_set=rule_set)
        self.count(rule_set, "failed")

    def _failures_of(self, rule_set: str) -> RepeatedFailures:
        if rule_set not in self._failures:
            self._failures[rule_set] = RepeatedFailures(self.log, f"{self.job_name} step failed")
        return self._failures[rule_set]

    # The thread.

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the thread, then gives up the lease of a job it still holds (one waiting
        between polls for its activation to settle), so another replica need not wait for
        the expiry."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for rule_set in self.rule_sets:
            try:
                job = self.latest(rule_set)
                if job is not None and job.state == RUNNING and job.lease_owner == self.owner:
                    self.release(job)
            except Exception:  # the database may be gone at shutdown: the lease then expires
                self.log.warning(f"{self.job_name} lease not released at stop", extra={"rule_set": rule_set})

    @property
    def stopping(self) -> bool:
        """An orderly stop was asked for: a run releases its lease after the batch in hand."""
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            for rule_set in self.rule_sets:
                try:
                    self.step(rule_set)
                except Exception:  # the database may be briefly unreachable; try again next time
                    self.step_failed(rule_set)
                else:
                    self._failures_of(rule_set).succeeded(rule_set=rule_set)

    def step(self, rule_set: str) -> None:
        """Starts the job of the active version if it has none; runs the latest job if
        this process serves its version and can take its lease."""
        active = self.registry.store.active_versions().get(rule_set)
        latest = self.latest(rule_set)
        if active and (latest is None or latest.version != active):
            if self.replace(latest, rule_set, active, now()):
                if latest is not None and latest.state == RUNNING:
                    self.count(rule_set, "cancelled")
                self.log.info(f"{self.job_name} started", extra={"rule_set": rule_set, "version": active})
            latest = self.latest(rule_set)
        if latest is None or latest.state != RUNNING:
            return
        if self.registry.serving_version(rule_set) != latest.version:
            return  # this process has not loaded that version yet: another replica, or a later poll, runs it
        moment = now()
        if self.store.take_lease(latest, self.owner, moment, moment + LEASE):
            self.run(latest)

    # What a run uses.

    def save(self, job, **progress) -> bool:
        """Saves progress and renews the lease; False when the job was cancelled or taken over."""
        moment = now()
        return self.store.save_progress(job, self.owner, moment, moment + LEASE, **progress)

    def complete(self, job, **progress) -> bool:
        """Ends the job with its last progress; False when it was cancelled or taken over."""
        return self.store.save_progress(job, self.owner, now(), None, state=COMPLETED, **progress)

    def checkpoint(self, job, **progress) -> bool:
        """Saves progress after a batch; False when the run ends here: the job was cancelled
        or taken over, or an orderly stop gave its lease back (so another replica need not
        wait for the expiry)."""
        if not self.save(job, **progress):
            return False
        if self.stopping:
            if self.release(job):
                self.log.info(f"{self.job_name} lease released", extra={"version": job.version, **progress})
            return False
        return True

    def finish(self, job, rule_set: str, **progress) -> None:
        """Ends a run whose last pass found nothing more to do. Before the activation has
        settled, a replica that has not loaded the version yet, or a call that decided just
        before it, may still write on the old version: the progress is saved and the last
        pass runs again at the next poll. After it, the job completes."""
        if now() < job.created_at + self.settling:
            self.save(job, **progress)
        elif self.complete(job, **progress):
            self.count(rule_set, "completed")
            self.log.info(
                f"{self.job_name} completed", extra={"rule_set": rule_set, "version": job.version, **progress}
            )

    def release(self, job) -> bool:
        return self.store.release(job, self.owner, now())
