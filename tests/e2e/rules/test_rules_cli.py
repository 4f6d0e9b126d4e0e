"""`retailcare rules ...`: offline checks, and the admin commands against a running service."""

import json

import pytest

from services.common.config import load_settings
from services.common.rules import cli as rules_cli
from services.composition import PACK, main, service_definition
from tests.support.ports import pack_environment
from tests.support.rule_samples import default_source
from tests.support.services import running

GRADING = "customer-grading"


def test_validate_and_test_offline(tmp_path, capsys):
    good = tmp_path / "grading.yaml"
    good.write_text(default_source(GRADING))
    assert main(["rules", "validate", str(good)]) == 0
    assert "valid: customer-grading, 42 rules, 5 tests passed" in capsys.readouterr().out
    assert main(["rules", "test", str(good)]) == 0
    assert "5 passed, 0 failed" in capsys.readouterr().out

    bad = tmp_path / "bad.yaml"
    bad.write_text(default_source(GRADING).replace("expect: {grade: 30,", "expect: {grade: 3,"))
    assert main(["rules", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "test 'a large urban supermarket with a clean record' failed: grade: expected 3, got 30" in err
    assert main(["rules", "test", str(bad)]) == 1
    assert "FAIL a large urban supermarket" in capsys.readouterr().out


def test_missing_file_is_one_line_on_stderr(tmp_path, capsys):
    assert main(["rules", "validate", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.yaml" in err


def test_unreachable_service_is_explained(tmp_path, capsys, monkeypatch):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
    source = tmp_path / "grading.yaml"
    source.write_text(default_source(GRADING))
    assert main(["rules", "publish", str(source), "--comment", "x"]) == 2
    assert "cannot reach classification" in capsys.readouterr().err


def test_admin_commands_against_a_running_service(tmp_path, capsys, monkeypatch):
    env = pack_environment(str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETAILCARE_DRAIN_SECONDS", "0")
    settings = load_settings(PACK)
    edited = tmp_path / "grading.yaml"
    edited.write_text(
        default_source(GRADING).replace('">= 95", set_grade.grade: 20', '">= 90", set_grade.grade: 20')
    )
    facts = tmp_path / "customer.json"
    facts.write_text(
        json.dumps({"monthly_sales_cartons": 92, "business_format": "grocery", "market_type": "urban"})
    )
    with running(service_definition("classification"), settings):
        assert main(["rules", "dry-run", GRADING, str(facts), "--draft", str(edited), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["outputs"]["grade"] == 20
        assert main(["rules", "publish", str(edited), "--comment", "grade 20 from 90", "--author", "li"]) == 0
        assert "published customer-grading version 2 (active)" in capsys.readouterr().out
        assert main(["rules", "list"]) == 1  # complaints and evaluation are not running
        listed = capsys.readouterr()
        listing = listed.out
        assert listed.err.startswith("retailcare: cannot reach complaints at ")
        assert any(
            line.split()[:5] == [GRADING, "classification", "2", "2", "2"] for line in listing.splitlines()
        )
        monkeypatch.setattr(rules_cli, "HISTORY_PAGE", 1)  # every entry on a page of its own
        assert main(["rules", "history", GRADING]) == 0
        history = capsys.readouterr().out
        versions, audit = history.split("audit log, newest first:")
        assert [line.split()[0] for line in versions.splitlines()[1:] if line.strip()] == ["2", "1"]
        assert [line.split()[1:3] for line in audit.splitlines()[2:] if line.strip()] == [
            ["activate", "2"],
            ["publish", "2"],
            ["activate", "1"],
            ["publish", "1"],
        ]
        assert "grade 20 from 90" in history
        assert main(["rules", "diff", GRADING, "1", "2"]) == 0
        assert '+    - {id: grade_20, priority: 20, monthly_sales_cartons: ">= 90"' in capsys.readouterr().out
        assert main(["rules", "rollback", GRADING, "1", "--author", "wang"]) == 0
        assert "version 1 active (was 2)" in capsys.readouterr().out
        assert main(["rules", "dry-run", GRADING, str(facts), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["outputs"]["grade"] == 19
        assert main(["rules", "rollback", GRADING, "9"]) == 2
        assert "NOT_FOUND" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["[1, 2]", "{not json"])
def test_bad_facts_file(tmp_path, capsys, content):
    facts = tmp_path / "facts.json"
    facts.write_text(content)
    assert main(["rules", "dry-run", GRADING, str(facts)]) == 2
    assert "facts.json" in capsys.readouterr().err


def test_a_malformed_cell_is_a_validation_error_naming_line_rule_and_column(tmp_path, capsys):
    typo = tmp_path / "grading.yaml"
    typo.write_text(
        default_source(GRADING).replace('">= 95", set_grade.grade: 20', '"=> 95", set_grade.grade: 20')
    )
    assert main(["rules", "validate", str(typo)]) == 1
    err = capsys.readouterr().err
    assert "error: line 158, rule grade_20: monthly_sales_cartons: cell '=> 95': unknown operator '=>'" in err
    assert "Traceback" not in err
    assert main(["rules", "test", str(typo)]) == 1
    assert "unknown operator '=>'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "FILE"],
        ["test", "FILE"],
        ["publish", "FILE", "--comment", "x"],
        ["dry-run", GRADING, "FACTS", "--draft", "FILE"],
    ],
)
def test_every_command_reports_a_yaml_syntax_error_with_its_line(tmp_path, capsys, monkeypatch, command):
    for key, value in pack_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)  # nothing listens there: the error must come first
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: customer-grading\ninputs: {a: [1, 2}\n")
    facts = tmp_path / "facts.json"
    facts.write_text("{}")
    argv = ["rules", *[{"FILE": str(broken), "FACTS": str(facts)}.get(a, a) for a in command]]
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert "line 2" in err and "YAML syntax" in err, err
    assert "no service owns" not in err and "cannot reach" not in err


def test_a_document_without_a_name_is_refused_before_publishing(tmp_path, capsys):
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("rules: []\n")
    assert main(["rules", "publish", str(nameless), "--comment", "x"]) == 2
    assert "nameless.yaml: the document names no rule set" in capsys.readouterr().err
