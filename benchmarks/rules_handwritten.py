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
STARS_FROM_THREE = {0: (), 3: ("star_3",), 4: ("star_4", "star_3"), 5: ("star_5", "star_4", "star_3")}


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
    # star_5 implies star_4, star_4 implies star_3, star_3 implies star_2: tested nested
    star = 0
    if (
        sales >= 40
        and (credit == "A" or credit == "B" or credit == "C")
        and violations is not None
        and violations <= 2
        and cooperation is not None
        and cooperation >= 55
    ):
        star = 3
        if sales >= 100 and (credit == "A" or credit == "B") and violations <= 1 and cooperation >= 70:
            star = 4
            if sales >= 200 and credit == "A" and violations == 0 and cooperation >= 85:
                star = 5
    fired = list(STARS_FROM_THREE[star])
    add = fired.append
    size = segment = None
    if (area is not None and area >= 100) or (sales >= 150):
        add("size_large")
        size = 3, "size_large"
    if sales >= 200 and credit == "A":
        add("segment_key_account")
        segment = "key_account", "segment_key_account"
    fired += high
    if star or (sales >= 10 and (violations is None or violations <= 4)):
        add("star_2")
        star = star or 2
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
    star = star or 1
    size = size or (1, "size_small")
    segment = segment or ("standard", "segment_standard")
    outputs = {"star_level": star, "size_class": size[0], "segment": segment[0], "grade": grade}
    reasons = {
        "star_level": f"star_{star}",
        "size_class": size[1],
        "segment": segment[1],
        "grade": GRADE_RULES[grade],
    }
    return tuple(fired), outputs, reasons


# service-entitlements ----------------------------------------------------------------

TOP_TOPICS = ["sales_data_analysis", "category_management", "display_design"]
LARGE_FORMATS = ("supermarket", "mall")
CONVENIENCE_FORMATS = ("convenience_store", "tobacco_liquor")
INDEPENDENT_FORMATS = ("grocery", "tobacco_liquor", "other")
# star level (5: five and more, 2: two and fewer) -> (tier, rule), (topics, rule)
SCARCE = {5: ("A", "scarce_brand_5_star"), 4: ("B", "scarce_brand_4_star"), 3: ("C", "scarce_brand_3_star")}
GUIDANCE = {
    5: (TOP_TOPICS, "guidance_high_star"),
    4: (TOP_TOPICS, "guidance_high_star"),
    3: (["display_design", "price_labelling"], "guidance_3_star"),
    2: (["basic_operation"], "guidance_basic"),
}
ORDERING = {
    "supermarket": (["online", "phone", "system_interface"], "ordering_large_formats"),
    "mall": (["online", "phone", "system_interface"], "ordering_large_formats"),
    "convenience_store": (["online", "phone", "mobile_app"], "ordering_convenience"),
    "tobacco_liquor": (["online", "phone", "mobile_app"], "ordering_convenience"),
}
OTHER_ORDERING = (["phone", "mobile_app"], "ordering_other_formats")
INDEPENDENT_CARE = ["festival_greetings", "hardship_assistance", "family_business_advice"]
CHAIN_CARE = ["festival_greetings", "staff_training"]
SETTLEMENT = {
    "urban": ["bank_debit", "mobile_payment", "e_wallet"],
    "rural": ["bank_debit", "mobile_payment"],
}
HOTLINE = ["hotline_400"]


def entitlements(facts: dict) -> tuple[tuple[str, ...], dict, dict]:
    star = facts["star_level"]  # the three required inputs are never missing
    shop = facts["business_format"]
    market = facts["market_type"]
    zone = facts.get("zone_type")
    level = 5 if star >= 5 else star if star >= 2 else 2
    urban, rural = market == "urban", market == "rural"
    fired = []
    add = fired.append
    if level == 5:
        add("scarce_brand_5_star")
    elif level == 4:
        add("scarce_brand_4_star")
    if level >= 4:
        add("guidance_high_star")
        if shop in LARGE_FORMATS or shop in CONVENIENCE_FORMATS:
            add("new_products_first_wave")
    if zone == "city_centre":
        add("visits_city_centre")
    if star == 3:
        add("scarce_brand_3_star")
        add("guidance_3_star")
    if level >= 3:
        add("new_products_second_wave")
    if zone == "county_town":
        add("visits_county_town")
    ordering, ordering_rule = ORDERING.get(shop, OTHER_ORDERING)
    if ordering_rule != "ordering_other_formats":
        add(ordering_rule)
    independent = shop in INDEPENDENT_FORMATS
    if independent:
        add("care_independent_shops")
    if urban:
        add("settlement_urban")
    elif rural:
        add("settlement_rural")
    if urban:
        add("visits_urban")
    if level == 2:
        add("guidance_basic")
    add("ordering_other_formats")
    add("care_chain_and_venues")
    if rural:
        add("visits_rural")
    add("standard_services")

    topics, guidance_rule = GUIDANCE[level]
    granted = {
        "business_guidance": {"topics": topics},
        "ordering_method": {"channels": ordering},
        "personal_care": {"care_actions": INDEPENDENT_CARE if independent else CHAIN_CARE},
        "free_phone_ordering": {"channels": HOTLINE},
        "customer_manager_visit": {"visits_per_month": 2},
        "storefront_image_upkeep": {},
        "retail_price_upkeep": {},
    }
    reasons = {
        "services": fired[0],
        "services.business_guidance": guidance_rule,
        "services.ordering_method": ordering_rule,
        "services.personal_care": "care_independent_shops" if independent else "care_chain_and_venues",
        "services.free_phone_ordering": "standard_services",
        "services.customer_manager_visit": "standard_services",
        "services.storefront_image_upkeep": "standard_services",
        "services.retail_price_upkeep": "standard_services",
    }
    if level >= 3:
        tier, reasons["services.scarce_brand_supply"] = SCARCE[level]
        granted["scarce_brand_supply"] = {"allocation_tier": tier}
        first_wave = level >= 4 and (shop in LARGE_FORMATS or shop in CONVENIENCE_FORMATS)
        granted["new_product_placement"] = {"placement": "first_wave" if first_wave else "second_wave"}
        reasons["services.new_product_placement"] = (
            "new_products_first_wave" if first_wave else "new_products_second_wave"
        )
    if urban or rural:
        granted["settlement_method"] = {"settlement_methods": SETTLEMENT[market]}
        reasons["services.settlement_method"] = "settlement_urban" if urban else "settlement_rural"
    visit = (
        (4, "visits_city_centre")
        if zone == "city_centre"
        else (3, "visits_county_town")
        if zone == "county_town"
        else (3, "visits_urban")
        if urban
        else (1, "visits_rural")
        if rural
        else None
    )
    if visit:
        granted["differentiated_visit"] = {"visits_per_month": visit[0]}
        reasons["services.differentiated_visit"] = visit[1]
    return tuple(fired), {"services": granted}, reasons


HANDWRITTEN = {"customer-grading": grading, "service-entitlements": entitlements}
