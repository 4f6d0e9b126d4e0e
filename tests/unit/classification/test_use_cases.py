"""The classification use cases over in-memory storage and rule sets: what each one loads,
decides, writes and refuses."""

import pytest

from services.classification import domain
from services.classification.ports import CustomerQuery
from services.classification.service_layer import ClassificationUseCases
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tests.unit.classification.fakes import FakeDraft, FakeRuleSets, FakeStorage


@pytest.fixture
def storage():
    return FakeStorage()


@pytest.fixture
def rules():
    return FakeRuleSets()


@pytest.fixture
def use_cases(storage, rules):
    return ClassificationUseCases(storage, rules)


def values(licence: str, **given) -> dict:
    base = {
        "licence_number": licence,
        "name": f"Shop {licence}",
        "business_format": "grocery",
        "market_type": "urban",
        "monthly_sales_cartons": 30.0,
    }
    return {**base, **given}


def history(use_cases, licence: str) -> list[str]:
    entries, _ = use_cases.history(licence, 0, "")
    return [entry.reason for entry in entries]


def violations(error) -> set[str]:
    return {name for name, _ in error.value.violations}


# -- customers -----------------------------------------------------------------------------------
def test_create_classifies_routes_and_records(use_cases, storage):
    use_cases.upsert_zone("Z-1", "Old town", "team-a")
    created = use_cases.create(values("l-1", market_zone="Z-1", monthly_sales_cartons=250.0))
    assert (created.licence_number, created.team_id, created.outcome.star_level) == ("L-1", "team-a", 4)
    stored = use_cases.get("L-1")
    assert stored.outcome == created.outcome and stored.classification.reason == "create"
    assert history(use_cases, "L-1") == ["create"]


@pytest.mark.parametrize("spelling", ["l-1", " L-1 ", "Ｌ－１", "ｌ-1"])
def test_a_licence_in_another_spelling_is_the_same_customer(use_cases, spelling):
    use_cases.create(values("L-1"))
    assert use_cases.get(spelling).licence_number == "L-1"
    with pytest.raises(AlreadyExists):
        use_cases.create(values(spelling))


def test_bad_input_is_refused_with_every_field_and_writes_nothing(use_cases, storage):
    with pytest.raises(InvalidArgument) as error:
        use_cases.create(values("", business_format="bakery", monthly_sales_cartons=float("inf")))
    assert violations(error) == {"licence_number", "business_format", "monthly_sales_cartons"}
    with pytest.raises(InvalidArgument) as error:
        use_cases.create(values("L-2", market_zone="nowhere"))
    assert violations(error) == {"market_zone"}
    assert storage.store.customers == {} and storage.store.history == []


def test_a_customer_the_rules_cannot_decide_is_a_failed_precondition(use_cases, rules, storage):
    rules.undecided_below = 100
    with pytest.raises(FailedPrecondition, match="decided no star_level"):
        use_cases.create(values("L-1", monthly_sales_cartons=5.0))
    assert storage.store.customers == {}


def test_update_replaces_the_masked_fields_and_reclassifies(use_cases):
    use_cases.create(values("L-1", district="Gulou"))
    updated = use_cases.update(
        "l-1", values("L-1", name="ignored", monthly_sales_cartons=600.0), ["monthly_sales_cartons"]
    )
    assert (updated.inputs["name"], updated.inputs["district"], updated.outcome.grade) == (
        "Shop L-1",
        "Gulou",
        30,
    )
    assert history(use_cases, "L-1") == ["update", "create"]
    everything = use_cases.update("L-1", values("L-1", name="Renamed"), [])
    assert (everything.inputs["name"], everything.inputs["district"]) == ("Renamed", "")


def test_update_refusals(use_cases):
    use_cases.create(values("L-1"))
    with pytest.raises(InvalidArgument) as error:
        use_cases.update("L-1", values("L-1"), ["colour"])
    assert violations(error) == {"update_mask"}
    with pytest.raises(InvalidArgument):
        use_cases.update("L-1", values("L-1"), ["licence_number"])
    with pytest.raises(NotFound):
        use_cases.update("L-404", values("L-404"), [])
    with pytest.raises(InvalidArgument) as error:
        use_cases.update("L-1", values("L-1", monthly_sales_cartons=-1.0), ["monthly_sales_cartons"])
    assert violations(error) == {"monthly_sales_cartons"}
    assert history(use_cases, "L-1") == ["create"]
    use_cases.deactivate("L-1", "closed")
    with pytest.raises(FailedPrecondition, match="inactive"):
        use_cases.update("L-1", values("L-1"), [])


def test_get_needs_a_licence(use_cases):
    with pytest.raises(InvalidArgument) as error:
        use_cases.get("  ")
    assert violations(error) == {"licence_number"}
    with pytest.raises(NotFound):
        use_cases.get("L-404")


def test_deactivation_keeps_the_record_and_writes_once(use_cases, storage):
    use_cases.create(values("L-1"))
    assert use_cases.deactivate("L-1", "closed").active is False
    writes = storage.store.writes
    assert use_cases.deactivate("L-1", "again").deactivation_reason == "closed"
    assert storage.store.writes == writes
    assert history(use_cases, "L-1") == ["create"]


def test_on_demand_classification_is_always_recorded(use_cases):
    use_cases.create(values("L-1"))
    assert use_cases.classify_on_demand("L-1").classification.reason == "on_demand"
    assert history(use_cases, "L-1") == ["on_demand", "create"]


def test_listing_filters_and_pages(use_cases):
    for index in range(5):
        use_cases.create(values(f"L-{index}", market_type="rural" if index % 2 == 0 else "urban"))
    use_cases.deactivate("L-2", "closed")
    rural = CustomerQuery(equals={"market_type": "rural"})
    page, token = use_cases.list(rural, 1, "")
    assert [c.licence_number for c in page] == ["L-0"] and token
    rest, last_token = use_cases.list(rural, 1, token)
    assert [c.licence_number for c in rest] == ["L-4"]
    assert use_cases.list(rural, 1, last_token) == ([], "")  # a full page may be the last
    everyone, _ = use_cases.list(CustomerQuery(equals={"market_type": "rural"}, activity="all"), 0, "")
    assert [c.licence_number for c in everyone] == ["L-0", "L-2", "L-4"]
    with pytest.raises(InvalidArgument) as error:
        use_cases.list(CustomerQuery(equals={"market_type": "urban"}), 1, token)
    assert violations(error) == {"page_token"}


def test_explain_describes_only_rules_of_the_serving_version(use_cases, rules):
    use_cases.create(values("L-1", monthly_sales_cartons=60.0))
    explained = use_cases.explain("L-1")
    reasons = {r.output: r for r in explained.reasons}
    assert reasons["star_level"].rule_description == "star_level_rule of customer-grading"
    assert (
        reasons["services.scarce_brand_supply"].rule_set,
        reasons["services.scarce_brand_supply"].version,
    ) == (
        "service-entitlements",
        1,
    )
    rules.versions["customer-grading"] = 2
    assert {r.output: r.rule_description for r in use_cases.explain("L-1").reasons}["star_level"] == ""


# -- service menu and territories ---------------------------------------------------------------
def test_the_catalogue_is_seeded_once_and_edited_in_storage(use_cases, storage):
    use_cases.load_service_catalogue()
    seeded = use_cases.descriptions()
    assert {d.service for d in seeded} >= set(domain.SERVICES)
    assert [d.kind for d in seeded] == sorted((d.kind for d in seeded), reverse=True)
    edited = {**vars(seeded[0]), "standard": "New standard"}
    del edited["updated_at"]
    use_cases.update_description(edited)
    use_cases.load_service_catalogue()
    assert use_cases.descriptions()[0].standard == "New standard"
    with pytest.raises(NotFound):
        use_cases.update_description({**edited, "service": "unknown"})
    with pytest.raises(InvalidArgument) as error:
        use_cases.update_description({**edited, "kind": "other", "procedure_steps": []})
    assert violations(error) == {"description.kind", "description.procedure_steps"}


def test_the_menu_lists_granted_services(use_cases):
    use_cases.load_service_catalogue()
    use_cases.create(values("L-1", monthly_sales_cartons=600.0))
    customer, items = use_cases.menu("l-1")
    assert customer.licence_number == "L-1"
    assert {d.service: p for d, p in items}["scarce_brand_supply"] == {"allocation_tier": "A"}


def test_zones_are_upserted_by_their_team_and_reassigned_with_their_customers(use_cases):
    use_cases.upsert_zone("Z-1", "Old town", "team-a")
    use_cases.upsert_zone("Z-1", "Old town east", "team-a")
    with pytest.raises(FailedPrecondition, match="belongs to team team-a"):
        use_cases.upsert_zone("Z-1", "Taken", "team-b")
    with pytest.raises(InvalidArgument) as error:
        use_cases.upsert_zone("", "", "team-a")
    assert violations(error) == {"zone.code", "zone.name"}
    use_cases.create(values("L-1", market_zone="Z-1"))
    use_cases.create(values("L-2"))
    zone, moved = use_cases.reassign_zone("Z-1", "team-c")
    assert (zone.name, zone.team_id, moved) == ("Old town east", "team-c", 1)
    assert (use_cases.get("L-1").team_id, use_cases.get("L-2").team_id) == ("team-c", "")
    with pytest.raises(NotFound):
        use_cases.reassign_zone("Z-9", "team-c")
    with pytest.raises(InvalidArgument) as error:
        use_cases.reassign_zone("Z-1", "")
    assert violations(error) == {"team_id"}


def test_zones_are_listed_in_pages(use_cases):
    for code in ("Z-3", "Z-1", "Z-2"):
        use_cases.upsert_zone(code, f"Zone {code}", "team-a")
    first, token = use_cases.zones(2, "")
    assert [z.code for z in first] == ["Z-1", "Z-2"] and token
    second, end = use_cases.zones(2, token)
    assert [z.code for z in second] == ["Z-3"] and end == ""
    everything, _ = use_cases.zones(0, "")
    assert len(everything) == 3
    with pytest.raises(InvalidArgument):
        use_cases.zones(2, token[:-2] + "AA")


# -- bulk work ---------------------------------------------------------------------------------------
def test_import_keeps_good_rows_and_reports_bad_ones(use_cases, rules):
    use_cases.create(values("L-OLD"))
    rules.undecided_below = 2
    result = use_cases.import_batch(
        [
            (2, values("L-A")),
            (3, values("", name="no licence")),
            (4, values("L-B", business_format="bakery")),
            (5, values("l-a")),
            (6, values("L-OLD")),
            (7, values("L-TINY", monthly_sales_cartons=1.0)),
            (8, values("L-C", compliance_violations_12m=1.5)),
        ],
        update_existing=False,
    )
    assert (result.created, result.updated) == (1, 0)
    assert [(row, name) for row, name, _ in result.errors] == [
        (3, "licence_number"),
        (4, "business_format"),
        (5, "licence_number"),
        (6, "licence_number"),
        (7, ""),
        (8, "compliance_violations_12m"),
    ]
    assert "repeats row 2" in result.errors[2][2] and "already exists" in result.errors[3][2]
    updated = use_cases.import_batch([(2, values("L-OLD", name="Renamed"))], update_existing=True)
    assert (updated.created, updated.updated, updated.errors) == (0, 1, [])
    assert use_cases.get("L-OLD").inputs["name"] == "Renamed"


def progress_of(use_cases, query=None):
    return list(use_cases.reclassify(query or CustomerQuery()))


def test_reclassification_writes_only_what_changed(use_cases, rules, storage):
    for index, sales in enumerate((5.0, 60.0, 250.0)):
        use_cases.create(values(f"L-{index}", monthly_sales_cartons=sales))
    writes = storage.store.writes
    last = progress_of(use_cases)[-1]
    assert (last.total, last.processed, last.changed, last.failed, last.skipped) == (3, 3, 0, 0, 0)
    assert storage.store.writes == writes  # same results on the same versions: nothing written

    rules.versions["service-entitlements"] = 2
    rules.tiers = {5: "A", 4: "B", 3: "B"}  # only the three-star customer notices
    last = progress_of(use_cases)[-1]
    assert (last.processed, last.changed) == (3, 1)
    assert {
        c.licence_number: c.outcome.entitlements_version for c in use_cases.list(CustomerQuery(), 0, "")[0]
    } == {
        "L-0": 2,
        "L-1": 2,
        "L-2": 2,
    }
    assert history(use_cases, "L-1") == ["reclassify", "create"]
    assert history(use_cases, "L-0") == ["create"] and history(use_cases, "L-2") == ["create"]
    assert use_cases.get("L-0").classification.reason == "reclassify"  # refreshed onto version 2


def test_reclassification_counts_customers_the_rules_cannot_decide(use_cases, rules):
    use_cases.create(values("L-SMALL", monthly_sales_cartons=5.0))
    use_cases.create(values("L-BIG", monthly_sales_cartons=60.0))
    rules.versions["customer-grading"] = 2
    rules.undecided_below = 10
    last = progress_of(use_cases)[-1]
    assert (last.processed, last.failed, last.changed) == (2, 1, 0)
    assert use_cases.get("L-SMALL").outcome.grading_version == 1
    assert use_cases.get("L-BIG").outcome.grading_version == 2


def test_reclassification_filters(use_cases, rules):
    use_cases.create(values("L-U", monthly_sales_cartons=60.0))
    use_cases.create(values("L-R", market_type="rural", monthly_sales_cartons=60.0))
    rules.tiers = {3: "B"}
    last = progress_of(use_cases, CustomerQuery(equals={"market_type": "rural"}))[-1]
    assert (last.total, last.changed) == (1, 1)
    assert use_cases.get("L-U").outcome.services["scarce_brand_supply"] == {"allocation_tier": "C"}


def test_a_customer_changed_between_read_and_write_is_skipped(use_cases, rules, storage, monkeypatch):
    use_cases.create(values("L-1", monthly_sales_cartons=60.0))
    use_cases.create(values("L-2", monthly_sales_cartons=60.0))
    rules.tiers = {3: "B"}
    original = use_cases._comparable_batches

    def update_after_reading(query, *where):
        for batch in original(query, *where):
            use_cases.update("L-1", {"monthly_sales_cartons": 600.0}, ["monthly_sales_cartons"])
            yield batch

    monkeypatch.setattr(use_cases, "_comparable_batches", update_after_reading)
    last = progress_of(use_cases)[-1]
    assert (last.processed, last.changed, last.skipped) == (2, 1, 1)
    kept = use_cases.get("L-1")
    assert (kept.inputs["monthly_sales_cartons"], kept.outcome.star_level, kept.classification.reason) == (
        600.0,
        5,
        "update",
    )
    assert history(use_cases, "L-1") == ["update", "create"]
    assert history(use_cases, "L-2") == ["reclassify", "create"]


def test_preview_counts_and_changes_nothing(use_cases, rules, storage):
    for index in range(3):
        use_cases.create(values(f"L-{index}", monthly_sales_cartons=60.0))
    use_cases.create(values("L-SMALL", monthly_sales_cartons=5.0))
    use_cases.deactivate("L-2", "closed")
    before = (dict(storage.store.customers), list(storage.store.history), storage.store.writes)
    rules.drafts["tier-b"] = draft = FakeDraft(rules, "service-entitlements", tiers={3: "B"})
    report = use_cases.preview("tier-b", sample_size=1)
    assert (report.rule_set, report.customers, report.changed) == ("service-entitlements", 3, 2)
    assert report.reparameterised == {"scarce_brand_supply": 2} and len(report.sample) == 1
    assert draft.closed
    rules.drafts["stricter"] = FakeDraft(rules, "customer-grading", sales_factor=2.0)
    stricter = use_cases.preview("stricter", sample_size=5)
    assert stricter.star_transitions == {(3, 2): 2} and stricter.lost == {"scarce_brand_supply": 2}
    assert (dict(storage.store.customers), list(storage.store.history), storage.store.writes) == before


def test_preview_refusals(use_cases, rules):
    with pytest.raises(InvalidArgument) as error:
        use_cases.preview("garbage", 5)
    assert violations(error) == {"draft_source"}
    use_cases.create(values("L-SMALL", monthly_sales_cartons=5.0))
    rules.undecided_below = 10
    rules.drafts["no-small-stars"] = draft = FakeDraft(rules, "customer-grading")
    with pytest.raises(InvalidArgument, match="cannot classify every customer"):
        use_cases.preview("no-small-stars", 5)
    assert draft.closed
