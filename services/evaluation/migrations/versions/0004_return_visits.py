"""Periodic return visits: one task per sampled customer and period, with its answer.

Revision ID: evaluation_0004
Revises: evaluation_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0004"
down_revision = "evaluation_0003"
branch_labels = None
depends_on = None

_ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "return_visit_tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("period_id", _ID, nullable=False, index=True),
        sa.Column("licence_number", _ID, nullable=False),
        sa.Column("star_level", sa.Integer, nullable=False),
        sa.Column("zone", _ID, nullable=False),
        sa.Column("assignee_id", _ID, nullable=False, index=True),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("satisfaction", sa.JSON, nullable=False),
        sa.Column("opinion", sa.Text, nullable=False),
        sa.Column("delivered", sa.JSON, nullable=False),
        sa.Column("answered_by", _ID, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("period_id", "licence_number", name="uq_return_visit_per_customer"),
    )


def downgrade() -> None:
    op.drop_table("return_visit_tasks")
