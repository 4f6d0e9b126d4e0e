"""Retail customers (零售客户) and their classification: the business words, the checks,
and the change and history policy, free of gRPC and of the database.

The customer's input fields are declared once, in ``INPUT_FIELDS``; storage columns,
list filters, grading facts, import columns and the contract mapping are derived from it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.licences import normalise_licence

# -- vocabularies -------------------------------------------------------------------------
BUSINESS_FORMATS = (
    "grocery",
    "convenience_store",
    "supermarket",
    "mall",
    "tobacco_liquor",
    "entertainment",
    "other",
)
MARKET_TYPES = ("urban", "rural")
ZONE_TYPES = ("city_centre", "county_town", "township", "village")
CREDIT_RATINGS = ("A", "B", "C", "D")
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
DESCRIPTION_KINDS = ("standard", "personalised")

GRADING_RULE_SET = "customer-grading"
ENTITLEMENTS_RULE_SET = "service-entitlements"

# The business-format letter and market digit of the classification code (分类编码).
FORMAT_LETTERS = dict(zip(BUSINESS_FORMATS, "ABCDEFG", strict=True))
MARKET_DIGITS = {"urban": "1", "rural": "2"}
LICENCE_MAX_LENGTH = 40
QUOTED_PREFIX = 40  # characters of a bad value quoted back in a message

# -- the input fields, declared once ---------------------------------------------------
TEXT, CHOICE, DECIMAL, INTEGER = "text", "choice", "decimal", "integer"


@dataclass(frozen=True)
class InputField:
    """One thing a caller says about a customer, with how it is checked and used."""

    name: str
    kind: str = TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    filter: bool = False  # customers can be listed and reclassified by it
    grading_fact: bool = False  # supplied to the customer-grading rule set

    @property
    def numeric(self) -> bool:
        return self.kind in (DECIMAL, INTEGER)

    @property
    def optional_number(self) -> bool:
        """A number the caller may leave out (stored as nothing, not as zero)."""
        return self.numeric and not self.required


INPUT_FIELDS = (
    InputField("licence_number", required=True),  # 许可证号, the natural key
    InputField("name", required=True),
    InputField("business_format", CHOICE, True, BUSINESS_FORMATS, filter=True, grading_fact=True),
    InputField("market_type", CHOICE, True, MARKET_TYPES, filter=True, grading_fact=True),
    InputField("zone_type", CHOICE, choices=ZONE_TYPES, filter=True),
    InputField("district", filter=True),
    InputField("county"),
    InputField("township"),
    InputField("market_zone", filter=True),  # a market zone's code; routes to its team
    InputField("monthly_sales_cartons", DECIMAL, True, minimum=0, maximum=1_000_000, grading_fact=True),
    InputField("shop_area_m2", DECIMAL, minimum=0, maximum=1_000_000, grading_fact=True),
    InputField("compliance_violations_12m", INTEGER, minimum=0, maximum=10_000, grading_fact=True),
    InputField("credit_rating", CHOICE, choices=CREDIT_RATINGS, grading_fact=True),
    InputField("cooperation_score", INTEGER, minimum=0, maximum=100, grading_fact=True),
    InputField("contact_name"),
    InputField("contact_phone"),
    InputField("customer_manager_id"),
)
FIELDS = {f.name: f for f in INPUT_FIELDS}
INPUT_NAMES = tuple(FIELDS)
# Customers are listed by these: input fields, their team, and what they were classified as.
FILTER_FIELDS = (*(f.name for f in INPUT_FIELDS if f.filter), "team_id", "star_level", "grade")


def _quoted(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= QUOTED_PREFIX else text[:QUOTED_PREFIX] + "…")


def normalised_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every input field, texts trimmed and the licence normalised; missing ones empty."""
    inputs = {}
    for spec in INPUT_FIELDS:
        value = values.get(spec.name)
        if spec.numeric:
            inputs[spec.name] = value
        elif spec.name == "licence_number":
            inputs[spec.name] = normalise_licence(value or "")
        else:
            inputs[spec.name] = (value or "").strip()
    return inputs


def field_problem(spec: InputField, value: Any) -> str | None:
    """What is wrong with one field's value on its own, or None."""
    if spec.numeric:
        if value is None:
            return "is required" if spec.required else None
        whole = spec.kind == INTEGER
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (whole and not float(value).is_integer())
            or not math.isfinite(value)
            or not spec.minimum <= value <= spec.maximum
        ):
            kind = "a whole number" if whole else "a finite number"
            return f"must be {kind} from {spec.minimum:,} to {spec.maximum:,}"
        return None
    if not value:
        if not spec.required:
            return None
        return f"is required: one of {', '.join(spec.choices)}" if spec.choices else "is required"
    if spec.choices and value not in spec.choices:
        return f"unknown value {_quoted(value)}: use one of {', '.join(spec.choices)}"
    if spec.name == "licence_number" and (len(value) > LICENCE_MAX_LENGTH or not value.isprintable()):
        return f"at most {LICENCE_MAX_LENGTH} printable characters"
    return None


def check_inputs(inputs: Mapping[str, Any], known_zone: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Every problem with a customer's (normalised) input, as (field, what is wrong)."""
    problems = [
        (spec.name, problem)
        for spec in INPUT_FIELDS
        if (problem := field_problem(spec, inputs.get(spec.name))) is not None
    ]
    zone = inputs.get("market_zone") or ""
    if zone and not known_zone(zone):
        problems.append(
            ("market_zone", f"unknown market zone {_quoted(zone)}; create it first (UpsertMarketZone)")
        )
    return problems


def check_update_mask(mask: Iterable[str]) -> list[tuple[str, str]]:
    problems = [("update_mask", f"unknown field {_quoted(path)}") for path in mask if path not in FIELDS]
    if "licence_number" in mask:
        problems.append(("update_mask", "licence_number names the customer and cannot change"))
    return problems


def value_from_text(spec: InputField, text: str) -> Any:
    """A cell of an imported table, read as text, converted by the field's declared type;
    ValueError says why it does not fit. Texts are kept as written (leading zeros too)."""
    text = text.strip()
    if not spec.numeric:
        return text
    try:
        value = int(text) if spec.kind == INTEGER else float(text)
    except ValueError:
        kind = "a whole number" if spec.kind == INTEGER else "a number"
        raise ValueError(f"{_quoted(text)} is not {kind}") from None
    problem = field_problem(spec, value)
    if problem:
        raise ValueError(problem)
    return value


# -- classifying ----------------------------------------------------------------------
GRADING_FACTS = tuple(f.name for f in INPUT_FIELDS if f.grading_fact)


def grading_facts(inputs: Mapping[str, Any]) -> dict:
    return {name: value for name in GRADING_FACTS if (value := inputs.get(name)) is not None and value != ""}


def entitlement_facts(inputs: Mapping[str, Any], star_level: int) -> dict:
    facts = {
        "star_level": star_level,
        "business_format": inputs["business_format"],
        "market_type": inputs["market_type"],
        "zone_type": inputs.get("zone_type") or None,
    }
    return {k: v for k, v in facts.items() if v is not None}


def classification_code(business_format: str, market_type: str, size_class: int) -> str:
    """Format letter x market digit x size class, as the national scheme combines them."""
    return f"{FORMAT_LETTERS[business_format]}{MARKET_DIGITS[market_type]}{size_class}"


def rule_set_of(output: str) -> str:
    """Which rule set decides an output: services come from the entitlements."""
    return ENTITLEMENTS_RULE_SET if output.startswith("services.") else GRADING_RULE_SET


class IncompleteDecision(Exception):
    """The active rule sets left an output the classification needs undecided."""


# What each part of an outcome is: something the customer notices, a rule-set version, or
# the explanation (which rules fired and decided), which a bulk comparison need not read.
NOTICED, VERSION, EXPLANATION = "noticed", "version", "explanation"


_NOTICED, _VERSION, _EXPLANATION, _OTHER = ({"role": role} for role in (NOTICED, VERSION, EXPLANATION, ""))


@dataclass(frozen=True)
class Outcome:
    """One classification: what was decided, on which versions, and why."""

    grade: int = field(metadata=_NOTICED)
    star_level: int = field(metadata=_NOTICED)
    size_class: int = field(metadata=_OTHER)
    classification_code: str = field(metadata=_NOTICED)
    segment: str = field(metadata=_NOTICED)
    services: dict = field(metadata=_NOTICED)
    grading_version: int = field(metadata=_VERSION)
    entitlements_version: int = field(metadata=_VERSION)
    reasons: dict = field(metadata=_EXPLANATION, default_factory=dict)  # output -> rule id; see rule_set_of
    grading_fired: tuple = field(metadata=_EXPLANATION, default=())
    entitlement_fired: tuple = field(metadata=_EXPLANATION, default=())

    def noticed(self) -> tuple:
        """What a customer would notice changing (not versions or reasons)."""
        return _noticed(self)

    def versions(self) -> tuple:
        return _versions(self)

    def version_of(self, rule_set: str) -> int:
        """The version of ``rule_set`` this outcome was decided on (KeyError for a rule set
        classification does not decide with)."""
        if rule_set == GRADING_RULE_SET:
            return self.grading_version
        if rule_set == ENTITLEMENTS_RULE_SET:
            return self.entitlements_version
        raise KeyError(rule_set)

    def explained(self) -> list[tuple[str, str, int, str]]:
        """(output, rule set, version, deciding rule id) for every decided output."""
        return [
            (output, rule_set_of(output), self.version_of(rule_set_of(output)), rule_id)
            for output, rule_id in sorted(self.reasons.items())
        ]


OUTCOME_PARTS = tuple(f.name for f in dataclasses.fields(Outcome))
NOTICED_PARTS = tuple(f.name for f in dataclasses.fields(Outcome) if f.metadata["role"] == NOTICED)
# What a bulk comparison reads of a stored classification.
COMPARED_PARTS = tuple(f.name for f in dataclasses.fields(Outcome) if f.metadata["role"] != EXPLANATION)
VERSION_PARTS = tuple(f.name for f in dataclasses.fields(Outcome) if f.metadata["role"] == VERSION)
_noticed, _versions = operator.attrgetter(*NOTICED_PARTS), operator.attrgetter(*VERSION_PARTS)


def classify(inputs: Mapping[str, Any], decide: Callable[[str, dict], Any]) -> Outcome:
    """Grades the customer, then decides its entitlements from the star level it got."""
    grading = decide(GRADING_RULE_SET, grading_facts(inputs))
    needed = [name for name in ("grade", "star_level", "size_class") if name not in grading.outputs]
    if needed:
        raise IncompleteDecision(f"{GRADING_RULE_SET} v{grading.version} decided no {', '.join(needed)}")
    star_level = grading.outputs["star_level"]
    entitlements = decide(ENTITLEMENTS_RULE_SET, entitlement_facts(inputs, star_level))
    reasons = {**grading.reasons, **{k: rule for k, rule in entitlements.reasons.items() if k != "services"}}
    return Outcome(
        grade=grading.outputs["grade"],
        star_level=star_level,
        size_class=grading.outputs["size_class"],
        classification_code=classification_code(
            inputs["business_format"], inputs["market_type"], grading.outputs["size_class"]
        ),
        segment=grading.outputs.get("segment", ""),
        services=entitlements.outputs.get("services", {}),
        grading_version=grading.version,
        entitlements_version=entitlements.version,
        reasons=reasons,
        grading_fired=tuple(grading.fired),
        entitlement_fired=tuple(entitlements.fired),
    )


def entitle_again(inputs: Mapping[str, Any], before: Outcome, decide: Callable[[str, dict], Any]) -> Outcome:
    """The entitlements decided anew on the stored grading, which is kept with its reasons
    and fired rules: what a new entitlements version alone changes. The same outcome as
    :func:`classify` when the grading version is the one that decided ``before``."""
    decision = decide(ENTITLEMENTS_RULE_SET, entitlement_facts(inputs, before.star_level))
    grading_reasons = {k: rule for k, rule in before.reasons.items() if rule_set_of(k) == GRADING_RULE_SET}
    return dataclasses.replace(
        before,
        services=decision.outputs.get("services", {}),
        entitlements_version=decision.version,
        reasons={**grading_reasons, **{k: rule for k, rule in decision.reasons.items() if k != "services"}},
        entitlement_fired=tuple(decision.fired),
    )


def classify_with_draft(
    inputs: Mapping[str, Any], before: Outcome | None, draft: str, decide: Callable[[str, dict], Any]
) -> Outcome:
    """What a draft rule set would decide: a draft of the entitlements keeps the stored
    grading (so only the services can change); a grading draft decides everything anew."""
    if draft == ENTITLEMENTS_RULE_SET and before is not None:
        decision = decide(ENTITLEMENTS_RULE_SET, entitlement_facts(inputs, before.star_level))
        changed = {"services": decision.outputs.get("services", {}), "entitlements_version": decision.version}
        return Outcome(
            **{**vars(before), **changed, "reasons": {}, "grading_fired": (), "entitlement_fired": ()}
        )
    return classify(inputs, decide)


# -- the change and history policy ---------------------------------------------------------
CREATE, UPDATE, ON_DEMAND, RECLASSIFY = "create", "update", "on_demand", "reclassify"


class Effect(enum.Enum):
    """What recording an outcome does to a customer's stored classification."""

    NOTHING = "nothing"  # same result on the same versions: nothing is written
    REFRESH = "refresh"  # same result on newer versions: the current classification only
    CHANGE = "change"  # the current classification and a history entry


def effect_of(reason: str, before: Outcome | None, after: Outcome) -> Effect:
    """A classification a caller asked for (create, update, on demand) is always a
    history entry; a reclassification is one only when it changes what the customer
    notices, refreshes the current one when only the versions differ, else writes nothing."""
    if reason != RECLASSIFY or before is None or before.noticed() != after.noticed():
        return Effect.CHANGE
    return Effect.REFRESH if before.versions() != after.versions() else Effect.NOTHING


@dataclass(frozen=True)
class ClassificationRecord:
    """A stored classification: the outcome, when, and why it was made."""

    outcome: Outcome
    reason: str  # create, update, on_demand, reclassify
    classified_at: datetime.datetime


class CustomerInactive(Exception):
    def __init__(self, licence: str):
        super().__init__(f"customer {licence} is inactive")
        self.licence = licence


@dataclass
class Customer:
    """A retail customer: what callers said about it, its team, and its classification."""

    inputs: dict[str, Any]  # every INPUT_FIELDS name
    team_id: str = ""
    active: bool = True
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    deactivated_at: datetime.datetime | None = None
    deactivation_reason: str = ""
    classification: ClassificationRecord | None = None
    id: int | None = None
    version: int = 0  # the stored version this was read at; every write makes a new one

    @property
    def licence_number(self) -> str:
        return self.inputs["licence_number"]

    @property
    def outcome(self) -> Outcome | None:
        return self.classification.outcome if self.classification else None

    @classmethod
    def register(cls, inputs: dict, team_id: str, outcome: Outcome, moment: datetime.datetime) -> Customer:
        customer = cls(inputs=dict(inputs), team_id=team_id, created_at=moment, updated_at=moment)
        customer.record(outcome, CREATE, moment)
        return customer

    def revised_inputs(self, values: Mapping[str, Any], fields: Iterable[str]) -> dict:
        """The inputs with the named fields replaced (the licence never changes)."""
        revised = dict(self.inputs)
        revised.update({name: values.get(name) for name in fields if name != "licence_number"})
        return normalised_inputs(revised)

    def revise(self, inputs: dict, team_id: str, outcome: Outcome, moment: datetime.datetime) -> None:
        self.inputs, self.team_id, self.updated_at = dict(inputs), team_id, moment
        self.record(outcome, UPDATE, moment)

    def ensure_active(self) -> None:
        if not self.active:
            raise CustomerInactive(self.licence_number)

    def deactivate(self, reason: str, moment: datetime.datetime) -> bool:
        """Marks the customer inactive (its record and history stay); False if it was already."""
        if not self.active:
            return False
        self.active, self.deactivated_at, self.deactivation_reason = False, moment, reason
        self.updated_at = moment
        return True

    def record(self, outcome: Outcome, reason: str, moment: datetime.datetime) -> Effect:
        """Takes a new outcome as the current classification when the policy says so."""
        effect = effect_of(reason, self.outcome, outcome)
        if effect is not Effect.NOTHING:
            self.classification = ClassificationRecord(outcome, reason, moment)
        return effect


# -- territories and the service menu -------------------------------------------------------
class ZoneOwnedElsewhere(Exception):
    def __init__(self, code: str, team_id: str):
        super().__init__(f"zone {code} belongs to team {team_id}; use ReassignMarketZone to move it")
        self.code = code


@dataclass
class MarketZone:
    """A market zone (片区): a territory owned by one team (客户服务部)."""

    code: str
    name: str
    team_id: str
    updated_at: datetime.datetime

    def rename(self, name: str, team_id: str, moment: datetime.datetime) -> None:
        """An upsert may rename a zone, never give it to another team."""
        if team_id != self.team_id:
            raise ZoneOwnedElsewhere(self.code, self.team_id)
        self.name, self.updated_at = name, moment

    def reassign(self, team_id: str, moment: datetime.datetime) -> None:
        self.team_id, self.updated_at = team_id, moment


def check_required(prefix: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(f"{prefix}{name}", "is required") for name, value in values.items() if not value]


@dataclass
class ServiceDescription:
    """How a service is delivered: procedure (服务程序), standard (服务标准), commitment (服务承诺)."""

    service: str
    name: str
    kind: str  # standard or personalised
    procedure_steps: list[str]
    standard: str
    commitment: str
    updated_at: datetime.datetime | None = None

    def problems(self) -> list[tuple[str, str]]:
        found = check_required(
            "description.",
            {
                "service": self.service,
                "name": self.name,
                "standard": self.standard,
                "commitment": self.commitment,
            },
        )
        if not self.procedure_steps:
            found.append(("description.procedure_steps", "list at least one step"))
        if self.kind not in DESCRIPTION_KINDS:
            found.append(("description.kind", "must be standard or personalised"))
        return found

    @classmethod
    def undescribed(cls, service: str) -> ServiceDescription:
        """A granted service nobody has described yet: shown by its name alone."""
        return cls(service=service, name=service, kind="", procedure_steps=[], standard="", commitment="")


def menu(customer: Customer, descriptions: list[ServiceDescription]) -> list[tuple[ServiceDescription, dict]]:
    """The customer's services with their parameters, in the descriptions' order."""
    return services_menu(customer.outcome.services if customer.outcome else {}, descriptions)


def services_menu(
    services: Mapping[str, dict], descriptions: list[ServiceDescription]
) -> list[tuple[ServiceDescription, dict]]:
    """These services with their parameters, in the descriptions' order."""
    described = {d.service: d for d in descriptions}
    order = list(described)
    items = [(described.get(s) or ServiceDescription.undescribed(s), p) for s, p in services.items()]
    items.sort(key=lambda item: order.index(item[0].service) if item[0].service in order else len(order))
    return items


# -- impact preview ---------------------------------------------------------------------------
@dataclass
class PreviewReport:
    """What a draft rule set would change, counted over customers."""

    rule_set: str
    customers: int = 0
    changed: int = 0
    grade_transitions: Counter = field(default_factory=Counter)
    star_transitions: Counter = field(default_factory=Counter)
    gained: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    reparameterised: Counter = field(default_factory=Counter)
    sample: list = field(default_factory=list)  # (licence, before Outcome or None, after Outcome)
    seconds: float = 0.0

    def count(self, licence: str, before: Outcome | None, after: Outcome, sample_size: int) -> None:
        """Counts one customer; only what the customer would notice is a change."""
        self.customers += 1
        if before is not None and before.noticed() == after.noticed():
            return
        self.changed += 1
        old_grade, old_star = (before.grade, before.star_level) if before else (0, 0)
        if old_grade != after.grade:
            self.grade_transitions[(old_grade, after.grade)] += 1
        if old_star != after.star_level:
            self.star_transitions[(old_star, after.star_level)] += 1
        old_services = before.services if before else {}
        old, new = set(old_services), set(after.services)
        self.gained.update(new - old)
        self.lost.update(old - new)
        self.reparameterised.update(s for s in old & new if old_services[s] != after.services[s])
        if len(self.sample) < sample_size:
            self.sample.append((licence, before, after))
