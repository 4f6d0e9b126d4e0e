"""Retail customers and their classification: the business words and checks, free of
gRPC and of the database."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.classification.rules import (
    BUSINESS_FORMATS,
    CREDIT_RATINGS,
    ENTITLEMENTS,
    GRADING,
    MARKET_TYPES,
    ZONE_TYPES,
)

# The business-format letter of the classification code (分类编码).
FORMAT_LETTERS = dict(zip(BUSINESS_FORMATS, "ABCDEFG", strict=True))
MARKET_DIGITS = {"urban": "1", "rural": "2"}
LICENCE_MAX_LENGTH = 40

TEXT_FIELDS = (
    "licence_number",
    "name",
    "business_format",
    "market_type",
    "zone_type",
    "district",
    "county",
    "township",
    "market_zone",
    "credit_rating",
    "contact_name",
    "contact_phone",
    "customer_manager_id",
)
OPTIONAL_NUMBERS = ("shop_area_m2", "compliance_violations_12m", "cooperation_score")
INPUT_FIELDS = (*TEXT_FIELDS, "monthly_sales_cartons", *OPTIONAL_NUMBERS)


def check_customer(values: Mapping[str, Any], known_zones: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Every problem with a customer's input, as (field, what is wrong)."""
    problems = []
    licence = values.get("licence_number") or ""
    if not licence.strip():
        problems.append(("licence_number", "is required"))
    elif len(licence) > LICENCE_MAX_LENGTH or licence != licence.strip():
        problems.append(("licence_number", f"at most {LICENCE_MAX_LENGTH} characters, no surrounding spaces"))
    if not (values.get("name") or "").strip():
        problems.append(("name", "is required"))
    for name, allowed, required in (
        ("business_format", BUSINESS_FORMATS, True),
        ("market_type", MARKET_TYPES, True),
        ("zone_type", ZONE_TYPES, False),
        ("credit_rating", CREDIT_RATINGS, False),
    ):
        value = values.get(name) or ""
        if not value and required:
            problems.append((name, f"is required: one of {', '.join(allowed)}"))
        elif value and value not in allowed:
            problems.append((name, f"unknown value {value!r}: use one of {', '.join(allowed)}"))
    sales = values.get("monthly_sales_cartons")
    if sales is None or not isinstance(sales, (int, float)) or math.isnan(sales) or sales < 0:
        problems.append(("monthly_sales_cartons", "must be a number of cartons, zero or more"))
    area = values.get("shop_area_m2")
    if area is not None and (math.isnan(area) or area < 0):
        problems.append(("shop_area_m2", "must not be negative"))
    violations = values.get("compliance_violations_12m")
    if violations is not None and violations < 0:
        problems.append(("compliance_violations_12m", "must not be negative"))
    cooperation = values.get("cooperation_score")
    if cooperation is not None and not 0 <= cooperation <= 100:
        problems.append(("cooperation_score", "must be between 0 and 100"))
    zone = values.get("market_zone") or ""
    if zone and not known_zones(zone):
        problems.append(("market_zone", f"unknown market zone {zone!r}; create it first (UpsertMarketZone)"))
    return problems


def grading_facts(customer: Mapping[str, Any]) -> dict:
    facts = {
        "monthly_sales_cartons": customer["monthly_sales_cartons"],
        "business_format": customer["business_format"],
        "market_type": customer["market_type"],
        "shop_area_m2": customer.get("shop_area_m2"),
        "compliance_violations_12m": customer.get("compliance_violations_12m"),
        "credit_rating": customer.get("credit_rating") or None,
        "cooperation_score": customer.get("cooperation_score"),
    }
    return {k: v for k, v in facts.items() if v is not None}


def entitlement_facts(customer: Mapping[str, Any], star_level: int) -> dict:
    facts = {
        "star_level": star_level,
        "business_format": customer["business_format"],
        "market_type": customer["market_type"],
        "market_zone": customer.get("zone_type") or None,
    }
    return {k: v for k, v in facts.items() if v is not None}


def classification_code(business_format: str, market_type: str, size_class: int) -> str:
    """Format letter x market digit x size class, as the national scheme combines them."""
    return f"{FORMAT_LETTERS[business_format]}{MARKET_DIGITS[market_type]}{size_class}"


def rule_set_of(output: str) -> str:
    """Which rule set decides an output: services come from the entitlements."""
    return ENTITLEMENTS.name if output.startswith("services.") else GRADING.name


class IncompleteDecision(Exception):
    """The active rule sets left an output the classification needs undecided."""


@dataclass(frozen=True)
class Outcome:
    """One classification: what was decided, on which versions, and why."""

    grade: int
    star_level: int
    size_class: int
    classification_code: str
    segment: str
    services: dict
    grading_version: int
    entitlements_version: int
    reasons: dict = field(default_factory=dict)  # output -> rule id; see rule_set_of
    grading_fired: tuple = ()
    entitlement_fired: tuple = ()

    def summary(self) -> tuple:
        """What a customer would notice changing (not versions or reasons)."""
        return (self.grade, self.star_level, self.classification_code, self.segment, self.services)


def classify(customer: Mapping[str, Any], decide: Callable[[str, dict], Any]) -> Outcome:
    """Grades the customer, then decides its entitlements from the star level it got."""
    grading = decide(GRADING.name, grading_facts(customer))
    needed = [name for name in ("grade", "star_level", "size_class") if name not in grading.outputs]
    if needed:
        raise IncompleteDecision(f"{GRADING.name} v{grading.version} decided no {', '.join(needed)}")
    star_level = grading.outputs["star_level"]
    entitlements = decide(ENTITLEMENTS.name, entitlement_facts(customer, star_level))
    reasons = {**grading.reasons, **{k: rule for k, rule in entitlements.reasons.items() if k != "services"}}
    return Outcome(
        grade=grading.outputs["grade"],
        star_level=star_level,
        size_class=grading.outputs["size_class"],
        classification_code=classification_code(
            customer["business_format"], customer["market_type"], grading.outputs["size_class"]
        ),
        segment=grading.outputs.get("segment", ""),
        services=entitlements.outputs.get("services", {}),
        grading_version=grading.version,
        entitlements_version=entitlements.version,
        reasons=reasons,
        grading_fired=grading.fired,
        entitlement_fired=entitlements.fired,
    )
