"""Policy follow jobs: one row per activation of a complaint-policy version, with the lease
that lets one replica at a time move the open complaints' deadlines under it (where the
version says they follow it) and the progress that lets another continue.

Revision ID: complaints_0005
Revises: complaints_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "complaints_0005"
down_revision = "complaints_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_follow_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False),
        # The job this one replaced (0 for the first): two replicas starting a successor
        # of the same job collide on the unique constraint and one of them gives way.
        sa.Column("replaces", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("moved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("followed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_complaint_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("final_pass", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("replaces", name="uq_policy_follow_jobs_successor"),
    )


def downgrade() -> None:
    op.drop_table("policy_follow_jobs")
