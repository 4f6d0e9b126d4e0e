"""Re-scoring jobs: one row per activation of a kpi-scoring version, with the lease that
lets one replica at a time run the open periods with results again on it and the
progress that lets another continue after the last period saved.

Revision ID: evaluation_0007
Revises: evaluation_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0007"
down_revision = "evaluation_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rescoring_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False),
        # The job this one replaced (0 for the first): two replicas starting a successor
        # of the same job collide on the unique constraint and one of them gives way.
        sa.Column("replaces", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_period_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("replaces", name="uq_rescoring_jobs_successor"),
    )


def downgrade() -> None:
    op.drop_table("rescoring_jobs")
