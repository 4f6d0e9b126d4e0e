"""`retailcare rules ... --json` on every command that prints something, the readable
tables without it, and one line on stderr with a non-zero exit for every failure, against
a running classification service (complaints and evaluation are not running)."""

import datetime
import json

import pytest

from services.common.config import load_settings
from services.composition import PACK, main, service_definition
from tests.support.ports import pack_environment
from tests.support.rule_samples import default_source
from tests.support.services import running

GRADING = "customer-grading"
EDITED = default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')


@pytest.fixture
def classification(tmp_path, monkeypatch):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETAILCARE_RECLASSIFICATION_BATCH_SIZE", "0")
    with running(service_definition("classification"), load_settings(PACK)) as service:
        yield service


def run_json(capsys, *argv, code: int = 0):
    assert main(["rules", *argv, "--json"]) == code
    captured = capsys.readouterr()
    return json.loads(captured.out)


def one_line_failure(capsys, *argv) -> str:
    code = main(["rules", *argv])
    captured = capsys.readouterr()
    assert code != 0, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_offline_commands_print_json(tmp_path, capsys):
    good = tmp_path / "grading.yaml"
    good.write_text(EDITED)
    checked = run_json(capsys, "validate", str(good))
    assert (checked["valid"], checked["rule_set"], checked["tests_passed"], checked["tests_failed"]) == (
        True,
        GRADING,
        5,
        0,
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(EDITED.replace("set_star_level: {level: 5}", "set_star_level: {level: 9}", 1))
    refused = run_json(capsys, "validate", str(bad), code=1)
    assert refused["valid"] is False
    assert any(
        d["severity"] == "error" and "level 9 must be at most 5" in d["message"] and d["line"] > 0
        for d in refused["diagnostics"]
    )
    facts = run_json(capsys, "facts", "service-entitlements")
    assert {f["name"]: (f["type"], f["always"]) for f in facts["facts"]}["zone_type"] == ("one_of", False)
    assert facts["not_facts"] == {"market_zone": "zone_type"}
    assert main(["rules", "facts", "service-entitlements"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["fact", "type", "supplied", "values"]
    assert ["star_level", "integer", "always"] in [line.split() for line in table]
    assert "(market_zone is not a fact of service-entitlements: use zone_type)" in table
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: customer-grading\nrules: [\n")
    not_compiled = run_json(capsys, "test", str(broken), code=1)
    assert not_compiled["tests"] == [] and "YAML syntax" in not_compiled["errors"][0]["message"]


def test_every_command_prints_json_and_tables(classification, tmp_path, capsys):
    draft = tmp_path / "grading.yaml"
    draft.write_text(EDITED)
    published = run_json(capsys, "publish", str(draft), "--comment", "grade 20 from 90", "--author", "li")
    assert (published["rule_set"], published["version"], published["state"], published["active"]) == (
        GRADING,
        2,
        "active",
        True,
    )
    assert published["warnings"] == [] and len(published["checksum"]) == 64

    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).replace(microsecond=0)
    later = tmp_path / "later.yaml"
    later.write_text(EDITED + "\n# in three days\n")
    scheduled = run_json(capsys, "publish", str(later), "--comment", "later", "--at", at.isoformat())
    assert (scheduled["version"], scheduled["state"], scheduled["active"]) == (3, "scheduled", False)
    assert scheduled["activate_at"] == at.isoformat(timespec="seconds")

    waiting = run_json(capsys, "scheduled", code=1)  # complaints and evaluation are down
    assert [(a["rule_set"], a["version"], a["activate_at"]) for a in waiting["activations"]] == [
        (GRADING, 3, at.isoformat(timespec="seconds"))
    ]
    assert [u.split()[0] for u in waiting["unreachable"]] == ["complaints", "evaluation"]
    cancelled = run_json(capsys, "cancel", GRADING, "3")
    assert (cancelled["version"], cancelled["cancelled"]) == (3, True)

    listed = run_json(capsys, "list", code=1)
    mine = {r["rule_set"]: r for r in listed["rule_sets"]}
    assert (mine[GRADING]["service"], mine[GRADING]["active_version"], mine[GRADING]["latest_version"]) == (
        "classification",
        2,
        3,
    )
    assert mine[GRADING]["activated_at"].endswith("+00:00")
    capsys.readouterr()
    assert main(["rules", "list"]) == 1
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:5] == ["rule", "set", "service", "active", "latest"]
    assert [GRADING, "classification", "2", "3", "2"] in [line.split()[:5] for line in table]

    history = run_json(capsys, "history", GRADING)
    assert [(v["version"], v["active"]) for v in history["versions"]] == [(3, False), (2, True), (1, False)]
    assert [(a["action"], a["version"]) for a in history["audit"]][:4] == [
        ("cancel", 3),
        ("schedule", 3),
        ("publish", 3),
        ("activate", 2),
    ]

    diff = run_json(capsys, "diff", GRADING, "1", "2")
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert '+    - {id: grade_20, priority: 20, monthly_sales_cartons: ">= 90"' in diff["unified_diff"]

    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps({"monthly_sales_cartons": 92, "business_format": "grocery", "market_type": "urban"})
    )
    decided = run_json(capsys, "dry-run", GRADING, str(facts))
    assert decided["version"] == 2 and decided["outputs"]["grade"] == 20
    assert main(["rules", "dry-run", GRADING, str(facts)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"{GRADING} version 2\n")
    assert ["grade", "20"] in [line.split() for line in shown.split("outputs:")[1].splitlines()]
    assert "rules that did not fire, and why:" in shown
    assert "monthly_sales_cartons is 92.0, not >= 110.0" in shown

    rolled = run_json(capsys, "rollback", GRADING, "1")
    assert (rolled["version"], rolled["previous_version"]) == (1, 2)
    assert run_json(capsys, "show", GRADING)["version"] == 1


def test_every_failure_is_one_line(classification, tmp_path, capsys):
    broken = tmp_path / "grading.yaml"
    broken.write_text(
        EDITED.replace("set_star_level: {level: 5}", "set_star_level: {level: 9}", 1).replace(
            "set_grade.grade: 20", "set_grade.grade: 200", 1
        )
    )
    line = one_line_failure(capsys, "publish", str(broken), "--comment", "x")
    assert line.startswith("retailcare: INVALID_ARGUMENT") and "level 9" in line and "200" in line
    assert one_line_failure(capsys, "rollback", GRADING, "9").startswith("retailcare: NOT_FOUND")
    assert one_line_failure(capsys, "diff", GRADING, "1", "7").startswith("retailcare: NOT_FOUND")
    assert one_line_failure(capsys, "history", "no-such-set").startswith("retailcare: no service owns")
    assert one_line_failure(capsys, "cancel", GRADING, "1").startswith("retailcare: ")
    assert "needs its UTC offset" in one_line_failure(
        capsys, "publish", str(broken), "--comment", "x", "--at", "2027-01-01T00:00"
    )
    assert "not valid JSON" in one_line_failure(capsys, "dry-run", GRADING, str(broken))
    line = one_line_failure(capsys, "reclassification", GRADING, "--watch", "--start-within", "0.5")
    assert line.startswith(
        f"retailcare: no reclassification job for {GRADING} version 1 started within 0.5 s"
    )
    assert "reclassification_batch_size is 0" in line
    assert main(["rules", "reclassification", GRADING]) == 0
    assert (
        capsys.readouterr().out
        == f"{GRADING}: version 1 is active; no reclassification job has started yet\n"
    )
    token = tmp_path / "empty-token"
    token.write_text("")
    assert "is empty" in one_line_failure(capsys, "list", "--token-file", str(token))
