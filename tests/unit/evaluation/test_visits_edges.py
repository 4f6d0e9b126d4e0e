"""Visit cards: each refusal with its field and wording, the bounds of items, steps and
texts, corrections, and the omissions found against a menu with their descriptions."""

import datetime

import pytest

from services.evaluation.domain.errors import Invalid, Refused
from services.evaluation.domain.visits import Menu, MenuItem, Omission, VisitCard, VisitItem

UTC = datetime.UTC
NOW = datetime.datetime(2026, 6, 1, 12, tzinfo=UTC)


def card(*items, **values):
    return VisitCard("c1", "cm-1", "L-1", NOW, tuple(items), **values)


def invalid(visit, now=NOW):
    with pytest.raises(Invalid) as error:
        visit.validate(now)
    return error.value.violations


def test_a_card_at_its_bounds_is_valid():
    items = [VisitItem(f"s{i}", tuple(range(1, 21)), "n" * 2000) for i in range(20)]
    visit = card(*items, notes="x" * 2000)
    assert visit.validate(NOW) is visit  # visited now, 20 items, 20 steps numbered up to 20


def test_ids_time_and_items_are_checked_together():
    visit = VisitCard("c1", "", "a b", NOW + datetime.timedelta(seconds=1), ())
    assert invalid(visit) == [
        ("staff_id", "is required"),
        ("licence_number", "must be 1-64 letters, digits, '.', '-', '_' or ':'"),
        ("visited_at", "must not be in the future"),
        ("items", "a card records at least one service item"),
    ]
    too_many = card(*(VisitItem(f"s{i}", ()) for i in range(21)))
    assert invalid(too_many) == [("items", "at most 20 items")]


def test_each_item_is_checked_by_its_index():
    visit = card(
        VisitItem("ok", ()),
        VisitItem("", (21,)),
        VisitItem("ok", tuple(range(1, 21)) + (1,), "n" * 2001),
        notes="x" * 2001,
    )
    assert invalid(visit) == [
        ("items[1].service", "is required"),
        ("items[1].steps_done", "steps are numbered 1-20"),
        ("items[2].service", "appears twice"),
        ("items[2].steps_done", "steps are numbered 1-20"),
        ("items[2].note", "at most 2000 characters"),
        ("notes", "at most 2000 characters"),
    ]


def test_a_correction_names_who_and_why_and_only_a_correction_does():
    assert invalid(
        card(VisitItem("x", ()), supersedes_card_id="c0", corrected_by=" ", correction_reason="")
    ) == [
        ("corrected_by", "a correction names who corrects"),
        ("correction_reason", "a correction says why"),
    ]
    assert invalid(card(VisitItem("x", ()), correction_reason="typo")) == [
        ("supersedes_card_id", "names the card a correction replaces")
    ]
    fixed = card(VisitItem("x", ()), supersedes_card_id="c0", corrected_by="tl-1", correction_reason="typo")
    assert fixed.validate(NOW) is fixed


def test_a_correction_keeps_staff_and_customer_and_corrects_a_card_once():
    earlier = VisitCard("c0", "cm-1", "L-1", NOW, (VisitItem("x", ()),))
    card(VisitItem("x", ())).superseding(earlier)
    with pytest.raises(Invalid) as error:
        VisitCard("c1", "cm-1", "L-2", NOW, ()).superseding(earlier)
    assert error.value.violations == [
        ("supersedes_card_id", "a correction keeps the staff member and customer of the card")
    ]
    with pytest.raises(Refused) as refused:
        card(VisitItem("x", ())).superseding(
            VisitCard("c0", "cm-1", "L-1", NOW, (), superseded_by_card_id="c7")
        )
    assert (refused.value.message, refused.value.subject) == ("card c0 was already corrected by c7", "c0")


def test_omissions_are_described_and_services_outside_the_menu_are_not_counted():
    menu = Menu(
        "L-1",
        (MenuItem("storefront_image_upkeep", 1), MenuItem("business_guidance", 3, visits_per_month=4)),
        entitlements_version=2,
    )
    checked = card(VisitItem("extra_service", (1,)), VisitItem("business_guidance", (2,))).checked_against(
        menu
    )
    assert checked.omissions == (
        Omission(
            "storefront_image_upkeep", 0, "storefront_image_upkeep is due at every visit and was not done"
        ),
        Omission("business_guidance", 1, "step 1 of business_guidance was skipped"),
        Omission("business_guidance", 3, "step 3 of business_guidance was skipped"),
    )
    assert (checked.items_due, checked.visits_per_month_due, checked.entitlements_version) == (4, 4, 2)


def test_an_empty_menu_expects_nothing():
    checked = card(VisitItem("business_guidance", ())).checked_against(Menu("L-1", (), 1))
    assert checked.checked and checked.omissions == () and checked.items_due == 0
    assert checked.visits_per_month_due == 0
