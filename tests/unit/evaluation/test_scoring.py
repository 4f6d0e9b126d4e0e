import pytest

from services.common.rules.validation import validate
from services.evaluation.domain.errors import Refused
from services.evaluation.domain.ratings import ModeRatings
from services.evaluation.domain.scoring import (
    GradeRule,
    IndicatorRule,
    ModeRule,
    ScoringPolicy,
    score,
)
from services.evaluation.rules import KPI_SCORING, RULE_SETS

GRADES = (GradeRule("D", 0, 0.8), GradeRule("C", 60, 1.0), GradeRule("A", 90, 1.2))


def rule(indicator, weight, function="linear", **values):
    return IndicatorRule(
        indicator, "process", "quantitative", "short_term", "internal", weight, function, **values
    )


def policy(*indicators, modes=(), plan_below=None):
    return ScoringPolicy("kpi-scoring", 3, tuple(indicators), tuple(modes), GRADES, plan_below)


def test_linear_is_value_over_target_capped():
    sales = rule("sales_attainment", 10, target=1.0, cap=1.2)
    assert sales.share(0.5) == 0.5
    assert sales.share(1.1) == pytest.approx(1.1)
    assert sales.share(3.0) == 1.2


def test_threshold_meets_its_target_either_way():
    assert rule("complaints_overdue", 5, "threshold", target=0, pass_when="at_most").share(0) == 1
    assert rule("complaints_overdue", 5, "threshold", target=0, pass_when="at_most").share(1) == 0
    assert rule("visit_coverage", 5, "threshold", target=0.9).share(0.95) == 1


def test_bands_from_zero_up_leave_no_gaps():
    omissions = rule("omission_rate", 10, "banded", bands=((0, 1.0), (0.05, 0.5), (0.2, 0.0)))
    assert [omissions.share(v) for v in (0, 0.049, 0.05, 0.19, 0.2, 5)] == [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]


def test_a_missing_indicator_is_left_out_and_the_others_scaled_up():
    result = score(
        policy(rule("visit_coverage", 60, target=1), rule("sales_attainment", 40, target=1)),
        {"visit_coverage": 0.5, "sales_attainment": None},
        {},
    )
    coverage, sales = result.indicators
    assert coverage.effective_weight == 100 and coverage.points == 50
    assert "sales_attainment had no data" in coverage.note
    assert sales.value is None and sales.points == 0 and "left out" in sales.note
    assert result.total == 50 and result.grade == "D"


def test_score_zero_keeps_the_weight_and_says_so():
    result = score(
        policy(
            rule("visit_coverage", 60, target=1),
            rule("sales_attainment", 40, target=1, when_missing="score_zero"),
        ),
        {"visit_coverage": 1.0, "sales_attainment": None},
        {},
    )
    assert result.total == 60
    assert result.indicators[1].effective_weight == 40
    assert "scored 0 by rule" in result.indicators[1].note


def test_no_data_at_all_is_not_graded():
    result = score(policy(rule("visit_coverage", 100, target=1)), {"visit_coverage": None}, {})
    assert not result.graded and result.grade == "" and result.pay_coefficient == 0


def test_a_mode_below_its_minimum_raters_is_left_out_and_the_rest_renormalised():
    modes = (ModeRule("self", 10, 1), ModeRule("peer", 30, 3), ModeRule("inspection", 60, 1))
    ratings = {
        "self": ModeRatings("self", 1, 100, 0),
        "peer": ModeRatings("peer", 2, 0, 0),  # two raters, three needed
        "inspection": ModeRatings("inspection", 1, 50, 0),
    }
    result = score(policy(rule("ratings", 100, target=100), modes=modes), {}, ratings)
    by_mode = {m.rule.mode: m for m in result.modes}
    assert not by_mode["peer"].included and by_mode["peer"].effective_weight == 0
    assert by_mode["self"].effective_weight == pytest.approx(10 / 70, abs=1e-6)
    assert by_mode["inspection"].effective_weight == pytest.approx(60 / 70, abs=1e-6)
    assert result.total == pytest.approx(100 * (10 / 70 * 1.0 + 60 / 70 * 0.5), abs=1e-3)


def test_a_survey_counts_by_its_csat():
    modes = (ModeRule("customer_survey", 1, 1),)
    ratings = {"customer_survey": ModeRatings("customer_survey", 5, 3.8, 0.6)}
    assert score(policy(rule("ratings", 100, target=100), modes=modes), {}, ratings).total == 60


def test_the_highest_grade_reached_decides_the_pay_coefficient():
    p = policy(rule("visit_coverage", 100, target=1))
    assert (p.grade_for(59.99).grade, p.grade_for(60).grade, p.grade_for(95).pay_coefficient) == (
        "D",
        "C",
        1.2,
    )


def _default_policy(facts):
    result = validate(KPI_SCORING.default_path.read_text(encoding="utf-8"), {k.name: k for k in RULE_SETS})
    assert result.valid, result.errors
    try:
        decision = result.compiled.decide(facts)
        return ScoringPolicy.from_decision("kpi-scoring", 1, decision.outputs, decision.reasons)
    finally:
        result.compiled.close()


@pytest.mark.parametrize(
    "facts",
    [{"subject_kind": "team"}]
    + [
        {"subject_kind": "staff", "role": role}
        for role in ("customer_manager", "phone_order_clerk", "market_manager", "team_leader")
    ],
)
def test_the_default_weighs_process_at_least_as_much_as_results(facts):
    p = _default_policy(facts)
    process = sum(r.weight for r in p.indicators if r.category == "process")
    result = sum(r.weight for r in p.indicators if r.category == "result")
    assert process >= result > 0
    assert process + result == 100
    assert all(r.rule_id for r in p.indicators)


def test_the_default_grades_start_at_zero_and_open_plans_below_60():
    p = _default_policy({"subject_kind": "staff", "role": "customer_manager"})
    assert p.grades[0].from_score == 0 and p.plan_below == 60
    assert {m.mode for m in p.modes} == {"self", "peer", "inspection", "customer_survey", "competency"}


def test_a_policy_with_gaps_is_refused():
    outputs = {
        "indicators": {
            "omission_rate": {
                "category": "process",
                "kind": "quantitative",
                "weight": 10,
                "function": "banded",
            }
        },
        "bands": {"omission_rate": {0.05: 0.5}},
        "grades": {"D": {"from_score": 0, "pay_coefficient": 1}},
    }
    with pytest.raises(Refused, match="bands starting from 0"):
        ScoringPolicy.from_decision("kpi-scoring", 2, outputs, {})
    outputs["bands"] = {"omission_rate": {0: 1}}
    outputs["grades"] = {"C": {"from_score": 60, "pay_coefficient": 1}}
    with pytest.raises(Refused, match="grades must start from a score of 0"):
        ScoringPolicy.from_decision("kpi-scoring", 2, outputs, {})


def _validate(source):
    result = validate(source, {k.name: k for k in RULE_SETS})
    if result.compiled is not None:
        result.compiled.close()
    return result


def test_a_version_with_gaps_cannot_be_published():
    source = KPI_SCORING.default_path.read_text(encoding="utf-8")
    gap = source.replace(
        "score_band: {indicator: omission_rate, from: 0, share: 1}",
        "score_band: {indicator: omission_rate, from: 0.01, share: 1}",
    )
    no_floor = source.replace(
        "grade_from: {grade: D, from_score: 0, pay_coefficient: 0.8}",
        "grade_from: {grade: D, from_score: 40, pay_coefficient: 0.8}",
    )
    messages = [str(d) for d in _validate(gap).errors]
    assert "for customer_manager: banded indicator omission_rate needs bands starting from 0" in " ".join(
        messages
    )
    messages = [str(d) for d in _validate(no_floor).errors]
    assert sum("grades must start from a score of 0" in m for m in messages) == 7  # every role and teams


def test_a_document_need_not_read_the_role():
    source = """
name: kpi-scoring
hit_policy: collect
inputs:
  subject_kind: {type: one_of, values: [staff, team], required: true}
rules:
  - id: everyone
    then:
      - score_indicator: {indicator: ratings, category: process, kind: qualitative, weight: 100, function: linear, target: 100}
      - weigh_mode: {mode: self, weight: 1, min_raters: 1}
      - grade_from: {grade: any, from_score: 0, pay_coefficient: 1}
"""
    assert _validate(source).valid
