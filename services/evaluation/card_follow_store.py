"""The card follower's table and transaction.

``card_follow_jobs`` holds one running job: the lease that lets one replica at a time
follow classification's changes (services/common/leased_jobs.py) and the cursor, the id
of the last change handled. A batch stores its card versions and moves the cursor in one
transaction, and only while its replica still holds the lease, so a change is handled
exactly once whichever replica handled it and however often they stopped.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.database import unit_of_work
from services.common.leased_jobs import RUNNING, LeasedJobStore, jobs_table
from services.evaluation.ports import Conflict
from services.evaluation.storage import SqlCommitmentCards

FOLLOWER_VERSION = 1  # the one job; a later design of the follower would start version 2

metadata = sa.MetaData()
jobs = jobs_table(
    "card_follow_jobs",
    metadata,
    progress=[
        sa.Column("last_change_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("changes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("issued", sa.Integer, nullable=False, server_default="0"),
    ],
)


@dataclass(frozen=True)
class FollowJob:
    id: int
    version: int
    state: str
    lease_owner: str
    lease_expires_at: datetime.datetime | None
    last_change_id: int
    changes: int
    issued: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class FollowJobStore(LeasedJobStore):
    def __init__(self, engine: Engine):
        super().__init__(engine, jobs, FollowJob)

    def job(self, moment: datetime.datetime) -> FollowJob:
        """The follower's job, started on first use (replicas starting it at once agree on
        one through the unique ``replaces`` constraint)."""
        job = self.latest_of()
        if job is None:
            self.start(None, FOLLOWER_VERSION, moment)
            job = self.latest_of()
        return job


class LeaseLost(Exception):
    """Another replica took the follower's lease: this batch is not stored."""


class SqlFollowCursor:
    def __init__(self, session):
        self.session = session

    def advance(
        self, job: FollowJob, owner: str, change_id: int, changes: int, issued: int, moment, until
    ) -> None:
        """Moves the cursor to ``change_id`` (and renews the lease) while ``owner`` holds
        it; LeaseLost otherwise, and the transaction is rolled back."""
        result = self.session.execute(
            sa.update(jobs)
            .where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.lease_owner == owner)
            .values(
                last_change_id=change_id,
                changes=jobs.c.changes + changes,
                issued=jobs.c.issued + issued,
                lease_expires_at=until,
                updated_at=moment,
            )
        )
        if result.rowcount != 1:
            raise LeaseLost()


class SqlFollowUnitOfWork:
    """One batch: the cards it issues and the cursor, committed together."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> SqlFollowUnitOfWork:
        self._context = unit_of_work(self.engine)
        session = self._context.__enter__()
        self.commitment_cards = SqlCommitmentCards(session)
        self.cursor = SqlFollowCursor(session)
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self._context.__exit__(exc_type, exc, traceback)
        except IntegrityError as error:  # at commit: a caller issued the same version first
            raise Conflict() from error
        if isinstance(exc, IntegrityError):
            raise Conflict() from exc
