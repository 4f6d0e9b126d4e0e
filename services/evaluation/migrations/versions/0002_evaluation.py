"""Staff, teams and memberships, periods, visit cards and customer menus, ratings,
actuals, results and improvement plans.

Revision ID: evaluation_0002
Revises: evaluation_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "evaluation_0002"
down_revision = "evaluation_0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("line", sa.String(30), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "teams",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("staff_id", _ID, nullable=False, index=True),
        sa.Column("team_id", _ID, nullable=False, index=True),
        sa.Column("specialty", sa.String(40), nullable=False),
        sa.Column("from_date", sa.Date, nullable=False),
        sa.Column("to_date", sa.Date, nullable=True),
    )
    op.create_table(
        "periods",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("last_run_at", _TIME, nullable=True),
        sa.Column("published_at", _TIME, nullable=True),
        sa.Column("published_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "visit_cards",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("staff_id", _ID, nullable=False),
        sa.Column("licence_number", _ID, nullable=False, index=True),
        sa.Column("visited_at", _TIME, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("checked", sa.Boolean, nullable=False, index=True),
        sa.Column("entitlements_version", sa.Integer, nullable=False),
        sa.Column("visits_per_month_due", sa.Integer, nullable=False),
        sa.Column("items_due", sa.Integer, nullable=False),
        sa.Column("omission_count", sa.Integer, nullable=False),
        sa.Column("omissions", sa.JSON, nullable=False),
        sa.Column("supersedes_card_id", sa.String(32), nullable=False),
        sa.Column("superseded_by_card_id", sa.String(32), nullable=False),
        sa.Column("corrected_by", sa.String(64), nullable=False),
        sa.Column("correction_reason", sa.Text, nullable=False),
    )
    op.create_index("ix_visit_cards_staff_visited", "visit_cards", ["staff_id", "visited_at"])
    op.create_index("ix_visit_cards_visited", "visit_cards", ["visited_at"])
    op.create_table(
        "customer_menus",
        sa.Column("licence_number", _ID, primary_key=True),
        sa.Column("visits_per_month", sa.Integer, nullable=False),
        sa.Column("entitlements_version", sa.Integer, nullable=False),
        sa.Column("fetched_at", _TIME, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period_id", _ID, nullable=False, index=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("rater_id", _ID, nullable=False),
        sa.Column("subject_id", _ID, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.UniqueConstraint("period_id", "mode", "rater_id", "subject_id", name="uq_ratings_one_per_rater"),
    )
    op.create_table(
        "actuals",
        sa.Column("period_id", _ID, primary_key=True),
        sa.Column("subject_kind", sa.String(8), primary_key=True),
        sa.Column("subject_id", _ID, primary_key=True),
        sa.Column("sales_actual", sa.Float, nullable=True),
        sa.Column("sales_target", sa.Float, nullable=True),
    )
    op.create_table(
        "results",
        sa.Column("period_id", _ID, primary_key=True),
        sa.Column("subject_kind", sa.String(8), primary_key=True),
        sa.Column("subject_id", _ID, primary_key=True),
        sa.Column("team_id", _ID, nullable=False, index=True),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("total_score", sa.Float, nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("pay_coefficient", sa.Float, nullable=False),
        sa.Column("explanation", sa.JSON, nullable=False),
        sa.Column("rule_set", sa.String(60), nullable=False),
        sa.Column("rule_set_version", sa.Integer, nullable=False),
        sa.Column("run", sa.Integer, nullable=False),
        sa.Column("opened_plan_id", sa.String(32), nullable=False),
        sa.Column("follows_up_plan_ids", sa.JSON, nullable=False),
    )
    op.create_table(
        "improvement_plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject_id", _ID, nullable=False, index=True),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("period_id", _ID, nullable=False),
        sa.Column("trigger_score", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(10), nullable=False, index=True),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("follow_up_period_id", _ID, nullable=False),
        sa.Column("follow_up_score", sa.Float, nullable=False),
        sa.UniqueConstraint("subject_kind", "subject_id", "period_id", name="uq_plans_one_per_result"),
    )


def downgrade() -> None:
    for table in (
        "improvement_plans",
        "results",
        "actuals",
        "ratings",
        "customer_menus",
        "visit_cards",
        "periods",
        "memberships",
        "teams",
        "staff",
    ):
        op.drop_table(table)
