"""Reclassification jobs: one row per activation of a rule set that decides stored results,
with the lease that lets one replica at a time run it and the progress that lets another
continue it.

Revision ID: classification_0004
Revises: classification_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "classification_0004"
down_revision = "classification_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reclassification_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule_set", sa.String(64), nullable=False),
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
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_customer_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("rule_set", "replaces", name="uq_reclassification_jobs_successor"),
    )


def downgrade() -> None:
    op.drop_table("reclassification_jobs")
