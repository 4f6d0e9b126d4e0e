"""The console's HTTP API on the gateway's port: the gateway's permission table decides
(401/403 as the gRPC door would), rule sets go to their owners, every answer carries a
strict Content-Security-Policy."""

from __future__ import annotations

import datetime
import pathlib
import re
import time

import pytest

from gateway import permissions
from gateway.console.api import _routes, markdown_routes
from gateway.console.http import CONTENT_SECURITY_POLICY
from services.common.auth import ROLES

GRADING = "customer-grading"


class TestReading:
    """Reads, validation and refusals: nothing stored, the pack serves the next as it was."""

    def test_every_answer_carries_a_strict_content_security_policy(self, reading_console):
        console = reading_console
        for path, role in (
            ("/console/", None),
            ("/console/static/main.js", None),
            ("/console/api/rule-sets", "ops"),
        ):
            answer = console.request("GET", path, role)
            assert answer.status == 200, path
            assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert (
            "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
        )
        assert console.request("GET", "/console/api/rule-sets").headers["Content-Security-Policy"]

    def test_the_page_has_no_inline_script_and_loads_nothing_from_elsewhere(self, reading_console):
        console = reading_console
        page = console.request("GET", "/console/").body.decode()
        assert (
            "<script>" not in page and "onclick" not in page and "http" not in page.replace("http-equiv", "")
        )
        assert (
            console.request("GET", "/console/static/main.js")
            .headers["Content-Type"]
            .startswith("text/javascript")
        )
        assert console.request("GET", "/console/static/../app.py").status == 404
        assert console.request("GET", "/console/static/missing.js").status == 404

    def test_a_missing_or_unknown_token_is_401(self, reading_console):
        console = reading_console
        assert console.request("GET", "/console/api/rule-sets").status == 401
        answer = console.request("GET", "/console/api/session", headers={"Authorization": "Bearer nope"})
        assert answer.status == 401
        assert answer.json()["code"] == "UNKNOWN_TOKEN"
        assert (
            console.request("GET", "/console/api/session", headers={"Authorization": "Basic x"}).status == 401
        )

    @pytest.mark.parametrize("role", ROLES)
    def test_each_route_follows_the_gateway_permission_table(self, reading_console, role):
        console = reading_console
        method = f"/{permissions.RULE_SET_ADMIN}/ListRuleSets"
        answer = console.request("GET", "/console/api/rule-sets", role)
        assert answer.status == (200 if role in permissions.allowed_roles(method) else 403)
        publish = f"/{permissions.RULE_SET_ADMIN}/PublishRuleSet"
        answer = console.request("POST", "/console/api/rule-sets/publish", role, {"source": "name: x"})
        if role in permissions.allowed_roles(publish):
            assert answer.status == 400  # let in; the draft names no rule set anybody owns
        else:
            assert answer.status == 403
            assert answer.json()["code"] == "ROLE_NOT_ALLOWED"
        session = console.request("GET", "/console/api/session", role).json()
        assert session["role"] == role
        assert session["may"]["PublishRuleSet"] == (role in permissions.allowed_roles(publish))

    def test_ops_reads_rule_sets_but_may_not_publish_or_roll_back(self, reading_console):
        console = reading_console
        assert console.request("GET", f"/console/api/rule-sets/{GRADING}/versions", "ops").status == 200
        activate = console.request(
            "POST", f"/console/api/rule-sets/{GRADING}/activate", "ops", {"version": 1}
        )
        assert activate.status == 403
        source = console.request("GET", f"/console/api/rule-sets/{GRADING}/versions/1", "ops").json()[
            "version"
        ]["source"]
        assert (
            console.request("POST", "/console/api/rule-sets/publish", "ops", {"source": source}).status == 403
        )
        assert (
            console.request("POST", "/console/api/rule-sets/validate", "ops", {"source": source}).status
            == 403
        )

    def test_validation_names_a_cell_by_row_and_column_and_answers_each_test(self, reading_console):
        console = reading_console
        source = console.request("GET", f"/console/api/rule-sets/{GRADING}/versions/0", "analyst").json()
        source = source["version"]["source"]
        row = '- {id: grade_20, priority: 20, monthly_sales_cartons: ">= 95", set_grade.grade: 20}'
        assert row in source
        line = source[: source.index(row)].count("\n") + 1
        malformed = source.replace(row, row.replace(">= 95", "=> 95"))
        checked = console.request(
            "POST", "/console/api/rule-sets/validate", "analyst", {"source": malformed}
        ).json()
        (cell,) = [d for d in checked["diagnostics"] if d["table_columns"]]
        assert (cell["severity"], cell["rule_id"], cell["line"]) == ("ERROR", "grade_20", line)
        assert (cell["table_row"], cell["table_columns"]) == (20, ["monthly_sales_cartons"])
        assert cell["message"].startswith("monthly_sales_cartons: cell '=> 95': unknown operator '=>'")
        assert checked["tests"] == []  # the draft did not get as far as its tests

        # Each embedded test with the values that differ, as `retailcare rules test` says them.
        expected = "expect: {grade: 4, star_level: 1,"
        wrong = source.replace(expected, expected.replace("grade: 4", "grade: 5"), 1)
        checked = console.request(
            "POST", "/console/api/rule-sets/validate", "analyst", {"source": wrong}
        ).json()
        assert not checked["valid"]
        results = {t["name"]: t for t in checked["tests"]}
        village = results.pop("a small village shop")
        assert (village["passed"], village["failures"]) == (False, ["grade: expected 5, got 4"])
        assert village["line"] == source[: source.index("  - name: a small village shop")].count("\n") + 1
        assert results and all(t["passed"] and t["failures"] == [] for t in results.values())
        assert checked["tests_passed"] == len(results)
        assert all(d["table_row"] == 0 and d["table_columns"] == [] for d in checked["diagnostics"])

    def test_bad_requests_are_400_with_the_field_never_a_stack_trace(self, reading_console):
        console = reading_console
        answer = console.request("POST", "/console/api/rule-sets/validate", "analyst", b"{not json")
        assert answer.status == 400 and answer.json()["violations"] == [
            {"field": "body", "description": "is not JSON"}
        ]
        answer = console.request(
            "POST",
            "/console/api/rule-sets/validate",
            "analyst",
            {"source": "x"},
            {"Content-Type": "text/plain"},
        )
        assert answer.status == 400 and answer.json()["violations"][0]["field"] == "content-type"
        answer = console.request("GET", f"/console/api/rule-sets/{GRADING}/diff?from=1&to=x", "ops")
        assert answer.status == 400 and answer.json()["violations"][0]["field"] == "to"
        answer = console.request("GET", f"/console/api/rule-sets/{GRADING}/versions/999", "ops")
        assert answer.status == 404
        answer = console.request(
            "POST", f"/console/api/rule-sets/{GRADING}/activate", "analyst", {"version": 0}
        )
        assert answer.status == 400 and answer.json()["violations"][0]["field"] == "version"
        answer = console.request(
            "POST", f"/console/api/rule-sets/{GRADING}/activate", "analyst", {"version": 1.5}
        )
        assert answer.status == 400 and answer.json()["violations"][0]["field"] == "version"
        too_large = b'{"source": "' + b"x" * (1024 * 1024) + b'"}'
        assert console.request("POST", "/console/api/rule-sets/validate", "analyst", too_large).status == 413
        assert console.request("DELETE", "/console/api/rule-sets", "admin").status in (404, 405, 501)

    @pytest.mark.parametrize(
        "moment, why",
        [
            ("tomorrow", "ISO 8601"),
            ("2030-01-01T10:00:00", "offset"),
            (20300101, "ISO 8601"),
            ("9999-12-31T23:59:59-14:00", "1970 and 2100"),  # past the year 9999 in UTC
            ("2200-01-01T00:00:00Z", "1970 and 2100"),
        ],
    )
    def test_a_scheduled_publish_needs_a_moment_with_its_offset(self, reading_console, moment, why):
        console = reading_console
        _, source = _active_source(console, GRADING)
        body = {"source": source, "activate_at": moment}
        answer = console.request("POST", "/console/api/rule-sets/publish", "analyst", body)
        assert answer.status == 400
        [violation] = answer.json()["violations"]
        assert violation["field"] == "activate_at" and why in violation["description"]


def test_an_analyst_validates_publishes_diffs_and_rolls_back(console):
    listing = console.request("GET", "/console/api/rule-sets", "analyst").json()["rule_sets"]
    grading = next(r for r in listing if r["name"] == GRADING)
    assert grading["service"] == "classification"
    active = grading["active_version"]
    source = console.request("GET", f"/console/api/rule-sets/{GRADING}/versions/{active}", "analyst").json()
    source = source["version"]["source"]

    broken = source.replace("name: customer-grading", "name: customer-grading\nrules: [", 1)
    body = {"source": broken, "editing": GRADING}
    checked = console.request("POST", "/console/api/rule-sets/validate", "analyst", body).json()
    assert not checked["valid"]
    assert any(d["severity"] == "ERROR" and d["line"] > 0 for d in checked["diagnostics"])

    checked = console.request("POST", "/console/api/rule-sets/validate", "analyst", {"source": source}).json()
    assert checked["valid"] and checked["tests_passed"] > 0

    edited = source + "\n# reviewed in the console\n"
    published = console.request(
        "POST", "/console/api/rule-sets/publish", "analyst", {"source": edited, "comment": "reviewed"}
    )
    assert published.status == 200, published.body
    version = published.json()["version"]
    assert version["active"] and version["version"] > active and version["author"] == "analyst"

    diff = console.request(
        "GET", f"/console/api/rule-sets/{GRADING}/diff?from={active}&to={version['version']}", "ops"
    ).json()
    assert "+# reviewed in the console" in diff["unified_diff"]

    rolled = console.request(
        "POST",
        f"/console/api/rule-sets/{GRADING}/activate",
        "analyst",
        {"version": active, "comment": "back"},
    ).json()
    assert rolled["version"]["version"] == active and rolled["previous_version"] == version["version"]
    audit = console.request("GET", f"/console/api/rule-sets/{GRADING}/audit", "ops").json()["entries"]
    seen = [(e["action"], e["version"], e["comment"], e["actor"]) for e in audit]
    assert seen[0] == ("activate", active, "back", "analyst")
    assert ("publish", version["version"], "reviewed", "analyst") in seen


def test_an_analyst_previews_a_grading_draft_over_all_customers(console, populated):
    # The active version as a draft: every customer is counted, none would change.
    source = console.request("GET", f"/console/api/rule-sets/{GRADING}/versions/1", "analyst").json()
    source = source["version"]["source"]
    impact = console.request("POST", "/console/api/rule-sets/preview", "analyst", {"source": source})
    assert impact.status == 200, impact.body
    assert impact.json()["customers"] == 3 and impact.json()["changed"] == 0
    assert console.request("POST", "/console/api/rule-sets/preview", "ops", {"source": source}).status == 403


def test_the_overview_counts_customers_by_star_level_and_open_complaints(console, populated):
    stars = console.request("GET", "/console/api/overview/customers?by=team", "ops").json()
    assert stars["groups"] == ["team-1", "team-2"]
    assert sum(sum(levels.values()) for levels in stars["counts"].values()) == 3
    assert sum(stars["counts"]["team-1"].values()) == 2
    zones = console.request("GET", "/console/api/overview/customers?by=zone", "ops").json()
    assert zones["groups"] == ["Z1", "Z2"]
    complaints = console.request("GET", "/console/api/overview/complaints", "ops").json()
    assert {t["team"]: t["open"] for t in complaints["teams"]} == {"team-1": 1, "team-2": 2}
    assert console.request("GET", "/console/api/overview/complaints", "analyst").status == 403
    assert console.request("GET", "/console/api/overview/customers?by=shop", "ops").status == 400
    nearest = complaints["nearest"]
    assert sorted(c["licence_number"] for c in nearest) == ["110101100001", "110101100003", "110101100003"]
    assert [c["deadline_at"] for c in nearest] == sorted(c["deadline_at"] for c in nearest)
    assert all(c["deadline_at"] and not c["overdue"] and c["state"] == "received" for c in nearest)

    grades = console.request("GET", "/console/api/overview/customers?by=zone&measure=grade", "ops").json()
    assert grades["measure"] == "grade" and grades["groups"] == ["Z1", "Z2"]
    assert all(re.fullmatch(r"\d+-\d+", level) for level in grades["levels"])
    assert sum(sum(levels.values()) for levels in grades["counts"].values()) == 3
    assert len(grades["levels"]) > 1  # 30, 90 and 400 cartons are not one band of grades
    bad = console.request("GET", "/console/api/overview/customers?measure=size", "ops")
    assert bad.status == 400 and bad.json()["violations"][0]["field"] == "measure"


def _active_source(console, name: str) -> tuple[int, str]:
    listing = console.request("GET", "/console/api/rule-sets", "analyst").json()["rule_sets"]
    active = next(r for r in listing if r["name"] == name)["active_version"]
    answer = console.request("GET", f"/console/api/rule-sets/{name}/versions/{active}", "analyst")
    return active, answer.json()["version"]["source"]


def test_an_analyst_schedules_a_version_and_cancels_it_ops_only_reads(console):
    active, source = _active_source(console, GRADING)
    at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).replace(microsecond=0)
    body = {"source": source + "\n# next week\n", "comment": "later", "activate_at": at.isoformat()}
    published = console.request("POST", "/console/api/rule-sets/publish", "analyst", body)
    assert published.status == 200, published.body
    version = published.json()["version"]
    assert version["version"] == active + 1 and not version["active"]

    waiting = console.request("GET", f"/console/api/rule-sets/{GRADING}/scheduled", "ops").json()
    assert [(a["version"], a["author"], a["comment"]) for a in waiting["activations"]] == [
        (active + 1, "analyst", "later")
    ]
    assert waiting["activations"][0]["activate_at"] == at.isoformat().replace("+00:00", "Z")
    listing = console.request("GET", "/console/api/rule-sets", "ops").json()["rule_sets"]
    by_name = {r["name"]: r for r in listing}
    assert [a["version"] for a in by_name[GRADING]["scheduled"]] == [active + 1]
    assert by_name[GRADING]["active_version"] == active
    assert all(r["scheduled"] == [] for name, r in by_name.items() if name != GRADING)

    cancel = {"version": active + 1, "comment": "not yet"}
    assert console.request("POST", f"/console/api/rule-sets/{GRADING}/cancel", "ops", cancel).status == 403
    cancelled = console.request("POST", f"/console/api/rule-sets/{GRADING}/cancel", "analyst", cancel)
    assert cancelled.status == 200 and cancelled.json()["cancelled"]["version"] == active + 1
    assert (
        console.request("GET", f"/console/api/rule-sets/{GRADING}/scheduled", "ops").json()["activations"]
        == []
    )
    again = console.request("POST", f"/console/api/rule-sets/{GRADING}/cancel", "analyst", cancel)
    assert again.status in (404, 409), again.body
    audit = console.request("GET", f"/console/api/rule-sets/{GRADING}/audit", "ops").json()["entries"]
    assert [(e["action"], e["version"]) for e in audit[:2]] == [
        ("cancel", active + 1),
        ("schedule", active + 1),
    ]


def test_after_an_activation_the_reclassification_job_reports_its_progress(console, populated):
    active, source = _active_source(console, GRADING)
    body = {"source": source + "\n# job\n", "comment": "job"}
    version = console.request("POST", "/console/api/rule-sets/publish", "analyst", body).json()["version"]
    deadline = time.monotonic() + 60
    while True:
        job = console.request("GET", f"/console/api/rule-sets/{GRADING}/job", "ops").json()
        assert job["reclassifies"]
        if job["job"] and job["job"]["version"] == version["version"] and job["job"]["state"] == "completed":
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["job"]["total"] == job["job"]["done"] == 3
    assert job["job"]["changed"] == 0  # a comment changes nobody's classification
    other = console.request("GET", "/console/api/rule-sets/complaint-policy/job", "analyst").json()
    assert other == {"rule_set": "complaint-policy", "reclassifies": False, "job": None}
    assert console.request("GET", f"/console/api/rule-sets/{GRADING}/job").status == 401


def test_the_team_overview_shows_visits_omissions_complaints_and_results(console, evaluated):
    answer = console.request("GET", f"/console/api/overview/teams?period={evaluated.period}", "ops")
    assert answer.status == 200, answer.body
    teams = answer.json()
    assert teams["period"]["id"] == evaluated.period and teams["period"]["runs"] == 1
    assert teams["unknown_teams"] == ["team-2"]  # a zone's team evaluation does not know
    [team] = teams["teams"]
    assert team["team"] == "team-1" and team["name"] == "Old town"
    assert (team["visits"], team["visits_with_omissions"], team["omissions"]) == (2, 1, 1)
    assert team["omission_rate"] == 0.5
    assert team["customers"] == 3 == sum(team["stars"].values()) and team["stars"]["5"] == 1
    assert (team["open_complaints"], team["overdue_complaints"]) == (1, 0)
    assert team["score"] is not None and team["grade"]
    assert [m["staff"] for m in team["members"]] == ["manager-9"]
    assert sum(team["score_bands"].values()) == 1 and list(team["score_bands"]) == teams["bands"]
    assert team["missing_parts"] == []

    assert console.request("GET", "/console/api/overview/teams?period=1999-01", "ops").status == 404
    missing = console.request("GET", "/console/api/overview/teams", "ops")
    assert missing.status == 400 and missing.json()["violations"][0]["field"] == "period"
    assert (
        console.request("GET", f"/console/api/overview/teams?period={evaluated.period}", "analyst").status
        == 403
    )


def test_omissions_per_item_over_the_periods_evaluation_knows(console, evaluated):
    answer = console.request("GET", f"/console/api/overview/items?period={evaluated.period}", "ops")
    assert answer.status == 200, answer.body
    items = answer.json()
    assert items["periods"] == [evaluated.period]  # the months before it are not periods here
    rows = {row["item"]: row for row in items["rows"]}
    assert set(rows) == set(items["items"]) and evaluated.service in rows
    omitted = rows[evaluated.service]
    assert (omitted["cards"], omitted["visits"], omitted["omissions"], omitted["omission_rate"]) == (
        2,
        2,
        1,
        0.5,
    )
    assert all(row["omissions"] == 0 for item, row in rows.items() if item != evaluated.service)
    assert console.request("GET", "/console/api/overview/items?period=1999-01", "ops").status == 404
    assert (
        console.request("GET", f"/console/api/overview/items?period={evaluated.period}", "analyst").status
        == 403
    )


def test_the_supervision_overview_counts_findings_breaches_and_return_visits(console, evaluated):
    answer = console.request("GET", f"/console/api/overview/supervision?period={evaluated.period}", "ops")
    assert answer.status == 200, answer.body
    seen = answer.json()
    assert seen["findings"] == 2
    assert seen["teams"] == [{"team": "team-1", "open": 1, "heard": 0, "upheld": 1, "dismissed": 0}]
    assert seen["items"] == [{"service": evaluated.service, "checked": 2, "broken": 1}]
    assert [(f["state"], f["kind"]) for f in seen["recent"]] == [
        ("open", "not delivered"),
        ("upheld", "not delivered"),
    ]
    zones = {zone["zone"]: zone for zone in seen["zones"]}
    assert sum(zone["tasks"] for zone in zones.values()) == evaluated.tasks
    z1 = zones["Z1"]
    assert z1["answered"] == 1 and z1["coverage"] == round(1 / z1["tasks"], 4) and z1["satisfaction"] == 4.5
    assert all(
        zone["answered"] == 0 and zone["satisfaction"] is None for name, zone in zones.items() if name != "Z1"
    )
    without = console.request("GET", "/console/api/overview/supervision", "ops").json()
    assert without["findings"] == 2 and without["zones"] == []
    assert console.request("GET", "/console/api/overview/supervision", "analyst").status == 403


def test_every_route_refuses_exactly_the_roles_the_permission_table_refuses(console):
    for route in _routes(None, None):
        if not route.grpc_methods:
            continue
        granted = frozenset.intersection(*(permissions.allowed_roles(m) for m in route.grpc_methods))
        path = re.sub(r"\(\?P<name>[^)]*\)", GRADING, route.pattern.pattern)
        path = re.sub(r"\(\?P<version>[^)]*\)", "1", path)
        for role in ROLES:
            body = {} if route.method == "POST" else None
            answer = console.request(route.method, f"/console/api/{path}?period=2026-01", role, body)
            if role in granted:
                assert answer.status not in (401, 403), (route.method, path, role, answer.body)
            else:
                assert answer.status == 403, (route.method, path, role)
                assert answer.json()["code"] == "ROLE_NOT_ALLOWED"
        assert console.request(route.method, f"/console/api/{path}", None, body).status == 401


def test_the_docs_print_the_console_api_as_it_is():
    docs = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "console.md").read_text(encoding="utf-8")
    assert markdown_routes() in docs


def test_a_dry_run_takes_a_stored_customers_facts(console, populated):
    base = "/console/api/rule-sets"
    grading = console.request("GET", f"{base}/{GRADING}/customer-facts?licence=110101100002", "analyst")
    assert grading.status == 200, grading.body
    facts = grading.json()["facts"]
    assert facts == {"monthly_sales_cartons": 400.0, "business_format": "grocery", "market_type": "urban"}
    decided = console.request(
        "POST", f"{base}/dry-run", "analyst", {"source": _active_source(console, GRADING)[1], "facts": facts}
    )
    assert decided.status == 200 and decided.json()["decision"]["fired_rules"]

    entitled = console.request(
        "GET", f"{base}/service-entitlements/customer-facts?licence=110101100002", "ops"
    )
    assert entitled.status == 200 and entitled.json()["facts"]["star_level"] >= 1
    other = console.request("GET", f"{base}/complaint-policy/customer-facts?licence=110101100002", "analyst")
    assert other.status == 400 and other.json()["violations"][0]["field"] == "rule_set"
    assert (
        console.request("GET", f"{base}/{GRADING}/customer-facts?licence=999999999999", "analyst").status
        == 404
    )
    missing = console.request("GET", f"{base}/{GRADING}/customer-facts", "analyst")
    assert missing.status == 400 and missing.json()["violations"][0]["field"] == "licence"
