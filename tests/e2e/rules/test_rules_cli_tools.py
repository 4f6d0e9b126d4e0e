"""The analyst's tools of `retailcare rules`: show, actions, test naming the one value that
differs, preview over every stored customer (tables, JSON, CSV) and dry-run for a stored
customer, against a running classification service on SQLite and PostgreSQL."""

import csv
import json

import pytest
from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.common.config import load_settings
from services.composition import PACK, main, service_definition
from tests.support.ports import pack_environment
from tests.support.rule_samples import default_source
from tests.support.services import channel_to, running

GRADING = "customer-grading"
ENTITLEMENTS = "service-entitlements"
# Grade 20 from 90 cartons instead of 95: the 92-carton shop moves from 19 to 20.
EDITED = default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')


@pytest.fixture
def pack(tmp_path, monkeypatch, db_url):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETAILCARE_CLASSIFICATION_DATABASE_URL", db_url)
    settings = load_settings(PACK)
    with running(service_definition("classification"), settings) as service, channel_to(service) as channel:
        stub = classification_pb2_grpc.ClassificationServiceStub(channel)
        for licence, cartons in (("L-92", 92), ("L-10", 10), ("L-500", 500)):
            shop = pb.CustomerInput(
                licence_number=licence,
                name=f"Shop {licence}",
                business_format="grocery",
                market_type="urban",
                zone_type="village",
                monthly_sales_cartons=cartons,
            )
            stub.CreateCustomer(pb.CreateCustomerRequest(customer=shop), timeout=10)
        yield stub


def test_actions_lists_parameters_with_types_and_values(capsys):
    assert main(["rules", "actions", ENTITLEMENTS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["action", "parameter", "type", "required", "values"]
    assert ["grant_service", "visits_per_month", "integer", "no", "0..31"] in [line.split() for line in lines]
    assert main(["rules", "actions", GRADING, "--json"]) == 0
    actions = {a["action"]: a for a in json.loads(capsys.readouterr().out)["actions"]}
    (grade,) = actions["set_grade"]["parameters"]
    assert (grade["name"], grade["type"], grade["required"]) == ("grade", "integer", True)
    assert main(["rules", "actions", "no-such-set"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown rule set 'no-such-set'" in err


def test_a_failed_test_names_the_one_value_that_differs(tmp_path, capsys):
    wrong = tmp_path / "entitlements.yaml"
    source = default_source(ENTITLEMENTS)
    assert "scarce_brand_supply: {allocation_tier: C}" in source
    wrong.write_text(
        source.replace(
            "scarce_brand_supply: {allocation_tier: C}", "scarce_brand_supply: {allocation_tier: B}", 1
        )
    )
    assert main(["rules", "test", str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "services.scarce_brand_supply.allocation_tier: expected 'B', got 'C'" in out
    assert main(["rules", "test", str(wrong), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (failed,) = [t for t in report["tests"] if not t["passed"]]
    assert failed["failures"] == ["services.scarce_brand_supply.allocation_tier: expected 'B', got 'C'"]


def test_show_preview_and_dry_run_against_stored_customers(pack, tmp_path, capsys):
    assert main(["rules", "show", GRADING]) == 0
    assert capsys.readouterr().out == default_source(GRADING)
    assert main(["rules", "show", GRADING, "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["active"], shown["source"]) == (1, True, default_source(GRADING))
    assert main(["rules", "show", GRADING, "7"]) == 2
    assert capsys.readouterr().err.startswith("retailcare: NOT_FOUND")

    draft = tmp_path / "grading.yaml"
    draft.write_text(EDITED)
    table = tmp_path / "impact.csv"
    assert main(["rules", "preview", str(draft), "--csv", str(table)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("customer-grading: 1 of 3 customers change")
    assert ["19", "20", "1"] in [line.split() for line in out.split("grade moves:")[1].splitlines()]
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["licence_number"], r["grade_before"], r["grade_after"]) for r in rows] == [
        ("L-92", "19", "20")
    ]
    assert main(["rules", "preview", str(draft), "--json"]) == 0
    impact = json.loads(capsys.readouterr().out)
    assert (impact["customers"], impact["changed"], impact["grade_moves"]) == (
        3,
        1,
        [{"from": 19, "to": 20, "customers": 1}],
    )

    assert main(["rules", "dry-run", GRADING, "--customer", "L-92", "--draft", str(draft), "--json"]) == 0
    decided = json.loads(capsys.readouterr().out)
    assert decided["facts"] == {
        "monthly_sales_cartons": 92,
        "business_format": "grocery",
        "market_type": "urban",
    }
    assert decided["outputs"]["grade"] == 20 and "grade_20" in decided["fired_rules"]
    assert decided["not_fired"]["grade_21"] == "monthly_sales_cartons is 92.0, not >= 110.0"
    assert "grade_20" not in decided["not_fired"]
    assert main(["rules", "dry-run", ENTITLEMENTS, "--customer", "L-500", "--json"]) == 0
    decided = json.loads(capsys.readouterr().out)
    assert decided["facts"]["zone_type"] == "village" and decided["facts"]["star_level"] >= 1
    assert decided["not_fired"] and set(decided["not_fired"]).isdisjoint(decided["fired_rules"])
    assert main(["rules", "dry-run", GRADING, "--customer", "L-NOBODY"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("retailcare: NOT_FOUND") and err.count("\n") == 1


def test_preview_of_a_broken_draft_fails_in_one_line(pack, tmp_path, capsys):
    draft = tmp_path / "kpi.yaml"
    draft.write_text(default_source("kpi-scoring"))
    assert main(["rules", "preview", str(draft)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preview works for customer-grading and service-entitlements" in err
