"""The evaluation service's rule set, kpi-scoring, and its action vocabulary.

The rule set decides a *scoring policy* per subject (a staff member by role, or a team):
which indicators count, with what weight, target and scoring function; the weight and
minimum raters of each evaluation mode; the grades with their pay coefficients; and the
score below which an improvement plan opens. The service computes the indicator values
and applies the policy (services/evaluation/domain/scoring.py)."""

import pathlib

from services.common.rules.actions import grant_once, set_many_once, set_once
from services.common.rules.model import ActionSpec, Param, RuleSetKind, Vocabulary, supplied_facts
from services.evaluation.domain.errors import Refused
from services.evaluation.domain.people import ROLES
from services.evaluation.domain.ratings import MODES
from services.evaluation.domain.scoring import FUNCTIONS, LEAVE_OUT, RATINGS, SCORE_ZERO, ScoringPolicy

FOLDER = pathlib.Path(__file__).parent / "rule_sets"

# The indicators the service measures. Staff: visit_coverage (visits done / visits the
# menus grant), omission_rate (omissions / items due on checked cards), ratings (the five
# modes, 0-100), sales_attainment (sales / target), complaints_on_time (share resolved on
# time), complaints_overdue (count), return_visit_satisfaction (mean 1-5),
# broken_commitments (upheld inspection findings about the person's commitments in the
# period; 0 for a person responsible for customers with none), undelivered_commitments
# (committed items that customers said in the period's return visits were not delivered,
# against the card's responsible person; 0 likewise). Teams: the
# same result indicators for the team, and members_score (the members' mean total).
INDICATORS = (
    "visit_coverage",
    "omission_rate",
    RATINGS,
    "sales_attainment",
    "complaints_on_time",
    "complaints_overdue",
    "return_visit_satisfaction",
    "members_score",
    "broken_commitments",
    "undelivered_commitments",
)


def _add_band(outputs: dict, params: dict) -> None:
    """``outputs["bands"][indicator][from] = share``, once per lower bound."""
    bands = outputs.setdefault("bands", {}).setdefault(params["indicator"], {})
    bands.setdefault(params["from"], params["share"])


SUBJECTS = (("team", ""), *(("staff", role) for role in ROLES))


def subject_facts(inputs, subject_kind: str, role: str) -> dict:
    """The facts about a subject that a document declares (a document need not read the role)."""
    facts = {"subject_kind": subject_kind, "role": role or None}
    return {name: value for name, value in facts.items() if name in inputs and value is not None}


def check_policies(compiled) -> list[str]:
    """Every subject the service scores gets a usable policy: at least one indicator,
    linear targets above 0, bands and grades from 0 up (so ranges have no gaps)."""
    problems = []
    for subject_kind, role in SUBJECTS:
        decision = compiled.decide(subject_facts(compiled.document.inputs, subject_kind, role), memoise=False)
        try:
            ScoringPolicy.from_decision(compiled.name, compiled.version, decision.outputs, decision.reasons)
        except Refused as problem:
            problems.append(f"for {role or subject_kind}: {problem.message.split(': ', 1)[-1]}")
    return problems


KPI_SCORING = RuleSetKind(
    name="kpi-scoring",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "score_indicator",
            {
                "indicator": Param("one_of", allowed=INDICATORS),
                "category": Param("one_of", allowed=("process", "result")),
                "kind": Param("one_of", allowed=("quantitative", "qualitative")),
                "horizon": Param("one_of", required=False, allowed=("short_term", "long_term")),
                "scope": Param("one_of", required=False, allowed=("internal", "external")),
                "weight": Param("decimal", minimum=0, maximum=100),
                "function": Param("one_of", allowed=FUNCTIONS),
                "target": Param("decimal", required=False, minimum=0, maximum=1_000_000),
                "cap": Param("decimal", required=False, minimum=1, maximum=2),
                "pass_when": Param("one_of", required=False, allowed=("at_least", "at_most")),
                "when_missing": Param("one_of", required=False, allowed=(LEAVE_OUT, SCORE_ZERO)),
            },
            grant_once("indicators", "indicator"),
            "scores an indicator with a weight and a scoring function (the first rule to name it decides)",
        ),
        ActionSpec(
            "score_band",
            {
                "indicator": Param("one_of", allowed=INDICATORS),
                "from": Param("decimal", minimum=0, maximum=1_000_000),
                "share": Param("decimal", minimum=0, maximum=2),
            },
            _add_band,
            "a band of a banded indicator: values from this lower bound up to the next earn this share",
        ),
        ActionSpec(
            "weigh_mode",
            {
                "mode": Param("one_of", allowed=MODES),
                "weight": Param("decimal", minimum=0, maximum=100),
                "min_raters": Param("integer", minimum=1, maximum=100),
            },
            grant_once("modes", "mode"),
            "an evaluation mode's weight within the ratings indicator and its minimum raters",
        ),
        ActionSpec(
            "grade_from",
            {
                "grade": Param("text"),
                "from_score": Param("decimal", minimum=0, maximum=200),
                "pay_coefficient": Param("decimal", minimum=0, maximum=3),
            },
            grant_once("grades", "grade"),
            "a grade reached from a total score, with its performance-pay coefficient",
        ),
        ActionSpec(
            "open_plan_below",
            {
                "score": Param("decimal", minimum=0, maximum=200),
                "due_in_days": Param("integer", minimum=1, maximum=365),
            },
            set_many_once({"score": "plan_below", "due_in_days": "plan_due_days"}),
            "a total below this score opens a PDCA improvement plan due in so many days",
        ),
    ),
    default_path=FOLDER / "kpi-scoring.yaml",
    facts=supplied_facts(always={"subject_kind": ("staff", "team")}, sometimes={"role": ROLES}),
    check=check_policies,
)

# Return-visit sampling (定期回访): the share of a star level's (and zone's) customers a
# period's return-visit plan calls.
RETURN_VISIT_SAMPLING = RuleSetKind(
    name="return-visit-sampling",
    vocabulary=Vocabulary.of(
        ActionSpec(
            "sample_share",
            {"share": Param("decimal", minimum=0, maximum=1)},
            set_once("share", "share"),
            "the share of the customers of this star level and zone to call (the first rule decides)",
        ),
    ),
    default_path=FOLDER / "return-visit-sampling.yaml",
    facts=supplied_facts(always={"star_level": "integer"}, sometimes={"zone": "text"}),
)

RULE_SETS = (KPI_SCORING, RETURN_VISIT_SAMPLING)
