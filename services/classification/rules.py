"""The classification service's rule sets and their action vocabularies."""

import pathlib

from services.common.rules.actions import grant_once, set_once
from services.common.rules.model import ActionSpec, Param, RuleSetKind, Vocabulary, supplied_facts

FOLDER = pathlib.Path(__file__).parent / "rule_sets"

BUSINESS_FORMATS = (
    "grocery",
    "convenience_store",
    "supermarket",
    "mall",
    "tobacco_liquor",
    "entertainment",
    "other",
)
STANDARD_SERVICES = (
    "free_phone_ordering",
    "customer_manager_visit",
    "storefront_image_upkeep",
    "retail_price_upkeep",
)
PERSONALISED_SERVICES = (
    "scarce_brand_supply",
    "business_guidance",
    "ordering_method",
    "personal_care",
    "new_product_placement",
    "settlement_method",
    "differentiated_visit",
)
SERVICES = STANDARD_SERVICES + PERSONALISED_SERVICES
MARKET_TYPES = ("urban", "rural")
ZONE_TYPES = ("city_centre", "county_town", "township", "village")
CREDIT_RATINGS = ("A", "B", "C", "D")

GRADING = RuleSetKind(
    name="customer-grading",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "set_grade",
            {"grade": Param("integer", minimum=1, maximum=100)},
            set_once("grade", "grade"),
            "the grade on the ladder (档位); the highest-priority rule that sets it wins",
        ),
        ActionSpec(
            "set_star_level",
            {"level": Param("integer", minimum=1, maximum=5)},
            set_once("star_level", "level"),
            "the star level 1-5 (星级)",
        ),
        ActionSpec(
            "set_size_class",
            {"size_class": Param("integer", minimum=1, maximum=3)},
            set_once("size_class", "size_class"),
            "the size class 1-3 of the classification code",
        ),
        ActionSpec(
            "set_segment",
            {"segment": Param("text")},
            set_once("segment", "segment"),
            "a segment label for marketing",
        ),
    ),
    default_path=FOLDER / "customer-grading.yaml",
    facts=supplied_facts(
        always={
            "monthly_sales_cartons": "decimal",
            "business_format": BUSINESS_FORMATS,
            "market_type": MARKET_TYPES,
        },
        sometimes={
            "shop_area_m2": "decimal",
            "compliance_violations_12m": "integer",
            "credit_rating": CREDIT_RATINGS,
            "cooperation_score": "integer",
        },
    ),
)

ENTITLEMENTS = RuleSetKind(
    name="service-entitlements",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "grant_service",
            {
                "service": Param("one_of", allowed=SERVICES),
                "visits_per_month": Param("integer", required=False, minimum=0, maximum=31),
                "channels": Param("text_list", required=False),
                "settlement_methods": Param("text_list", required=False),
                "allocation_tier": Param("text", required=False),
                "topics": Param("text_list", required=False),
                "care_actions": Param("text_list", required=False),
                "placement": Param("text", required=False),
            },
            grant_once("services", "service"),
            "grants a service with its parameters; the highest-priority grant of a service wins",
        ),
    ),
    default_path=FOLDER / "service-entitlements.yaml",
    facts=supplied_facts(
        always={"star_level": "integer", "business_format": BUSINESS_FORMATS, "market_type": MARKET_TYPES},
        sometimes={"market_zone": ZONE_TYPES},
    ),
)

RULE_SETS = (GRADING, ENTITLEMENTS)
