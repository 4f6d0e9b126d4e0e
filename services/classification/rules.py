"""The classification service's rule sets and their action vocabularies."""

import pathlib
from collections.abc import Callable

from services.classification.domain import (
    BUSINESS_FORMATS,
    DECIMAL,
    ENTITLEMENTS_RULE_SET,
    GRADING_RULE_SET,
    INPUT_FIELDS,
    MARKET_TYPES,
    SERVICES,
    ZONE_TYPES,
)
from services.classification.ports import CannotDecide, Decision, DraftRuleSet, InvalidDraft
from services.common.rules.actions import grant_once, set_once
from services.common.rules.engine import CompiledRuleSet, FactsError, RuleSetClosed
from services.common.rules.model import ActionSpec, Param, RuleSetKind, Vocabulary, supplied_facts
from services.common.rules.registry import RuleSetRegistry
from services.common.rules.validation import validate

FOLDER = pathlib.Path(__file__).parent / "rule_sets"
MEMO_LIMIT = 100_000  # decisions a bulk run remembers (a few hundred bytes each)


def _fact_type(spec) -> str | tuple[str, ...]:
    """A grading fact is typed as its input field is declared."""
    return spec.choices or ("decimal" if spec.kind == DECIMAL else "integer")


GRADING = RuleSetKind(
    name=GRADING_RULE_SET,
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
        always={f.name: _fact_type(f) for f in INPUT_FIELDS if f.grading_fact and f.required},
        sometimes={f.name: _fact_type(f) for f in INPUT_FIELDS if f.grading_fact and not f.required},
    ),
)

ENTITLEMENTS = RuleSetKind(
    name=ENTITLEMENTS_RULE_SET,
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
        sometimes={"zone_type": ZONE_TYPES},  # named as the customer record names it
    ),
    aliases={"market_zone": "zone_type"},  # the record's market_zone is the zone's code, not its type
    renamed={"market_zone": "zone_type"},  # versions stored before the fact took the record's name
)

RULE_SETS = (GRADING, ENTITLEMENTS)


class RegistryRuleSets:
    """The rule sets the use cases decide with (ports.RuleSets), over the process's registry."""

    def __init__(self, registry: RuleSetRegistry):
        self.registry = registry

    def decide(self, rule_set: str, facts: dict) -> Decision:
        try:
            return self.registry.decide(rule_set, facts)
        except FactsError as problem:
            raise CannotDecide(str(problem)) from None

    def describe(self, rule_set: str, version: int, rule_id: str) -> str:
        compiled = self.registry.serving(rule_set)
        if compiled.version == version:
            rule = compiled._rules.get(rule_id)  # noqa: SLF001 - same package family
            return rule.description if rule else ""
        return ""

    def memoised(self) -> Callable[[str, dict], Decision]:
        """A decide function for one bulk run: facts a serving version cannot tell apart
        (CompiledRuleSet.decision_key: equal keys, equal decisions) are decided once by it,
        so rules_decisions_total counts those. A version swapped in meanwhile has keys of
        its own. Its decisions are shared between customers: read them, never change them."""
        cache: dict[tuple, Decision] = {}  # by what the version tells apart
        seen: dict[tuple, Decision] = {}  # by the facts as given: repeats skip preparing them

        def decide(rule_set: str, facts: dict) -> Decision:
            while True:
                compiled = self.registry.serving(rule_set)
                given = (rule_set, compiled.version, *facts.items())
                hit = seen.get(given)
                if hit is not None:
                    return hit
                try:
                    prepared = compiled.prepare_facts(facts)
                except FactsError:
                    return self.decide(rule_set, facts)  # counted as invalid facts, CannotDecide
                key = (rule_set, compiled.version, compiled.decision_key(prepared))
                hit = cache.get(key)
                if hit is None:
                    try:
                        hit = compiled.serve(prepared, prepared=True)
                    except RuleSetClosed:
                        continue  # swapped meanwhile: decide on the new version
                    if len(cache) >= MEMO_LIMIT:
                        cache.clear()
                    cache[key] = hit
                if len(seen) >= MEMO_LIMIT:
                    seen.clear()
                seen[given] = hit
                return hit

        return decide

    def serving_versions(self) -> dict[str, int]:
        return {kind.name: self.registry.serving_version(kind.name) for kind in RULE_SETS}

    def draft(self, source: str) -> DraftRuleSet:
        result = validate(source, self.registry.kinds)
        if not result.valid:
            raise InvalidDraft([str(d) for d in result.errors])
        return _Draft(result.compiled)


class _Draft:
    def __init__(self, compiled: CompiledRuleSet):
        self.compiled = compiled
        self.name = compiled.name

    def decide(self, facts: dict) -> Decision:
        try:
            return self.compiled.decide(facts)
        except FactsError as problem:
            raise CannotDecide(str(problem)) from None

    def close(self) -> None:
        self.compiled.close()
