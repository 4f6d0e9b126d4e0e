import datetime

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.goals import split_goal
from services.evaluation.domain.people import Membership, Staff, membership_on, move
from services.evaluation.domain.periods import Period
from services.evaluation.domain.plans import ImprovementPlan
from services.evaluation.domain.ratings import Rating, aggregate, check_rater
from services.evaluation.domain.visits import Menu, MenuItem, VisitCard, VisitItem, coverage

UTC = datetime.UTC
NOW = datetime.datetime(2026, 6, 1, 12, tzinfo=UTC)
D = datetime.date


def fields(error):
    return [field for field, _ in error.value.violations]


# ---- people ------------------------------------------------------------------------


def test_a_move_ends_the_current_membership_and_history_answers_by_date():
    first = Membership("cm-1", "team-1", "market_analysis", D(2025, 1, 1))
    ended, started = move([first], "cm-1", "team-2", "customer_communication", D(2026, 7, 1))
    assert ended.to_date == D(2026, 7, 1) and started.team_id == "team-2"
    history = [ended, started]
    assert membership_on(history, D(2026, 6, 30)).team_id == "team-1"
    assert membership_on(history, D(2026, 12, 31)).team_id == "team-2"
    with pytest.raises(Invalid) as error:
        move(history, "cm-1", "team-3", "market_analysis", D(2026, 7, 1))
    assert fields(error) == ["from_date"]


def test_staff_fields_are_checked_together():
    with pytest.raises(Invalid) as error:
        Staff("", "", "chef", "sales", "city").validate()
    assert fields(error) == ["staff.id", "staff.name", "staff.role", "staff.line", "staff.level"]


# ---- periods -----------------------------------------------------------------------


def test_a_period_publishes_only_after_a_run_and_then_refuses_runs():
    period = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31)).validate()
    with pytest.raises(Refused, match="run it before publishing"):
        period.publish("boss", NOW)
    published = period.ran(NOW).publish("boss", NOW)
    with pytest.raises(Refused, match="published"):
        published.ran(NOW)
    assert period.contains(datetime.datetime(2026, 5, 31, 23, tzinfo=UTC))
    assert not period.contains(datetime.datetime(2026, 6, 1, tzinfo=UTC))


# ---- visit cards -------------------------------------------------------------------

MENU = Menu(
    "L-1",
    (
        MenuItem("customer_manager_visit", 4, visits_per_month=2),
        MenuItem("retail_price_upkeep", 3),
        MenuItem("business_guidance", 2),
    ),
    entitlements_version=7,
)


def card(*items, **values):
    return VisitCard("c1", "cm-1", "L-1", NOW, tuple(items), **values)


def test_a_card_misses_a_service_due_and_a_skipped_step():
    checked = card(
        VisitItem("customer_manager_visit", (1, 2, 4)), VisitItem("business_guidance", (1, 2))
    ).checked_against(MENU)
    assert [(o.service, o.step) for o in checked.omissions] == [
        ("retail_price_upkeep", 0),
        ("customer_manager_visit", 3),
    ]
    assert checked.checked and checked.entitlements_version == 7 and checked.visits_per_month_due == 2
    assert checked.items_due == 2 + 4 + 2  # two services due, six steps of services done


def test_a_complete_card_has_no_omission():
    done = card(
        VisitItem("customer_manager_visit", (1, 2, 3, 4)), VisitItem("retail_price_upkeep", (1, 2, 3))
    )
    assert done.checked_against(MENU).omissions == ()


def test_card_input_is_checked_field_by_field():
    bad = card(VisitItem("x", (0,)), VisitItem("x", ()), corrected_by="me")
    with pytest.raises(Invalid) as error:
        bad.validate(NOW)
    assert fields(error) == ["items[0].steps_done", "items[1].service", "supersedes_card_id"]
    with pytest.raises(Invalid) as error:
        card(VisitItem("x", ())).validate(NOW - datetime.timedelta(days=1))
    assert fields(error) == ["visited_at"]


def test_a_correction_keeps_staff_and_customer_and_corrects_once():
    earlier = card(VisitItem("x", ()))
    other = VisitCard("c2", "cm-2", "L-1", NOW, (VisitItem("x", ()),), supersedes_card_id="c1")
    with pytest.raises(Invalid):
        other.superseding(earlier)
    with pytest.raises(Refused, match="already corrected"):
        card(VisitItem("x", ())).superseding(card(VisitItem("x", ()), superseded_by_card_id="c9"))


def test_extra_visits_to_one_customer_do_not_cover_another():
    assert coverage({"L-1": 5, "L-2": 0}, {"L-1": 2, "L-2": 2}) == (2, 4)


# ---- ratings -----------------------------------------------------------------------

YEAR = Period("2026", "year", D(2026, 1, 1), D(2026, 12, 31))
MONTH = Period("2026-05", "month", D(2026, 5, 1), D(2026, 5, 31))
CM = Staff("cm-1", "Li", "customer_manager", "customer_service")
CM2 = Staff("cm-2", "Wang", "customer_manager", "customer_service")
MM = Staff("mm-1", "Zhao", "market_manager", "marketing")
CITY = Staff("in-1", "Wu", "inspector", "logistics", "city")


def rating(mode, rater, subject="cm-1", score=80.0, answers=()):
    return Rating("2026", mode, rater, subject, score, answers).validate()


@pytest.mark.parametrize(
    ("mode", "period", "rater", "why"),
    [
        ("self", YEAR, MM, "given by the subject"),
        ("peer", YEAR, CM, "themself"),
        ("peer", YEAR, CM2, "between lines"),
        ("inspection", MONTH, CITY, "county inspectors"),
        ("competency", YEAR, CM2, "team leader or market manager"),
        ("competency", MONTH, MM, "recorded for year periods"),
        ("customer_survey", MONTH, None, "half_year, year"),
    ],
)
def test_who_may_rate_whom(mode, period, rater, why):
    answers = (5,) if mode == "customer_survey" else ()
    with pytest.raises(Invalid, match=why):
        check_rater(
            rating(mode, rater.id if rater else "L-1", score=0 if answers else 80, answers=answers),
            period,
            CM,
            rater,
        )


def test_allowed_raters_pass():
    check_rater(rating("self", "cm-1"), YEAR, CM, CM)
    check_rater(rating("peer", "mm-1"), YEAR, CM, MM)
    check_rater(rating("inspection", "in-1"), YEAR, CM, CITY)
    check_rater(rating("competency", "mm-1"), YEAR, CM, MM)


def test_rating_values_are_range_checked():
    with pytest.raises(Invalid) as error:
        Rating("2026", "peer", "mm-1", "cm-1", 101).validate()
    assert fields(error) == ["rating.score"]
    with pytest.raises(Invalid) as error:
        Rating("2026", "customer_survey", "L-1", "cm-1", 0, (5, 6)).validate()
    assert fields(error) == ["rating.answers"]


def test_surveys_report_mean_and_csat():
    modes = aggregate(
        [
            rating("customer_survey", "L-1", score=0, answers=(5, 4, 2)),
            rating("customer_survey", "L-2", score=0, answers=(3,)),
        ]
    )
    survey = modes["customer_survey"]
    assert survey.raters == 2 and survey.csat == 0.5
    assert survey.mean == pytest.approx((11 / 3 + 3) / 2)


# ---- goals -------------------------------------------------------------------------

MEMBERS = [
    Membership("a", "t", "customer_communication", D(2025, 1, 1)),
    Membership("b", "t", "customer_communication", D(2025, 1, 1)),
    Membership("c", "t", "market_analysis", D(2025, 1, 1)),
]


def test_a_goal_splits_by_weights_or_by_specialty():
    assert split_goal(1000, MEMBERS, {"a": 0.5, "b": 0.3, "c": 0.2}, {}) == {"a": 500, "b": 300, "c": 200}
    by_specialty = split_goal(1000, MEMBERS, {}, {"customer_communication": 0.6, "market_analysis": 0.4})
    assert by_specialty == {"a": 300, "b": 300, "c": 400}


def test_a_split_that_does_not_add_up_names_its_field():
    with pytest.raises(Invalid) as error:
        split_goal(1000, MEMBERS, {"a": 0.5, "b": 0.3}, {})
    assert fields(error) == ["member_weights"]
    with pytest.raises(Invalid) as error:
        split_goal(1000, MEMBERS, {"z": 1.0}, {})
    assert fields(error) == ["member_weights"]
    with pytest.raises(Invalid) as error:
        split_goal(0, MEMBERS, {}, {"key_customer_guidance": 1})
    assert fields(error) == ["sales_target"]


# ---- plans -------------------------------------------------------------------------


def test_a_plan_moves_through_pdca_with_an_audit_trail():
    plan = ImprovementPlan.open("p1", "cm-1", "staff", "2026", 42, 60, "cm-1", D(2026, 7, 1), NOW)
    with pytest.raises(Invalid):
        plan.advance("tl-1", "do", [], [], "", NOW)  # no actions yet
    plan = plan.advance("tl-1", "do", ["two more visits a week"], [], "agreed", NOW)
    with pytest.raises(Refused, match="can move to check"):
        plan.advance("tl-1", "act", [], [], "", NOW)
    plan = plan.advance("tl-1", "check", [], ["visit cards of June"], "", NOW)
    plan = plan.advance("tl-1", "act", [], [], "", NOW).advance("tl-1", "closed", [], [], "done", NOW)
    assert [(e.from_state, e.to_state) for e in plan.events] == [
        ("", "plan"),
        ("plan", "do"),
        ("do", "check"),
        ("check", "act"),
        ("act", "closed"),
    ]
    assert not plan.overdue(D(2027, 1, 1))
    with pytest.raises(Refused, match="closed"):
        plan.advance("tl-1", "", ["more"], [], "", NOW)


def test_an_open_plan_past_its_due_date_is_overdue():
    plan = ImprovementPlan.open("p1", "cm-1", "staff", "2026", 42, 60, "cm-1", D(2026, 7, 1), NOW)
    assert plan.overdue(D(2026, 7, 2)) and not plan.overdue(D(2026, 7, 1))
