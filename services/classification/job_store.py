"""The reclassification_jobs table: one job per activation of a rule-set version, kept
per rule set, with its progress over the customers. Creating the job of an activation,
taking and renewing its lease and saving its progress are services/common/leased_jobs.py:
every change of a job is one conditional UPDATE, so replicas racing for a job never both
hold it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.leased_jobs import CANCELLED, COMPLETED, RUNNING, LeasedJobStore, jobs_table

__all__ = ["CANCELLED", "COMPLETED", "RUNNING", "Job", "JobStore", "jobs", "metadata"]

metadata = sa.MetaData()
jobs = jobs_table(
    "reclassification_jobs",
    metadata,
    key=[sa.Column("rule_set", sa.String(64), nullable=False)],
    progress=[
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_customer_id", sa.Integer, nullable=False, server_default="0"),
    ],
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


class JobStore(LeasedJobStore):
    """The jobs of each rule set (services/common/leased_jobs.py holds the lease, the
    replacement and the progress saving)."""

    def __init__(self, engine: Engine):
        super().__init__(engine, jobs, Job)

    def latest(self, rule_set: str) -> Job | None:
        return self.latest_of(rule_set=rule_set)

    def list(self, rule_set: str, limit: int) -> list[Job]:
        """The newest jobs of ``rule_set`` (of every rule set when empty)."""
        return self.list_of(limit, **({"rule_set": rule_set} if rule_set else {}))

    def replace(self, previous: Job | None, rule_set: str, version: int, moment) -> bool:
        """Cancels ``previous`` if it is still running and starts the job of ``version``
        after it; False when another replica did so first."""
        return self.start(previous, version, moment, rule_set=rule_set)
