"""Tables of the rule-set store, shared by every service that owns rule sets.

Each service's first migration calls :func:`create_rule_store_tables`; a later change
to these tables gets a new function here and a new migration in every service."""

import sqlalchemy as sa


def create_rule_store_tables(op) -> None:
    op.create_table(
        "rule_set_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_set", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.UniqueConstraint("rule_set", "version", name="uq_rule_set_versions_rule_set_version"),
    )
    op.create_table(
        "rule_set_active",
        sa.Column("rule_set", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rule_set_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_set", sa.String(100), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def create_rule_schedule_table(op) -> None:
    """Versions waiting to become active at a moment (scheduled activation)."""
    op.create_table(
        "rule_set_schedule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_set", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("activate_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.UniqueConstraint("rule_set", "version", name="uq_rule_set_schedule_rule_set_version"),
    )
