"""Scheduled activation of rule-set versions: the versions waiting for their moment.

Revision ID: complaints_0004
Revises: complaints_0003
"""

from alembic import op

from services.common.rules.schema import create_rule_schedule_table

revision = "complaints_0004"
down_revision = "complaints_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rule_schedule_table(op)


def downgrade() -> None:
    op.drop_table("rule_set_schedule")
