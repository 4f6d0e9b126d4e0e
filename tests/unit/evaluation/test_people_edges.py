"""Staff, teams and membership history: each refusal with its field and wording, the
bounds of identifiers and names, and which membership covers a day."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid
from services.evaluation.domain.people import (
    Membership,
    Staff,
    Team,
    check_id,
    id_problem,
    membership_on,
    move,
    parse_date,
)

D = datetime.date
BAD_ID = "must be 1-64 letters, digits, '.', '-', '_' or ':'"


def refused(call, *args, **kwargs):
    with pytest.raises(Invalid) as error:
        call(*args, **kwargs)
    return error.value.violations


def test_identifiers_are_1_to_64_word_characters_dots_dashes_and_colons():
    assert id_problem("") == "is required"
    assert id_problem("a" * 64) == "" and id_problem("aB9_.-:x") == ""
    assert id_problem("a" * 65) == BAD_ID
    assert id_problem("a b") == BAD_ID and id_problem("a/b") == BAD_ID
    assert check_id("f", "ok") == [] and check_id("f", "") == [("f", "is required")]


def test_staff_refusals_name_the_prefixed_field_and_why():
    assert refused(Staff("", " ", "chef", "sales", "").validate, "members[2]") == [
        ("members[2].id", "is required"),
        ("members[2].name", "is required, at most 200 characters"),
        (
            "members[2].role",
            "must be one of market_manager, customer_manager, brand_manager, "
            "phone_order_clerk, team_leader, inspector",
        ),
        ("members[2].line", "must be one of marketing, customer_service, logistics"),
    ]
    assert refused(Staff("in-1", "Wu", "inspector", "logistics", "province").validate) == [
        ("staff.level", "an inspector's level must be county or city")
    ]
    assert refused(Staff("cm-1", "Li", "customer_manager", "marketing", "city").validate) == [
        ("staff.level", "only inspectors have a level")
    ]


def test_a_name_is_at_most_200_characters():
    assert Staff("cm-1", "x" * 200, "team_leader", "marketing").validate().name == "x" * 200
    assert refused(Staff("cm-1", "x" * 201, "team_leader", "marketing").validate) == [
        ("staff.name", "is required, at most 200 characters")
    ]
    inspector = Staff("in-1", "Wu", "inspector", "logistics", "county")
    assert inspector.validate() is inspector and inspector.active


def test_team_refusals():
    team = Team("t-1", "x" * 200)
    assert team.validate() is team
    assert refused(Team("", "x" * 201).validate) == [
        ("team.id", "is required"),
        ("team.name", "is required, at most 200 characters"),
    ]
    assert refused(Team("t-1", "  ").validate) == [("team.name", "is required, at most 200 characters")]


def test_a_membership_covers_from_its_first_day_to_the_day_before_its_end():
    ended = Membership("cm-1", "t-1", "market_analysis", D(2026, 1, 1), D(2026, 3, 1))
    assert not ended.covers(D(2025, 12, 31))
    assert ended.covers(D(2026, 1, 1)) and ended.covers(D(2026, 2, 28))
    assert not ended.covers(D(2026, 3, 1))
    current = Membership("cm-1", "t-2", "market_analysis", D(2026, 3, 1))
    assert current.covers(D(2030, 1, 1)) and not current.covers(D(2026, 2, 28))
    assert membership_on([ended, current], D(2026, 3, 1)) is current
    assert membership_on([ended, current], D(2025, 6, 1)) is None


def test_a_first_membership_ends_nothing():
    ended, started = move([], "cm-1", "t-1", "key_customer_guidance", D(2026, 1, 1))
    assert ended is None
    assert started == Membership("cm-1", "t-1", "key_customer_guidance", D(2026, 1, 1), None)


def test_a_move_ends_the_current_membership_the_day_the_new_one_starts():
    earlier = Membership("cm-1", "t-0", "market_analysis", D(2024, 1, 1), D(2025, 1, 1))
    current = Membership("cm-1", "t-1", "market_analysis", D(2025, 1, 1))
    ended, started = move([earlier, current], "cm-1", "t-2", "customer_communication", D(2025, 1, 2))
    assert ended == Membership("cm-1", "t-1", "market_analysis", D(2025, 1, 1), D(2025, 1, 2))
    assert started == Membership("cm-1", "t-2", "customer_communication", D(2025, 1, 2))


def test_a_move_refuses_an_unknown_specialty_and_a_start_not_after_the_current_one():
    current = Membership("cm-1", "t-1", "market_analysis", D(2025, 1, 1))
    assert refused(move, [current], "cm-1", "t-2", "cooking", D(2026, 1, 1)) == [
        ("specialty", "must be one of customer_communication, market_analysis, key_customer_guidance")
    ]
    assert refused(move, [current], "cm-1", "t-2", "market_analysis", D(2025, 1, 1)) == [
        ("from_date", "must be after the current membership's start 2025-01-01")
    ]


def test_dates_are_iso_or_refused_naming_the_field():
    assert parse_date("from_date", "2026-02-28") == D(2026, 2, 28)
    assert refused(parse_date, "from_date", "2026-02-30") == [("from_date", "must be a date YYYY-MM-DD")]
    assert refused(parse_date, "to_date", None) == [("to_date", "must be a date YYYY-MM-DD")]
