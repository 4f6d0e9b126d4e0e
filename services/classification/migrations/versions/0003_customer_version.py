"""A version number on each customer, so a bulk writer can tell that a customer changed
after it was read.

Revision ID: classification_0003
Revises: classification_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "classification_0003"
down_revision = "classification_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.drop_column("version")
