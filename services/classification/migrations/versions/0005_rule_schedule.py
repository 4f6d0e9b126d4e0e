"""Scheduled activation of rule-set versions: the versions waiting for their moment.

Revision ID: classification_0005
Revises: classification_0004
"""

from alembic import op

from services.common.rules.schema import create_rule_schedule_table

revision = "classification_0005"
down_revision = "classification_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rule_schedule_table(op)


def downgrade() -> None:
    op.drop_table("rule_set_schedule")
