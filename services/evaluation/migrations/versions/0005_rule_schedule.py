"""Scheduled activation of rule-set versions: the versions waiting for their moment.

Revision ID: evaluation_0005
Revises: evaluation_0004
"""

from alembic import op

from services.common.rules.schema import create_rule_schedule_table

revision = "evaluation_0005"
down_revision = "evaluation_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rule_schedule_table(op)


def downgrade() -> None:
    op.drop_table("rule_set_schedule")
