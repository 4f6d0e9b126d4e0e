"""The classification service's tables (the only module that knows them)."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"
    id: int | None = Field(default=None, primary_key=True)
    licence_number: str = Field(sa_column=sa.Column(sa.String(40), unique=True, nullable=False))
    name: str
    business_format: str
    market_type: str
    zone_type: str = ""
    district: str = ""
    county: str = ""
    township: str = ""
    market_zone: str = ""
    monthly_sales_cartons: float
    shop_area_m2: float | None = None
    compliance_violations_12m: int | None = None
    credit_rating: str = ""
    cooperation_score: int | None = None
    contact_name: str = ""
    contact_phone: str = ""
    customer_manager_id: str = ""
    team_id: str = ""
    active: bool = True
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deactivated_at: datetime.datetime | None = None
    deactivation_reason: str = ""
    # The current classification; every one is also in classifications.
    grade: int | None = None
    star_level: int | None = None
    size_class: int | None = None
    classification_code: str = ""
    segment: str = ""
    services: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    reasons: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    grading_fired: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    entitlement_fired: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    grading_version: int = 0
    entitlements_version: int = 0
    classified_at: datetime.datetime | None = None
    classification_reason: str = ""


class ClassificationRow(SQLModel, table=True):
    __tablename__ = "classifications"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)
    grade: int
    star_level: int
    size_class: int
    classification_code: str
    segment: str
    services: dict = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    reasons: dict = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    grading_fired: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    entitlement_fired: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    grading_version: int
    entitlements_version: int
    reason: str
    classified_at: datetime.datetime


class MarketZoneRow(SQLModel, table=True):
    __tablename__ = "market_zones"
    code: str = Field(primary_key=True)
    name: str
    team_id: str
    updated_at: datetime.datetime


class ServiceDescriptionRow(SQLModel, table=True):
    __tablename__ = "service_descriptions"
    service: str = Field(primary_key=True)
    name: str
    kind: str
    procedure_steps: list = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    standard: str
    commitment: str
    updated_at: datetime.datetime
