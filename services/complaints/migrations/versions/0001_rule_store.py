"""The rule-set store: versions, the active version per rule set, the audit log.

Revision ID: complaints_0001
"""

from alembic import op

from services.common.rules.schema import create_rule_store_tables

revision = "complaints_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rule_store_tables(op)


def downgrade() -> None:
    for table in ("rule_set_audit", "rule_set_active", "rule_set_versions"):
        op.drop_table(table)
