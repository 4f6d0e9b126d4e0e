"""The complaints service's tables (the only module that knows them)."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _time(**kwargs):
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), **kwargs))


class ComplaintRow(SQLModel, table=True):
    __tablename__ = "complaints"
    id: str = Field(primary_key=True)
    idempotency_key: str = Field(sa_column=sa.Column(sa.String(100), unique=True, nullable=False))
    licence_number: str
    channel: str
    category: str
    severity: str
    description: str
    owner: str
    handler: str
    team_id: str
    state: str
    received_at: datetime.datetime = _time(nullable=False)
    deadline_at: datetime.datetime = _time(nullable=False)
    deadline_estimated: bool
    deadline_working_days: int
    policy_version: int
    pause_clock: bool
    warn_at_share: float
    escalation_levels: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    escalation_interval: int
    needs_verification: bool
    warn_at: datetime.datetime | None = _time(nullable=True)
    warned_at: datetime.datetime | None = _time(nullable=True)
    overdue_at: datetime.datetime | None = _time(nullable=True)
    escalation_level: int = 0
    escalated_to: str = ""
    next_escalation_at: datetime.datetime | None = _time(nullable=True)
    paused_at: datetime.datetime | None = _time(nullable=True)
    resolved_at: datetime.datetime | None = _time(nullable=True)
    resolution_working_days: int | None = None
    return_visit_due_at: datetime.datetime | None = _time(nullable=True)
    satisfaction: int | None = None
    created_at: datetime.datetime = _time(nullable=False)
    updated_at: datetime.datetime = _time(nullable=False)


class ComplaintEventRow(SQLModel, table=True):
    __tablename__ = "complaint_events"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: str = Field(index=True)
    at: datetime.datetime = _time(nullable=False)
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str


class ReturnVisitRow(SQLModel, table=True):
    __tablename__ = "return_visits"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: str = Field(index=True)
    visited_at: datetime.datetime = _time(nullable=False)
    visited_by: str
    satisfaction: int
    comment: str


class CalendarYearRow(SQLModel, table=True):
    __tablename__ = "calendar_years"
    year: int = Field(primary_key=True)
    source: str
    holidays: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    make_up_workdays: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime.datetime = _time(nullable=False)
    updated_by: str
