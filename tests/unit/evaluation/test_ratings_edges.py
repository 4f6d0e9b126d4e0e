"""Ratings: each refusal with its field and wording, the bounds of scores, answers and
comments, who may rate whom, and the aggregates per mode."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid
from services.evaluation.domain.people import Staff
from services.evaluation.domain.periods import Period
from services.evaluation.domain.ratings import ModeRatings, Rating, aggregate, check_rater

D = datetime.date
YEAR = Period("2026", "year", D(2026, 1, 1), D(2026, 12, 31))
MONTH = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
HALF = Period("2026-H1", "half_year", D(2026, 1, 1), D(2026, 6, 30))
CM = Staff("cm-1", "Li", "customer_manager", "customer_service")
CM2 = Staff("cm-2", "Wang", "customer_manager", "customer_service")
MM = Staff("mm-1", "Zhao", "market_manager", "marketing")
TL = Staff("tl-1", "Sun", "team_leader", "marketing")
COUNTY = Staff("in-2", "Qian", "inspector", "logistics", "county")
CITY = Staff("in-1", "Wu", "inspector", "logistics", "city")
GONE = Staff("mm-2", "Zhou", "market_manager", "marketing", active=False)


def invalid(rating):
    with pytest.raises(Invalid) as error:
        rating.validate()
    return error.value.violations


def not_allowed(mode, period, rater, subject=CM):
    rating = Rating(period.id, mode, rater.id, subject.id, 80.0)
    with pytest.raises(Invalid) as error:
        check_rater(rating, period, subject, rater)
    return error.value.violations


def test_ids_and_mode_are_required():
    assert invalid(Rating("2026", "", "", "a b")) == [
        ("rating.rater_id", "is required"),
        ("rating.subject_id", "must be 1-64 letters, digits, '.', '-', '_' or ':'"),
        ("rating.mode", "is required"),
    ]


def test_a_score_is_0_to_100_and_has_no_answers():
    for score in (0.0, 100.0):
        rating = Rating("2026", "peer", "mm-1", "cm-1", score)
        assert rating.validate() is rating and rating.value == score
    assert invalid(Rating("2026", "peer", "mm-1", "cm-1", -0.5, (3,))) == [
        ("rating.score", "must be 0-100"),
        ("rating.answers", "only customer surveys have answers"),
    ]
    assert invalid(Rating("2026", "self", "cm-1", "cm-1", 100.5)) == [("rating.score", "must be 0-100")]


def test_a_survey_has_1_to_50_answers_of_1_to_5_and_no_score():
    for answers in ((1,), (5,) * 50):
        assert Rating("2026", "customer_survey", "L-1", "cm-1", 0, answers).validate().answers == answers
    assert invalid(Rating("2026", "customer_survey", "L-1", "cm-1", 70, ())) == [
        ("rating.answers", "a survey has 1-50 answers"),
        ("rating.score", "a survey is given as answers, not a score"),
    ]
    assert invalid(Rating("2026", "customer_survey", "L-1", "cm-1", 0, (4,) * 51)) == [
        ("rating.answers", "a survey has 1-50 answers")
    ]
    assert invalid(Rating("2026", "customer_survey", "L-1", "cm-1", 0, (0, 3))) == [
        ("rating.answers", "each answer is 1-5")
    ]


def test_a_comment_is_at_most_2000_characters():
    assert Rating("2026", "peer", "mm-1", "cm-1", 50, comment="x" * 2000).validate().comment == "x" * 2000
    assert invalid(Rating("2026", "peer", "mm-1", "cm-1", 50, comment="x" * 2001)) == [
        ("rating.comment", "at most 2000 characters")
    ]


def test_a_rating_is_keyed_by_period_mode_rater_and_subject():
    assert Rating("2026", "peer", "mm-1", "cm-1", 50).key == ("2026", "peer", "mm-1", "cm-1")


def test_each_refused_rater_is_named_with_why():
    assert not_allowed("competency", MONTH, TL) == [
        ("rating.mode", "competency ratings are recorded for year periods, not month")
    ]
    assert not_allowed("peer", YEAR, GONE) == [("rating.rater_id", "mm-2 is not active")]
    assert not_allowed("self", YEAR, CM2) == [("rating.rater_id", "a self rating is given by the subject")]
    assert not_allowed("inspection", YEAR, CITY, CITY) == [
        ("rating.rater_id", "nobody gives a inspection rating of themself")
    ]
    assert not_allowed("peer", YEAR, CM2) == [
        ("rating.rater_id", "peer ratings are between lines; both are on the customer_service line")
    ]
    assert not_allowed("inspection", MONTH, CITY) == [
        ("rating.rater_id", "month inspections are given by county inspectors")
    ]
    assert not_allowed("inspection", YEAR, COUNTY) == [
        ("rating.rater_id", "year inspections are given by city inspectors")
    ]
    assert not_allowed("inspection", YEAR, MM) == [
        ("rating.rater_id", "year inspections are given by city inspectors")
    ]
    assert not_allowed("competency", YEAR, CITY) == [
        ("rating.rater_id", "competency is rated by a team leader or market manager")
    ]


def test_allowed_raters_pass():
    check_rater(Rating("2026-05", "inspection", "in-2", "cm-1", 70), MONTH, CM, COUNTY)
    check_rater(Rating("2026", "competency", "tl-1", "cm-1", 70), YEAR, CM, TL)
    check_rater(Rating("2026-H1", "customer_survey", "L-1", "cm-1", 0, (5,)), HALF, CM, None)


def test_aggregates_per_mode():
    modes = aggregate(
        [
            Rating("2026", "peer", "mm-1", "cm-1", 70),
            Rating("2026", "peer", "tl-1", "cm-1", 90),
            Rating("2026", "customer_survey", "L-1", "cm-1", 0, (5, 3)),
            Rating("2026", "customer_survey", "L-2", "cm-1", 0, (1, 2)),
        ]
    )
    assert modes == {
        "peer": ModeRatings("peer", 2, 80.0, 0.0),
        "customer_survey": ModeRatings("customer_survey", 2, 2.75, 0.25),
    }
    assert modes["peer"].share == 0.8 and modes["customer_survey"].share == 0.25
    assert aggregate([]) == {}
