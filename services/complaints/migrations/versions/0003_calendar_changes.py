"""Administrators' changes of single calendar days, laid over a year's data; the working
days a complaint's clock stood still (so a changed calendar can recompute its deadline);
staff ids as long as the contract allows (64 characters).

Revision ID: complaints_0003
Revises: complaints_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "complaints_0003"
down_revision = "complaints_0002"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_STAFF_ID_COLUMNS = {
    "complaints": ("owner", "handler", "team_id"),
    "complaint_events": ("actor",),
    "return_visits": ("visited_by",),
    "calendar_years": ("updated_by",),
}


def upgrade() -> None:
    op.create_table(
        "calendar_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("working", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("removed_at", _TIME, nullable=True),
        sa.Column("removed_by", sa.String(64), nullable=False, server_default=""),
    )
    with op.batch_alter_table("complaints") as table:
        table.add_column(sa.Column("paused_working_days", sa.Integer, nullable=False, server_default="0"))
    _staff_ids(sa.String(64), sa.String(60))


def downgrade() -> None:
    _staff_ids(sa.String(60), sa.String(64))
    with op.batch_alter_table("complaints") as table:
        table.drop_column("paused_working_days")
    op.drop_table("calendar_changes")


def _staff_ids(new: sa.String, old: sa.String) -> None:
    for table_name, columns in _STAFF_ID_COLUMNS.items():
        with op.batch_alter_table(table_name) as table:
            for column in columns:
                table.alter_column(column, type_=new, existing_type=old, existing_nullable=False)
