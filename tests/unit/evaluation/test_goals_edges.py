"""Splitting a team's sales target: every refusal with its field and wording, zero
weights allowed, the shares rounded to four places."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid
from services.evaluation.domain.goals import split_goal
from services.evaluation.domain.people import Membership

D = datetime.date
MEMBERS = [
    Membership("a", "t", "customer_communication", D(2025, 1, 1)),
    Membership("b", "t", "customer_communication", D(2025, 1, 1)),
    Membership("c", "t", "market_analysis", D(2025, 1, 1)),
]


def refused(*args):
    with pytest.raises(Invalid) as error:
        split_goal(*args)
    return error.value.violations


def test_a_target_and_exactly_one_split_are_required():
    assert refused(-1, MEMBERS, {}, {}) == [
        ("sales_target", "must be greater than 0"),
        ("member_weights", "give either member weights or specialty shares"),
    ]
    assert refused(5, MEMBERS, {"a": 1.0}, {"market_analysis": 1.0}) == [
        ("member_weights", "give either member weights or specialty shares")
    ]


def test_a_target_below_one_is_still_a_target():
    assert split_goal(0.5, MEMBERS, {"a": 1.0}, {}) == {"a": 0.5}


def test_member_weights_outside_the_team_or_negative_are_named():
    assert refused(100, MEMBERS, {"z": 0.5, "a": -0.5, "b": 1.0}, {}) == [
        ("member_weights", "z is not a member of the team in the period"),
        ("member_weights", "a: weight must not be negative"),
    ]


def test_a_member_may_have_a_zero_weight():
    assert split_goal(100, MEMBERS, {"a": 0.0, "b": 1.0}, {}) == {"a": 0.0, "b": 100.0}


def test_specialty_shares_unknown_unheld_or_negative_are_named():
    assert refused(
        100, MEMBERS, {}, {"cooking": 0.5, "key_customer_guidance": 0.7, "market_analysis": -0.2}
    ) == [
        ("specialty_shares", "cooking is not a specialty"),
        ("specialty_shares", "no member has the specialty key_customer_guidance"),
        ("specialty_shares", "market_analysis: share must not be negative"),
    ]


def test_a_specialty_may_have_a_zero_share():
    split = split_goal(100, MEMBERS, {}, {"customer_communication": 1.0, "market_analysis": 0.0})
    assert split == {"a": 50.0, "b": 50.0, "c": 0.0}


def test_shares_that_do_not_add_up_name_the_split_given_and_the_sum():
    assert refused(100, MEMBERS, {"a": 0.5, "b": 0.25}, {}) == [
        ("member_weights", "must add up to 1, they add up to 0.75")
    ]
    assert refused(100, MEMBERS, {}, {"customer_communication": 0.5, "market_analysis": 0.6}) == [
        ("specialty_shares", "must add up to 1, they add up to 1.1")
    ]


def test_a_sum_within_the_tolerance_is_accepted():
    assert split_goal(100, MEMBERS, {"a": 0.49995, "b": 0.5}, {}) == {"a": 49.995, "b": 50.0}


def test_each_target_is_rounded_to_four_places():
    split = split_goal(1000, MEMBERS, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, {})
    assert split == {"a": 333.3333, "b": 333.3333, "c": 333.3333}
    by_specialty = split_goal(10, MEMBERS, {}, {"customer_communication": 1 / 3, "market_analysis": 2 / 3})
    assert by_specialty == {"a": 1.6667, "b": 1.6667, "c": 6.6667}


def test_the_parts_add_up_to_the_target_even_with_a_member_listed_twice():
    twice = [*MEMBERS, Membership("a", "t", "customer_communication", D(2026, 1, 1))]
    split = split_goal(90, twice, {}, {"customer_communication": 0.6, "market_analysis": 0.4})
    assert split == {"a": 36.0, "b": 18.0, "c": 36.0} and sum(split.values()) == 90
