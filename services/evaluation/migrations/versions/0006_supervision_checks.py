"""Return-visit answers checked against the card and the visit cards (the responsible
person, the card version and the discrepancies kept with the answer); improvement plans
opened by a broken commitment name their finding.

Revision ID: evaluation_0006
Revises: evaluation_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0006"
down_revision = "evaluation_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("return_visit_tasks") as table:
        table.add_column(sa.Column("staff_id", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("card_version", sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("discrepancies", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
        table.create_index("ix_return_visit_tasks_answered_at", ["answered_at"])
    with op.batch_alter_table("improvement_plans") as table:
        table.add_column(sa.Column("finding_id", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("improvement_plans") as table:
        table.drop_column("finding_id")
    with op.batch_alter_table("return_visit_tasks") as table:
        table.drop_index("ix_return_visit_tasks_answered_at")
        table.drop_column("discrepancies")
        table.drop_column("card_version")
        table.drop_column("staff_id")
