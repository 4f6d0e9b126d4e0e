"""`retailcare rules ... --gateway`: the analyst's commands through the gateway alone, with a
bearer token from a file or GATEWAY_TOKEN, against classification, complaints,
evaluation and the gateway running in this process on loopback (SQLite). An ops token
reads but is refused publishing in one line; a wrong token is refused in one line."""

import json

import pytest
from retailcare.classification.v1 import classification_pb2 as cpb

from services.common.rules.cli import GATEWAY_TOKEN_ENV
from services.composition import main
from tests.e2e.gateway.conftest import BACKENDS, TOKENS, GatewayPack, customer
from tests.support.rule_samples import default_source

GRADING = "customer-grading"
EDITED = default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')
SHIPPED = {
    "customer-grading": "classification",
    "service-entitlements": "classification",
    "complaint-policy": "complaints",
    "kpi-scoring": "evaluation",
    "return-visit-sampling": "evaluation",
}


@pytest.fixture
def pack(tmp_path, monkeypatch):
    """The pack behind its gateway; this process's configuration is the pack's, except
    that every service's own port is one nobody listens on: only the gateway answers."""
    gateway_pack = GatewayPack(tmp_path)
    try:
        for name in (*BACKENDS, "gateway"):
            gateway_pack.start(name)
        for key, value in gateway_pack.settings.as_dict().items():
            monkeypatch.setenv(f"RETAILCARE_{key.upper()}", str(value))
        for name in BACKENDS:  # the CLI must not go round the gateway
            monkeypatch.setenv(f"RETAILCARE_{name.upper()}_TARGET", "127.0.0.1:1")
        monkeypatch.delenv(GATEWAY_TOKEN_ENV, raising=False)
        stubs = gateway_pack.stubs("admin")
        stubs(
            stubs.classification.UpsertMarketZone,
            cpb.UpsertMarketZoneRequest(zone=cpb.MarketZone(code="Z1", name="Old town", team_id="team-1")),
        )
        for licence, cartons in (("110101100092", 92), ("110101100010", 10)):
            shop = customer(licence, monthly_sales_cartons=cartons)
            stubs(stubs.classification.CreateCustomer, cpb.CreateCustomerRequest(customer=shop))
        yield gateway_pack
    finally:
        gateway_pack.close()


def token_file(tmp_path, role: str):
    path = tmp_path / f"{role}.token"
    path.write_text(TOKENS[role] + "\n")
    return str(path)


def run(capsys, *argv, code: int = 0) -> str:
    result = main(["rules", *argv])
    captured = capsys.readouterr()
    assert result == code, captured.err
    return captured.out


def one_line(capsys, *argv) -> str:
    result = main(["rules", *argv])
    captured = capsys.readouterr()
    assert result != 0
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_an_analyst_walks_the_whole_path_through_the_gateway(pack, tmp_path, capsys, monkeypatch):
    analyst = ["--token-file", token_file(tmp_path, "analyst")]
    listed = json.loads(run(capsys, "list", *analyst, "--json"))
    assert {r["rule_set"]: r["service"] for r in listed["rule_sets"]} == SHIPPED
    assert run(capsys, "show", "kpi-scoring", *analyst) == default_source("kpi-scoring")

    draft = tmp_path / "grading.yaml"
    draft.write_text(EDITED)
    decided = json.loads(
        run(
            capsys,
            "dry-run",
            GRADING,
            "--customer",
            "110101100092",
            "--draft",
            str(draft),
            *analyst,
            "--json",
        )
    )
    assert decided["outputs"]["grade"] == 20 and decided["facts"]["monthly_sales_cartons"] == 92
    impact = json.loads(run(capsys, "preview", str(draft), *analyst, "--json"))
    assert (impact["customers"], impact["changed"], impact["grade_moves"]) == (
        2,
        1,
        [{"from": 19, "to": 20, "customers": 1}],
    )

    published = run(capsys, "publish", str(draft), "--comment", "grade 20 from 90", *analyst)
    assert "published customer-grading version 2 (active)" in published
    job = json.loads(
        run(capsys, "reclassification", GRADING, "--watch", "--interval", "0.2", *analyst, "--json")
    )
    assert job["active_version"] == 2
    assert {k: job["job"][k] for k in ("version", "state", "total", "done", "changed")} == {
        "version": 2,
        "state": "completed",
        "total": 2,
        "done": 2,
        "changed": 1,
    }
    # The token from the environment, the gateway's address given explicitly.
    monkeypatch.setenv(GATEWAY_TOKEN_ENV, TOKENS["analyst"])
    via = ["--gateway", pack.target()]
    history = json.loads(run(capsys, "history", GRADING, *via, "--json"))
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert 'monthly_sales_cartons: ">= 90"' in run(capsys, "diff", GRADING, "1", "2", *via)
    assert run(capsys, "scheduled", *via) == "no activation is scheduled\n"
    assert "version 1 active (was 2)" in run(capsys, "rollback", GRADING, "1", *via)
    assert json.loads(run(capsys, "show", GRADING, *via, "--json"))["version"] == 1


def test_an_ops_token_reads_but_is_refused_publishing_in_one_line(pack, tmp_path, capsys):
    ops = ["--token-file", token_file(tmp_path, "ops")]
    listed = json.loads(run(capsys, "list", *ops, "--json"))
    assert {r["rule_set"] for r in listed["rule_sets"]} == set(SHIPPED)
    draft = tmp_path / "grading.yaml"
    draft.write_text(EDITED)
    line = one_line(capsys, "publish", str(draft), "--comment", "x", *ops)
    assert line.startswith("retailcare: PERMISSION_DENIED: role ops may not call ")
    assert "PublishRuleSet" in line and "roles that may: admin, analyst)" in line
    assert one_line(capsys, "rollback", GRADING, "1", *ops).startswith("retailcare: PERMISSION_DENIED")
    assert json.loads(run(capsys, "history", GRADING, *ops, "--json"))["versions"][0]["version"] == 1


def test_a_wrong_or_missing_token_and_a_stopped_gateway_are_one_line(pack, tmp_path, capsys, monkeypatch):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-a-token\n")
    line = one_line(capsys, "list", "--token-file", str(wrong))
    assert line.startswith("retailcare: UNAUTHENTICATED: the token is not valid")
    assert "needs a token" in one_line(capsys, "list", "--gateway")
    monkeypatch.setenv(GATEWAY_TOKEN_ENV, TOKENS["analyst"])
    pack.stop("complaints")
    line = one_line(capsys, "history", "complaint-policy", "--gateway")
    assert line.startswith("retailcare: UNAVAILABLE: complaints unavailable")
    assert run(capsys, "scheduled", "--gateway", code=1) == "no activation is scheduled\n"
    pack.stop("gateway")
    line = one_line(capsys, "list", "--gateway")
    assert line == f"retailcare: cannot reach the gateway at {pack.target()}; is the pack running (make run)?"


def test_customers_are_imported_and_their_job_read_through_the_gateway(pack, tmp_path, capsys):
    rows = tmp_path / "customers.csv"
    rows.write_text(
        "licence_number,name,business_format,market_type,market_zone,monthly_sales_cartons\n"
        "110101100500,Corner shop,grocery,urban,Z1,40\n"
    )
    service = ["--token-file", token_file(tmp_path, "service")]
    assert main(["customers", "import", str(rows), *service]) == 0
    assert "1 created" in capsys.readouterr().out
    assert main(["customers", "reclassify-status", "customer-grading", *service]) == 0
    assert "customer-grading" in capsys.readouterr().out
    assert main(["customers", "import", str(rows), "--token-file", token_file(tmp_path, "ops")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("retailcare: PERMISSION_DENIED: role ops may not call"), line
