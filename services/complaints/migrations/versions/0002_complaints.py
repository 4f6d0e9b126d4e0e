"""Complaints, their event log, return visits and the working-day calendar.

Revision ID: complaints_0002
Revises: complaints_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "complaints_0002"
down_revision = "complaints_0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("licence_number", sa.String(40), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(60), nullable=False, index=True),
        sa.Column("handler", sa.String(60), nullable=False),
        sa.Column("team_id", sa.String(60), nullable=False, index=True),
        sa.Column("state", sa.String(30), nullable=False, index=True),
        sa.Column("received_at", _TIME, nullable=False, index=True),
        sa.Column("deadline_at", _TIME, nullable=False),
        sa.Column("deadline_estimated", sa.Boolean, nullable=False),
        sa.Column("deadline_working_days", sa.Integer, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("pause_clock", sa.Boolean, nullable=False),
        sa.Column("warn_at_share", sa.Float, nullable=False),
        sa.Column("escalation_levels", sa.JSON, nullable=False),
        sa.Column("escalation_interval", sa.Integer, nullable=False),
        sa.Column("needs_verification", sa.Boolean, nullable=False),
        sa.Column("warn_at", _TIME, index=True),
        sa.Column("warned_at", _TIME),
        sa.Column("overdue_at", _TIME),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("escalated_to", sa.String(20), nullable=False),
        sa.Column("next_escalation_at", _TIME, index=True),
        sa.Column("paused_at", _TIME),
        sa.Column("resolved_at", _TIME),
        sa.Column("resolution_working_days", sa.Integer),
        sa.Column("return_visit_due_at", _TIME),
        sa.Column("satisfaction", sa.Integer),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.String(32), sa.ForeignKey("complaints.id"), nullable=False, index=True),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(30), nullable=False),
        sa.Column("to_state", sa.String(30), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "return_visits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.String(32), sa.ForeignKey("complaints.id"), nullable=False, index=True),
        sa.Column("visited_at", _TIME, nullable=False),
        sa.Column("visited_by", sa.String(60), nullable=False),
        sa.Column("satisfaction", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("holidays", sa.JSON, nullable=False),
        sa.Column("make_up_workdays", sa.JSON, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by", sa.String(60), nullable=False),
    )


def downgrade() -> None:
    for table in ("calendar_years", "return_visits", "complaint_events", "complaints"):
        op.drop_table(table)
