"""The card follower's job: the lease that lets one replica at a time follow
classification's changes and the cursor (the last change handled) that lets another
continue it.

Revision ID: evaluation_0008
Revises: evaluation_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0008"
down_revision = "evaluation_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_follow_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False),
        # The job this one replaced (0 for the first): replicas starting the follower at
        # once collide on the unique constraint and one of them gives way.
        sa.Column("replaces", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=False, server_default=""),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_change_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("changes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("issued", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("replaces", name="uq_card_follow_jobs_successor"),
    )


def downgrade() -> None:
    op.drop_table("card_follow_jobs")
