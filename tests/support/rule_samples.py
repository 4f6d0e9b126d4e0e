"""Documents and facts the rules tests have in common."""

import random

from services.composition import PACK

KINDS = PACK.rule_set_catalogue().all_kinds()
GRADING = KINDS["customer-grading"]
ENTITLEMENTS = KINDS["service-entitlements"]

FORMATS = ["grocery", "convenience_store", "supermarket", "mall", "tobacco_liquor", "entertainment", "other"]


def default_source(name: str) -> str:
    return KINDS[name].default_path.read_text(encoding="utf-8")


def random_grading_facts(rng: random.Random) -> dict:
    """Varied customers, optional inputs sometimes missing, values on and around thresholds."""
    facts = {
        "monthly_sales_cartons": rng.choice(
            [0, 2, 9.5, 10, 40, 49.9, 50, 100, 150, 200, 499, 500, rng.uniform(0, 700)]
        ),
        "business_format": rng.choice(FORMATS),
        "market_type": rng.choice(["urban", "rural"]),
    }
    optional = {
        "shop_area_m2": rng.choice([10, 39.9, 40, 99, 100, rng.uniform(5, 400)]),
        "compliance_violations_12m": rng.randint(0, 6),
        "credit_rating": rng.choice("ABCD"),
        "cooperation_score": rng.choice([54, 55, 69, 70, 84, 85, rng.randint(0, 100)]),
    }
    for name, value in optional.items():
        if rng.random() < 0.8:
            facts[name] = value
    return facts


MINIMAL = """\
name: customer-grading
hit_policy: {policy}
inputs:
  monthly_sales_cartons: {{type: decimal, required: true}}
  business_format: {{type: one_of, values: [grocery, convenience_store, supermarket, mall, tobacco_liquor, entertainment, other], required: true}}
  market_type: {{type: one_of, values: [urban, rural], required: true}}
  credit_rating: {{type: one_of, values: [A, B, C, D]}}
rules:
{rules}
"""


def minimal(rules: str, policy: str = "collect") -> str:
    return MINIMAL.format(policy=policy, rules=rules)
