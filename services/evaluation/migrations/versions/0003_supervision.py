"""Service supervision: commitment card versions per customer, inspection findings with
their hearing and decision.

Revision ID: evaluation_0003
Revises: evaluation_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0003"
down_revision = "evaluation_0002"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "commitment_cards",
        sa.Column("licence_number", _ID, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("entitlements_version", sa.Integer, nullable=False),
        sa.Column("responsible_person", _ID, nullable=False),
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("inspector_id", _ID, nullable=False),
        sa.Column("licence_number", _ID, nullable=False, index=True),
        sa.Column("service", _ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("found_at", _TIME, nullable=False, index=True),
        sa.Column("staff_id", _ID, nullable=False, index=True),
        sa.Column("team_id", _ID, nullable=False, index=True),
        sa.Column("card_version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("heard_at", _TIME, nullable=True),
        sa.Column("decided_by", _ID, nullable=False),
        sa.Column("decision_note", sa.Text, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("commitment_cards")
