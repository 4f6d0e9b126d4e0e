"""The streamed impact of a draft (services/classification/impact.py) over in-memory
storage and rule sets: the same counts as the preview use case, every changed customer
once in customer order, in chunks, inactive customers left out, nothing written, and the
same refusals."""

import pytest

from services.classification import impact
from services.classification.domain import PreviewReport
from services.classification.service_layer import ClassificationUseCases
from services.common.errors import InvalidArgument
from tests.unit.classification.fakes import FakeDraft, FakeRuleSets, FakeStorage


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def rules():
    return FakeRuleSets()


@pytest.fixture
def use_cases(storage, rules):
    use_cases = ClassificationUseCases(storage, rules)
    for index in range(7):
        use_cases.create(shop(f"L-{index}", 60.0))
    use_cases.create(shop("L-SMALL", 5.0))
    use_cases.deactivate("L-3", "closed")
    return use_cases


def shop(licence: str, cartons: float) -> dict:
    return {
        "licence_number": licence,
        "name": f"Shop {licence}",
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": cartons,
    }


def streamed(use_cases, source: str, rows_per_chunk: int):
    *chunks, report = impact.changed_customers(use_cases, source, rows_per_chunk)
    assert isinstance(report, PreviewReport) and report.sample == []
    return chunks, report


def test_the_stream_counts_as_the_preview_does_and_lists_every_changed_customer(
    use_cases, rules, storage, monkeypatch
):
    monkeypatch.setattr(impact, "PAGE", 2)  # customers read two at a time
    rules.drafts["tier-b"] = draft = FakeDraft(rules, "service-entitlements", tiers={3: "B"})
    before = (dict(storage.store.customers), list(storage.store.history), storage.store.writes)
    chunks, report = streamed(use_cases, "tier-b", rows_per_chunk=4)
    assert [len(chunk) for chunk in chunks] == [4, 2]
    rows = [row for chunk in chunks for row in chunk]
    assert [row.licence_number for row in rows] == ["L-0", "L-1", "L-2", "L-4", "L-5", "L-6"]
    assert {row.services_changed for row in rows} == {("scarce_brand_supply",)}
    assert {(row.services_gained, row.services_lost) for row in rows} == {((), ())}
    assert draft.closed
    preview = use_cases.preview("tier-b", sample_size=0)
    assert (report.rule_set, report.customers, report.changed) == (
        preview.rule_set,
        preview.customers,
        preview.changed,
    )
    assert report.reparameterised == preview.reparameterised == {"scarce_brand_supply": 6}
    assert (dict(storage.store.customers), list(storage.store.history), storage.store.writes) == before


def test_a_grading_draft_moves_stars_and_loses_services(use_cases, rules):
    rules.drafts["stricter"] = FakeDraft(rules, "customer-grading", sales_factor=2.0)
    chunks, report = streamed(use_cases, "stricter", rows_per_chunk=500)
    (rows,) = chunks
    assert report.star_transitions == use_cases.preview("stricter", 0).star_transitions
    assert len(rows) == report.changed == 6
    assert {(row.star_before, row.star_after, row.services_lost) for row in rows} == {
        (3, 2, ("scarce_brand_supply",))
    }


def test_nothing_changed_is_just_the_counts(use_cases, rules):
    rules.drafts["same"] = FakeDraft(rules, "service-entitlements", tiers=rules.tiers)
    chunks, report = streamed(use_cases, "same", rows_per_chunk=3)
    assert chunks == [] and (report.customers, report.changed) == (7, 0)


def test_refusals_are_those_of_the_preview(use_cases, rules):
    with pytest.raises(InvalidArgument) as error:
        list(impact.changed_customers(use_cases, "garbage"))
    assert [name for name, _ in error.value.violations] == ["draft_source"]
    rules.undecided_below = 10
    rules.drafts["no-small-stars"] = draft = FakeDraft(rules, "customer-grading")
    with pytest.raises(InvalidArgument, match="cannot classify every customer"):
        list(impact.changed_customers(use_cases, "no-small-stars"))
    assert draft.closed
