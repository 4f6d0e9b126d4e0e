"""deploy/prometheus/alerts.yaml is valid and its unit tests pass under promtool; every
alert has a test that fires it and one that keeps it silent, and a runbook line."""

import re
import subprocess

import yaml

from tests.integration.deploy.compose_replay import DEPLOY
from tests.integration.deploy.tools import tool

PROMETHEUS = DEPLOY / "prometheus"
TEST_FILES = sorted(PROMETHEUS.glob("alerts*_test.yaml"))


def _alerts() -> dict[str, dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yaml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_promtool_accepts_the_rules():
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(PROMETHEUS / "alerts.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass():
    result = subprocess.run(
        [tool("promtool"), "test", "rules", *map(str, TEST_FILES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent():
    fired, silent = set(), set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case["alert_rule_test"]:
                (fired if check["exp_alerts"] else silent).add(check["alertname"])
    assert fired == set(_alerts()), set(_alerts()) - fired
    assert silent == set(_alerts()), set(_alerts()) - silent


def test_every_alert_has_a_runbook_entry():
    readme = (DEPLOY / "README.md").read_text()
    headings = {m.lower() for m in re.findall(r"^#{2,4} (RetailCare\w+)", readme, re.MULTILINE)}
    for name, rule in _alerts().items():
        assert rule["annotations"]["runbook"] == f"deploy/README.md#{name.lower()}"
        assert name.lower() in headings, f"deploy/README.md has no section {name}"
