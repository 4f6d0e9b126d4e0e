"""KPI scoring: the share functions at their bounds, a policy read from a decision with
its defaults and refusals word for word, mode renormalisation and each indicator's
explanation exactly as kept."""

import pytest

from services.evaluation.domain.errors import Refused
from services.evaluation.domain.ratings import ModeRatings
from services.evaluation.domain.scoring import (
    GradeRule,
    IndicatorRule,
    IndicatorScore,
    ModeRule,
    ModeScore,
    Score,
    ScoringPolicy,
    score,
    score_modes,
)

GRADES = (GradeRule("D", 0, 0.8), GradeRule("C", 60, 1.0), GradeRule("A", 90, 1.2))


def rule(indicator, weight, function="linear", **values):
    return IndicatorRule(
        indicator, "process", "quantitative", "short_term", "internal", weight, function, **values
    )


def policy(*indicators, modes=()):
    return ScoringPolicy("kpi-scoring", 3, tuple(indicators), tuple(modes), GRADES)


# ---- share functions ---------------------------------------------------------------


def test_linear_never_goes_below_zero_and_defaults_to_a_cap_of_one():
    sales = rule("sales", 10, target=2.0)
    assert [sales.share(v) for v in (-1.0, 0.0, 1.0, 2.0, 5.0)] == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_threshold_is_met_on_its_target_either_way():
    at_least = rule("coverage", 5, "threshold", target=0.9)
    at_most = rule("overdue", 5, "threshold", target=2, pass_when="at_most")
    assert [at_least.share(v) for v in (0.89, 0.9, 0.91)] == [0.0, 1.0, 1.0]
    assert [at_most.share(v) for v in (1, 2, 3)] == [1.0, 1.0, 0.0]


def test_a_band_is_reached_on_its_lower_bound():
    banded = rule("omissions", 10, "banded", bands=((0.0, 0.2), (0.1, 0.6), (0.3, 1.0)))
    assert [banded.share(v) for v in (-0.5, 0.0, 0.0999, 0.1, 0.3, 9)] == [0.0, 0.2, 0.2, 0.6, 1.0, 1.0]


# ---- policy from a decision --------------------------------------------------------


def outputs(**extra):
    base = {
        "indicators": {
            "sales": {
                "category": "result",
                "kind": "quantitative",
                "weight": "40",
                "function": "linear",
                "target": 2,
            },
            "omissions": {
                "category": "process",
                "kind": "qualitative",
                "horizon": "long_term",
                "scope": "external",
                "weight": 60,
                "function": "banded",
                "cap": 1.5,
                "pass_when": "at_most",
                "when_missing": "score_zero",
            },
        },
        "bands": {"omissions": {"0.1": "0.5", "0": 1}},
        "modes": {
            "competency": {"weight": "2", "min_raters": "1"},
            "self": {"weight": 1, "min_raters": 1},
            "peer": {"weight": 3, "min_raters": 2},
        },
        "grades": {
            "A": {"from_score": 90, "pay_coefficient": 1.2},
            "D": {"from_score": "0", "pay_coefficient": "0.8"},
        },
    }
    base.update(extra)
    return base


def test_a_policy_takes_every_field_and_its_defaults_from_the_decision():
    read = ScoringPolicy.from_decision("kpi-scoring", 5, outputs(), {"indicators.sales": "r-7"})
    assert read == ScoringPolicy(
        "kpi-scoring",
        5,
        (
            IndicatorRule(
                "sales",
                "result",
                "quantitative",
                "short_term",
                "internal",
                40.0,
                "linear",
                2.0,
                1.0,
                "at_least",
                "leave_out",
                (),
                "r-7",
            ),
            IndicatorRule(
                "omissions",
                "process",
                "qualitative",
                "long_term",
                "external",
                60.0,
                "banded",
                0.0,
                1.5,
                "at_most",
                "score_zero",
                ((0.0, 1.0), (0.1, 0.5)),
                "",
            ),
        ),
        (ModeRule("self", 1.0, 1), ModeRule("peer", 3.0, 2), ModeRule("competency", 2.0, 1)),
        (GradeRule("D", 0.0, 0.8), GradeRule("A", 90.0, 1.2)),
        None,
        30,
    )
    assert [type(m.min_raters) for m in read.modes] == [int, int, int]


def test_plan_threshold_and_due_days_come_from_the_decision():
    read = ScoringPolicy.from_decision("kpi-scoring", 5, outputs(plan_below=60, plan_due_days="14"), {})
    assert (read.plan_below, read.plan_due_days) == (60, 14)


def refusal(outputs_, version=2):
    with pytest.raises(Refused) as error:
        ScoringPolicy.from_decision("kpi-scoring", version, outputs_, {})
    return error.value.message, error.value.subject


def test_each_gap_in_a_policy_is_refused_naming_the_rule_set_and_version():
    assert refusal({"grades": {"D": {"from_score": 0, "pay_coefficient": 1}}}) == (
        "rule set kpi-scoring version 2 scores no indicator",
        "kpi-scoring",
    )
    zero_target = outputs()
    zero_target["indicators"]["sales"]["target"] = 0
    assert refusal(zero_target) == (
        "rule set kpi-scoring version 2: linear indicator sales needs a target above 0",
        "kpi-scoring",
    )
    no_target = outputs()
    del no_target["indicators"]["sales"]["target"]
    assert refusal(no_target)[0].endswith("linear indicator sales needs a target above 0")
    assert refusal(outputs(bands={})) == (
        "rule set kpi-scoring version 2: banded indicator omissions needs bands starting from 0",
        "kpi-scoring",
    )
    assert refusal(outputs(grades={})) == (
        "rule set kpi-scoring version 2: grades must start from a score of 0",
        "kpi-scoring",
    )
    no_grades = outputs()
    del no_grades["grades"]
    assert refusal(no_grades)[0] == "rule set kpi-scoring version 2: grades must start from a score of 0"
    ratings = outputs(modes={})
    ratings["indicators"]["ratings"] = {
        "category": "process",
        "kind": "qualitative",
        "weight": 1,
        "function": "threshold",
    }
    assert refusal(ratings, 9) == (
        "rule set kpi-scoring version 9: the ratings indicator needs mode weights",
        "kpi-scoring",
    )


def test_a_target_just_above_zero_is_enough():
    tiny = outputs()
    tiny["indicators"]["sales"]["target"] = 0.001
    assert ScoringPolicy.from_decision("kpi-scoring", 1, tiny, {}).indicators[0].target == 0.001


def test_the_grade_reached_is_the_highest_whose_floor_the_total_reaches():
    p = policy(rule("x", 1, target=1))
    assert [p.grade_for(t).grade for t in (-1, 0, 59.9999, 60, 89.9, 90, 150)] == [
        "D",
        "D",
        "D",
        "C",
        "C",
        "A",
        "A",
    ]


# ---- modes -------------------------------------------------------------------------


def test_modes_without_enough_raters_or_ratings_are_left_out_and_the_rest_renormalised():
    p = policy(
        rule("ratings", 100, target=100),
        modes=(
            ModeRule("self", 1, 1),
            ModeRule("peer", 3, 2),
            ModeRule("competency", 2, 1),
            ModeRule("inspection", 4, 1),
        ),
    )
    ratings = {
        "self": ModeRatings("self", 1, 90, 0),
        "peer": ModeRatings("peer", 2, 60, 0),  # exactly the minimum
        "competency": ModeRatings("competency", 0, 0, 0),
    }
    value, modes = score_modes(p, ratings)
    assert value == round(100 * (0.25 * 0.9 + 0.75 * 0.6), 6)
    assert modes == (
        ModeScore(ModeRule("self", 1, 1), ratings["self"], True, 0.25),
        ModeScore(ModeRule("peer", 3, 2), ratings["peer"], True, 0.75),
        ModeScore(ModeRule("competency", 2, 1), ratings["competency"], False, 0.0),
        ModeScore(ModeRule("inspection", 4, 1), None, False, 0.0),
    )


def test_effective_mode_weights_and_the_value_are_rounded_to_six_places():
    p = policy(rule("ratings", 100, target=100), modes=(ModeRule("self", 1, 1), ModeRule("peer", 2, 1)))
    ratings = {"self": ModeRatings("self", 1, 100, 0), "peer": ModeRatings("peer", 1, 50, 0)}
    value, modes = score_modes(p, ratings)
    assert value == 66.666667 and [m.effective_weight for m in modes] == [0.333333, 0.666667]


def test_modes_whose_weights_are_all_zero_give_no_value():
    p = policy(rule("ratings", 100, target=100), modes=(ModeRule("self", 0, 1),))
    value, modes = score_modes(p, {"self": ModeRatings("self", 3, 80, 0)})
    assert value is None and modes[0].included is False and modes[0].effective_weight == 0.0


def test_no_rated_mode_leaves_the_ratings_indicator_out():
    p = policy(rule("ratings", 50, target=100), rule("sales", 50, target=1), modes=(ModeRule("self", 1, 1),))
    result = score(p, {"sales": 1.0}, {})
    assert (
        result.total == 100
        and result.indicators[0].note == "no data for the period: left out, the other weights scaled up"
    )


# ---- scores ------------------------------------------------------------------------


def test_each_indicator_is_explained_exactly():
    p = policy(
        rule("sales", 30, target=3),
        rule("visits", 30, "threshold", target=1, when_missing="score_zero"),
        rule("leads", 20, target=1),
        rule("calls", 20, target=1),
    )
    result = score(p, {"sales": 1.0, "visits": None, "leads": None}, {})
    scale = 100 / 60
    assert result == Score(
        round(30 * scale / 3, 4),
        "D",
        0.8,
        (
            IndicatorScore(
                p.indicators[0],
                1.0,
                0.333333,
                50.0,
                round(1 / 3 * 30 * scale, 4),
                "weight scaled by 1.667 because leads, calls had no data",
            ),
            IndicatorScore(p.indicators[1], None, 0.0, 50.0, 0.0, "no data for the period: scored 0 by rule"),
            IndicatorScore(
                p.indicators[2],
                None,
                0.0,
                0.0,
                0.0,
                "no data for the period: left out, the other weights scaled up",
            ),
            IndicatorScore(
                p.indicators[3],
                None,
                0.0,
                0.0,
                0.0,
                "no data for the period: left out, the other weights scaled up",
            ),
        ),
        (),
    )


def test_with_every_indicator_present_nothing_is_scaled_and_the_total_is_graded():
    p = policy(rule("sales", 70, target=1), rule("visits", 30, target=3))
    result = score(p, {"sales": 1.0, "visits": 2.0}, {})
    assert [(i.share, i.effective_weight, i.points, i.note) for i in result.indicators] == [
        (1.0, 70.0, 70.0, ""),
        (0.666667, 30.0, 20.0, ""),
    ]
    assert (result.total, result.grade, result.pay_coefficient, result.graded) == (90.0, "A", 1.2, True)


def test_a_score_and_its_total_are_rounded_to_four_places():
    p = policy(rule("sales", 100, target=7))
    result = score(p, {"sales": 1.0}, {})
    assert result.indicators[0].share == 0.142857 and result.indicators[0].points == 14.2857
    assert result.total == 14.2857


def test_the_values_given_are_not_changed():
    p = policy(rule("ratings", 100, target=100), modes=(ModeRule("self", 1, 1),))
    values = {"sales": 1.0}
    score(p, values, {"self": ModeRatings("self", 1, 80, 0)})
    assert values == {"sales": 1.0}


def test_no_data_at_all_is_not_graded_but_explained():
    p = policy(rule("sales", 100, target=1))
    assert score(p, {}, {}) == Score(
        0.0,
        "",
        0.0,
        (
            IndicatorScore(
                p.indicators[0],
                None,
                0.0,
                0.0,
                0.0,
                "no data for the period: left out, the other weights scaled up",
            ),
        ),
        (),
        graded=False,
    )


def test_effective_weights_are_rounded_to_six_places():
    p = policy(
        rule("sales", 1, target=1),
        rule("visits", 2, "threshold", target=1, when_missing="score_zero"),
        rule("leads", 4, target=1),
    )
    result = score(p, {"sales": 1.0}, {})
    assert [i.effective_weight for i in result.indicators] == [2.333333, 4.666667, 0.0]
    assert result.indicators[0].note == "weight scaled by 2.333 because leads had no data"


def test_indicators_present_with_no_weight_scale_nothing():
    p = policy(rule("sales", 0, target=1), rule("leads", 10, target=1))
    result = score(p, {"sales": 1.0}, {})
    assert result.indicators[0].note == "weight scaled by 0 because leads had no data"
    assert (result.total, result.grade, result.graded) == (0.0, "D", True)
