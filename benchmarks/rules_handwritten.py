"""The shipped rule sets compiled by hand into Python: the limit the rules benchmark
compares our served path with. Each function decides prepared facts exactly as the rule
set does, fired rules (in decision order: priority, then document order), outputs and the
rule that decided each output included; the benchmark checks that on every input before
it measures anything.

Written as a programmer would who knows the rules and does not have to keep them
editable: conditions inlined, the grade ladder found by bisection, outputs set once in
place. Changing a rule set's YAML means changing its function here too (the benchmark
refuses to print figures until they agree again).
"""

from __future__ import annotations

from bisect import bisect_right

# customer-grading --------------------------------------------------------------------

GRADE_STEPS = (
    2,
    4,
    6,
    8,
    10,
    13,
    16,
    20,
    24,
    28,
    33,
    38,
    44,
    50,
    57,
    65,
    74,
    84,
    95,
    110,
    125,
    145,
    170,
    200,
)
GRADE_STEPS += (240, 290, 350, 420, 500)  # grade n + 1 from GRADE_STEPS[n - 1] cartons on


def _grade_runs(grade: int) -> tuple[tuple[str, ...], ...]:
    """The grade rows that fire for ``grade``, cut where other rules' priorities fall
    between them: rows 30-21, 20-16, 15-11 and 10-1, each from the highest down."""
    runs = []
    for top, bottom in ((30, 21), (20, 16), (15, 11), (10, 1)):
        runs.append(tuple(f"grade_{step:02d}" for step in range(min(top, grade), bottom - 1, -1)))
    return tuple(runs)


GRADE_RUNS = [_grade_runs(grade) for grade in range(31)]
GRADE_RULES = [f"grade_{grade:02d}" for grade in range(31)]


def grading(facts: dict) -> tuple[tuple[str, ...], dict, dict]:
    get = facts.get
    sales = get("monthly_sales_cartons")
    area = get("shop_area_m2")
    market = get("market_type")
    violations = get("compliance_violations_12m")
    credit = get("credit_rating")
    cooperation = get("cooperation_score")
    grade = bisect_right(GRADE_STEPS, sales) + 1  # a required input: never missing
    high, upper, middle, low = GRADE_RUNS[grade]
    fired = []
    add = fired.append
    star = size = segment = None
    if sales >= 200 and credit == "A" and violations == 0 and cooperation is not None and cooperation >= 85:
        add("star_5")
        star = 5, "star_5"
    if (
        sales >= 100
        and (credit == "A" or credit == "B")
        and violations is not None
        and violations <= 1
        and cooperation is not None
        and cooperation >= 70
    ):
        add("star_4")
        star = star or (4, "star_4")
    if (
        sales >= 40
        and (credit == "A" or credit == "B" or credit == "C")
        and violations is not None
        and violations <= 2
        and cooperation is not None
        and cooperation >= 55
    ):
        add("star_3")
        star = star or (3, "star_3")
    if (area is not None and area >= 100) or (sales >= 150):
        add("size_large")
        size = 3, "size_large"
    if sales >= 200 and credit == "A":
        add("segment_key_account")
        segment = "key_account", "segment_key_account"
    fired += high
    if sales >= 10 and (violations is None or violations <= 4):
        add("star_2")
        star = star or (2, "star_2")
    if (area is not None and area >= 40) or (sales >= 50):
        add("size_medium")
        size = size or (2, "size_medium")
    if sales >= 50 and cooperation is not None and cooperation >= 70:
        add("segment_growth")
        segment = segment or ("growth", "segment_growth")
    fired += upper
    if market == "rural":
        add("segment_rural_basic")
        segment = segment or ("rural_basic", "segment_rural_basic")
    fired += middle
    add("star_1")
    add("size_small")
    fired += low
    add("segment_standard")
    star = star or (1, "star_1")
    size = size or (1, "size_small")
    segment = segment or ("standard", "segment_standard")
    outputs = {"star_level": star[0], "size_class": size[0], "segment": segment[0], "grade": grade}
    reasons = {
        "star_level": star[1],
        "size_class": size[1],
        "segment": segment[1],
        "grade": GRADE_RULES[grade],
    }
    return tuple(fired), outputs, reasons


# service-entitlements ----------------------------------------------------------------

TOP_TOPICS = ["sales_data_analysis", "category_management", "display_design"]
MIDDLE_TOPICS = ["display_design", "price_labelling"]
BASIC_TOPICS = ["basic_operation"]
LARGE_ORDERING = ["online", "phone", "system_interface"]
CONVENIENCE_ORDERING = ["online", "phone", "mobile_app"]
OTHER_ORDERING = ["phone", "mobile_app"]
INDEPENDENT_CARE = ["festival_greetings", "hardship_assistance", "family_business_advice"]
CHAIN_CARE = ["festival_greetings", "staff_training"]
URBAN_SETTLEMENT = ["bank_debit", "mobile_payment", "e_wallet"]
RURAL_SETTLEMENT = ["bank_debit", "mobile_payment"]
HOTLINE = ["hotline_400"]


def entitlements(facts: dict) -> tuple[tuple[str, ...], dict, dict]:
    get = facts.get
    star = get("star_level")
    shop = get("business_format")
    market = get("market_type")
    zone = get("zone_type")
    fired = []
    add = fired.append
    granted = {}
    reasons = {}

    def grant(rule: str, service: str, params: dict) -> None:
        add(rule)
        if service not in granted:
            granted[service] = params
            reasons["services." + service] = rule

    if star is not None:
        if star >= 5:
            grant("scarce_brand_5_star", "scarce_brand_supply", {"allocation_tier": "A"})
        elif star == 4:
            grant("scarce_brand_4_star", "scarce_brand_supply", {"allocation_tier": "B"})
        if star >= 4:
            grant("guidance_high_star", "business_guidance", {"topics": TOP_TOPICS})
            if shop in ("supermarket", "mall", "convenience_store", "tobacco_liquor"):
                grant("new_products_first_wave", "new_product_placement", {"placement": "first_wave"})
    if zone == "city_centre":
        grant("visits_city_centre", "differentiated_visit", {"visits_per_month": 4})
    if star == 3:
        grant("scarce_brand_3_star", "scarce_brand_supply", {"allocation_tier": "C"})
        grant("guidance_3_star", "business_guidance", {"topics": MIDDLE_TOPICS})
    if star is not None and star >= 3:
        grant("new_products_second_wave", "new_product_placement", {"placement": "second_wave"})
    if zone == "county_town":
        grant("visits_county_town", "differentiated_visit", {"visits_per_month": 3})
    if shop == "supermarket" or shop == "mall":
        grant("ordering_large_formats", "ordering_method", {"channels": LARGE_ORDERING})
    elif shop == "convenience_store" or shop == "tobacco_liquor":
        grant("ordering_convenience", "ordering_method", {"channels": CONVENIENCE_ORDERING})
    if shop == "grocery" or shop == "tobacco_liquor" or shop == "other":
        grant("care_independent_shops", "personal_care", {"care_actions": INDEPENDENT_CARE})
    if market == "urban":
        grant("settlement_urban", "settlement_method", {"settlement_methods": URBAN_SETTLEMENT})
    elif market == "rural":
        grant("settlement_rural", "settlement_method", {"settlement_methods": RURAL_SETTLEMENT})
    if market == "urban":
        grant("visits_urban", "differentiated_visit", {"visits_per_month": 3})
    if star is not None and star <= 2:
        grant("guidance_basic", "business_guidance", {"topics": BASIC_TOPICS})
    grant("ordering_other_formats", "ordering_method", {"channels": OTHER_ORDERING})
    grant("care_chain_and_venues", "personal_care", {"care_actions": CHAIN_CARE})
    if market == "rural":
        grant("visits_rural", "differentiated_visit", {"visits_per_month": 1})
    grant("standard_services", "free_phone_ordering", {"channels": HOTLINE})
    granted.setdefault("customer_manager_visit", {"visits_per_month": 2})
    reasons.setdefault("services.customer_manager_visit", "standard_services")
    granted.setdefault("storefront_image_upkeep", {})
    reasons.setdefault("services.storefront_image_upkeep", "standard_services")
    granted.setdefault("retail_price_upkeep", {})
    reasons.setdefault("services.retail_price_upkeep", "standard_services")
    reasons["services"] = fired[0]
    return tuple(fired), {"services": granted}, reasons


HANDWRITTEN = {"customer-grading": grading, "service-entitlements": entitlements}
