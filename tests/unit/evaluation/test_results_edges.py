"""A period result keeps the score's explanation in plain values, field by field."""

from services.evaluation.domain.ratings import ModeRatings
from services.evaluation.domain.results import PeriodResult
from services.evaluation.domain.scoring import (
    GradeRule,
    IndicatorRule,
    IndicatorScore,
    ModeRule,
    ModeScore,
    Score,
    ScoringPolicy,
)

SALES = IndicatorRule(
    "sales",
    "result",
    "quantitative",
    "long_term",
    "external",
    0.6,
    "linear",
    target=3.0,
    rule_id="r-sales",
)
VISITS = IndicatorRule("visits", "process", "qualitative", "short_term", "internal", 0.4, "threshold")
PEER = ModeRule("peer", 0.7, 2)
SURVEY = ModeRule("customer_survey", 0.3, 5)
POLICY = ScoringPolicy("kpi-scoring", 4, (SALES, VISITS), (PEER, SURVEY), (GradeRule("C", 0, 0.8),))


def test_every_indicator_and_mode_is_kept_with_its_explanation():
    score = Score(
        61.2345,
        "B",
        1.1,
        (
            IndicatorScore(SALES, 1 / 3, 0.111111, 0.6, 6.6667, "weight scaled"),
            IndicatorScore(VISITS, None, 0.0, 0.0, 0.0, "no data"),
        ),
        (
            ModeScore(PEER, ModeRatings("peer", 3, 2 / 3 * 100, 0.0), True, 0.7),
            ModeScore(SURVEY, None, False, 0.0),
        ),
        graded=False,
    )
    result = PeriodResult.of("2026-05", "staff", "cm-1", "team-1", "customer_manager", POLICY, score, 3)
    assert result == PeriodResult(
        period_id="2026-05",
        subject_kind="staff",
        subject_id="cm-1",
        team_id="team-1",
        role="customer_manager",
        total_score=61.2345,
        grade="B",
        pay_coefficient=1.1,
        indicators=(
            {
                "indicator": "sales",
                "category": "result",
                "kind": "quantitative",
                "horizon": "long_term",
                "scope": "external",
                "has_value": True,
                "value": 0.333333,
                "target": 3.0,
                "function": "linear",
                "share": 0.111111,
                "weight": 0.6,
                "effective_weight": 0.6,
                "points": 6.6667,
                "note": "weight scaled",
                "rule_id": "r-sales",
            },
            {
                "indicator": "visits",
                "category": "process",
                "kind": "qualitative",
                "horizon": "short_term",
                "scope": "internal",
                "has_value": False,
                "value": 0.0,
                "target": 0.0,
                "function": "threshold",
                "share": 0.0,
                "weight": 0.4,
                "effective_weight": 0.0,
                "points": 0.0,
                "note": "no data",
                "rule_id": "",
            },
        ),
        modes=(
            {
                "mode": "peer",
                "raters": 3,
                "min_raters": 2,
                "included": True,
                "mean": 66.6667,
                "csat": 0.0,
                "share": 0.6667,
                "weight": 0.7,
                "effective_weight": 0.7,
            },
            {
                "mode": "customer_survey",
                "raters": 0,
                "min_raters": 5,
                "included": False,
                "mean": 0.0,
                "csat": 0.0,
                "share": 0.0,
                "weight": 0.3,
                "effective_weight": 0.0,
            },
        ),
        rule_set="kpi-scoring",
        rule_set_version=4,
        run=3,
        graded=False,
    )
    assert result.opened_plan_id == "" and result.follows_up_plan_ids == ()


def test_a_survey_mode_keeps_its_csat_rounded_to_four_places():
    ratings = ModeRatings("customer_survey", 7, 4.123456, 5 / 7)
    score = Score(80.0, "A", 1.2, (), (ModeScore(SURVEY, ratings, True, 1.0),))
    result = PeriodResult.of("2026-H1", "team", "team-1", "team-1", "", POLICY, score, 1)
    assert result.modes == (
        {
            "mode": "customer_survey",
            "raters": 7,
            "min_raters": 5,
            "included": True,
            "mean": 4.1235,
            "csat": 0.7143,
            "share": 0.7143,
            "weight": 0.3,
            "effective_weight": 1.0,
        },
    )
    assert result.graded is True and result.indicators == ()
