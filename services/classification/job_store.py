"""The reclassification_jobs table and its SQL: creating the job of an activation,
taking and renewing its lease, saving its progress. Every change of a job is one
conditional UPDATE, so replicas racing for a job never both hold it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.database import unit_of_work
from services.common.times import utc

RUNNING, COMPLETED, CANCELLED = "running", "completed", "cancelled"

metadata = sa.MetaData()
_MOMENT = sa.DateTime(timezone=True)
jobs = sa.Table(
    "reclassification_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule_set", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("replaces", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
    sa.Column("lease_expires_at", _MOMENT, nullable=True),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_customer_id", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", _MOMENT, nullable=False),
    sa.Column("updated_at", _MOMENT, nullable=False),
)


@dataclass(frozen=True)
class Job:
    id: int
    rule_set: str
    version: int
    state: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    total: int
    done: int
    changed: int
    failed: int
    skipped: int
    last_customer_id: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


def _job(row) -> Job:
    values = {name: row[name] for name in Job.__dataclass_fields__}
    for name in ("lease_expires_at", "created_at", "updated_at"):
        values[name] = utc(values[name])
    return Job(**values)


class JobStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def latest(self, rule_set: str) -> Job | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(jobs).where(jobs.c.rule_set == rule_set).order_by(jobs.c.id.desc()).limit(1)
                )
                .mappings()
                .first()
            )
        return _job(row) if row else None

    def get(self, job_id: int) -> Job | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def list(self, rule_set: str, limit: int) -> list[Job]:
        select = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if rule_set:
            select = select.where(jobs.c.rule_set == rule_set)
        with self.engine.connect() as connection:
            return [_job(row) for row in connection.execute(select).mappings()]

    def replace(self, previous: Job | None, rule_set: str, version: int, moment) -> bool:
        """Cancels ``previous`` if it is still running and starts the job of ``version``
        after it; False when another replica did so first."""
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
                        rule_set=rule_set,
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

    def take_lease(self, job: Job, owner: str, moment, until) -> bool:
        """The lease of a running job whose lease is free, expired or already ours."""
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

    def save_progress(self, job: Job, owner: str, moment, until, *, state: str = RUNNING, **progress) -> bool:
        """Saves progress (and renews the lease, or ends the job) while ``owner`` still holds
        the lease of the running job; False when it was cancelled or taken over."""
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

    def release(self, job: Job, owner: str, moment) -> bool:
        """Gives up ``owner``'s lease of the running job (an orderly stop), so another
        replica takes it over at its next poll instead of waiting for the expiry."""
        with unit_of_work(self.engine) as session:
            result = session.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
                .values(lease_owner="", lease_expires_at=None, updated_at=moment)
            )
        return result.rowcount == 1
