"""The pack as Prometheus and Grafana see it, on the compose sequence replayed on the
local PostgreSQL server: /metrics passes `promtool check metrics`, a real Prometheus with
deploy/prometheus/prometheus.yml scrapes every process and evaluates the alerts, and the
dashboard's queries name only series the processes export."""

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request

import grpc
import pytest
import yaml
from retailcare.classification.v1 import classification_pb2, classification_pb2_grpc

from services.composition import PACK
from tests.integration.deploy.compose_replay import DEPLOY
from tests.integration.deploy.tools import tool
from tests.support.ports import free_port

DASHBOARD = DEPLOY / "grafana" / "retailcare.json"
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def exported_series(text: str) -> set[str]:
    """Every series name an exposition can hold: sample names, and for each declared
    family (a labelled metric without children has no samples yet) the names of its type."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.update(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group())
    return names


_PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
}


def series_in(expr: str) -> set[str]:
    """Metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (inside braces and grouping clauses) or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        if match.group(2) is None and match.group(1) not in _PROMQL_WORDS:
            names.add(match.group(1))
    return names


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_the_query_reader_finds_metric_names_and_nothing_else():
    assert series_in('sum by (grpc_service, le) (rate(grpc_server_handling_seconds_bucket{a="b"}[5m]))') == {
        "grpc_server_handling_seconds_bucket"
    }
    assert series_in("max(complaints_overdue) / on() group_left sum(up) > 0.01") == {
        "complaints_overdue",
        "up",
    }


@pytest.fixture(scope="module")
def exports(compose_pack):
    """process name -> its /metrics text."""
    _, replay = compose_pack
    return {name: scrape(replay.metrics_url(name)) for name in PACK.default_ports}


def test_dashboard_queries_name_only_series_the_pack_exports(exports):
    exported = {"up"}  # Prometheus's own series per target
    for text in exports.values():
        exported |= exported_series(text)
    used = set().union(*map(series_in, dashboard_queries()))
    assert used - exported == set()
    for area in (
        "grpc_server_handled_total",
        "grpc_client_handled_total",
        "rules_decisions_total",
        "rules_fired_total",
        "rules_active_version",
        "rules_reloads_total",
        "complaints_open",
        "complaints_overdue",
        "evaluation_visit_cards_total",
        "evaluation_omissions_total",
        "evaluation_period_runs_total",
        "evaluation_plans_open",
    ):
        assert area in used, f"the dashboard shows nothing of {area}"


# Series alerts.yaml watches that no process exports yet: their alerts cannot fire until
# the services add them (deploy/README.md, "Alerts", names each one's meaning).
AWAITED: set[str] = set()  # none now: every series the alerts watch is exported


def test_alerts_watch_series_the_pack_exports_or_awaits(exports):
    exported = {"up"}
    for text in exports.values():
        exported |= exported_series(text)
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"]
    used = set().union(*(series_in(rule["expr"]) for group in groups for rule in group["rules"]))
    assert used - exported == AWAITED  # an awaited series that appears: take it off AWAITED


@pytest.mark.parametrize("name", sorted(PACK.default_ports))
def test_promtool_check_metrics_is_clean(exports, name):
    result = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=exports[name], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


def _query(base: str, expr: str) -> list[dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return json.loads(scrape(url))["data"]["result"]


def _wait_for(what, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def prometheus(compose_pack, tmp_path_factory):
    """A real Prometheus server on loopback with the compose configuration, its targets
    pointed at the replayed processes and its intervals shortened; its base URL."""
    binary = tool("prometheus")
    _, replay = compose_pack
    workdir = tmp_path_factory.mktemp("prometheus")
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(DEPLOY / "prometheus" / "alerts.yaml")]
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            group["targets"] = [f"127.0.0.1:{replay.http_ports[t.split(':')[0]]}" for t in group["targets"]]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for("ready Prometheus", lambda: scrape(f"{base}/-/ready"))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_prometheus_scrapes_every_process(prometheus):
    up = _wait_for(
        "four targets up",
        lambda: len(result := _query(prometheus, "up == 1")) == len(PACK.default_ports) and result,
    )
    assert {series["metric"]["service"] for series in up} == set(PACK.default_ports)


def test_prometheus_has_the_grpc_rule_and_business_series(prometheus, compose_pack):
    _, replay = compose_pack
    with grpc.insecure_channel(replay.grpc_target("classification")) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            classification_pb2_grpc.ClassificationServiceStub(channel).GetCustomer(
                classification_pb2.GetCustomerRequest(licence_number="NOSUCHLICENCE1"), timeout=10
            )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    not_found = _wait_for(
        "gRPC series",
        lambda: _query(
            prometheus, 'grpc_server_handled_total{grpc_method="GetCustomer", grpc_code="NotFound"}'
        ),
    )
    assert not_found[0]["metric"]["service"] == "classification"
    active = _wait_for("rule series", lambda: _query(prometheus, "rules_active_version"))
    assert {series["metric"]["service"] for series in active} >= {
        "classification",
        "complaints",
        "evaluation",
    }
    for business in ("complaints_overdue", "evaluation_plans_overdue", "classifications_total"):
        _wait_for(business, lambda business=business: _query(prometheus, business))


def test_prometheus_evaluates_every_alert_rule(prometheus):
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"]
    expected = {rule["alert"] for group in alerts for rule in group["rules"]}

    def evaluated():
        groups = json.loads(scrape(f"{prometheus}/api/v1/rules"))["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if not rules or any(rule.get("lastEvaluation", "").startswith("0001") for rule in rules):
            return None
        return {rule["name"]: rule["health"] for rule in rules}

    health = _wait_for("evaluated rules", evaluated)
    assert health == dict.fromkeys(expected, "ok")


def test_dashboard_panels_have_their_own_place_and_the_provisioned_data_source():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        place = panel["gridPos"]
        assert place["x"] + place["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(place["x"], place["x"] + place["w"])
            for y in range(place["y"], place["y"] + place["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}
