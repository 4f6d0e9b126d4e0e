"""Customers, their classification history, market zones, service descriptions.

Revision ID: classification_0002
Revises: classification_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "classification_0002"
down_revision = "classification_0001"
branch_labels = None
depends_on = None

_NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "market_zones",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("team_id", sa.String(60), nullable=False),
        sa.Column("updated_at", _NOW, nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("licence_number", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("business_format", sa.String(30), nullable=False),
        sa.Column("market_type", sa.String(10), nullable=False),
        sa.Column("zone_type", sa.String(20), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("county", sa.String(100), nullable=False),
        sa.Column("township", sa.String(100), nullable=False),
        sa.Column("market_zone", sa.String(40), nullable=False, index=True),
        sa.Column("monthly_sales_cartons", sa.Float, nullable=False),
        sa.Column("shop_area_m2", sa.Float),
        sa.Column("compliance_violations_12m", sa.Integer),
        sa.Column("credit_rating", sa.String(1), nullable=False),
        sa.Column("cooperation_score", sa.Integer),
        sa.Column("contact_name", sa.String(100), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=False),
        sa.Column("customer_manager_id", sa.String(60), nullable=False),
        sa.Column("team_id", sa.String(60), nullable=False, index=True),
        sa.Column("active", sa.Boolean, nullable=False, index=True),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("updated_at", _NOW, nullable=False),
        sa.Column("deactivated_at", _NOW),
        sa.Column("deactivation_reason", sa.Text, nullable=False),
        sa.Column("grade", sa.Integer, index=True),
        sa.Column("star_level", sa.Integer, index=True),
        sa.Column("size_class", sa.Integer),
        sa.Column("classification_code", sa.String(8), nullable=False),
        sa.Column("segment", sa.String(40), nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("grading_fired", sa.JSON, nullable=False),
        sa.Column("entitlement_fired", sa.JSON, nullable=False),
        sa.Column("grading_version", sa.Integer, nullable=False),
        sa.Column("entitlements_version", sa.Integer, nullable=False),
        sa.Column("classified_at", _NOW),
        sa.Column("classification_reason", sa.String(20), nullable=False),
    )
    op.create_table(
        "classifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("grade", sa.Integer, nullable=False),
        sa.Column("star_level", sa.Integer, nullable=False),
        sa.Column("size_class", sa.Integer, nullable=False),
        sa.Column("classification_code", sa.String(8), nullable=False),
        sa.Column("segment", sa.String(40), nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("grading_fired", sa.JSON, nullable=False),
        sa.Column("entitlement_fired", sa.JSON, nullable=False),
        sa.Column("grading_version", sa.Integer, nullable=False),
        sa.Column("entitlements_version", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("classified_at", _NOW, nullable=False),
    )
    op.create_table(
        "service_descriptions",
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("procedure_steps", sa.JSON, nullable=False),
        sa.Column("standard", sa.Text, nullable=False),
        sa.Column("commitment", sa.Text, nullable=False),
        sa.Column("updated_at", _NOW, nullable=False),
    )


def downgrade() -> None:
    for table in ("service_descriptions", "classifications", "customers", "market_zones"):
        op.drop_table(table)
