"""deploy/compose.yaml brought up the way compose would on a fresh PostgreSQL, without a
container engine (tests/integration/deploy/compose_replay.py says what is rewritten)."""

import json
import pathlib
import subprocess

import yaml

from services.common.migrations import head_revision
from services.composition import PACK
from tests.integration.deploy.compose_replay import DEPLOY, depends_on, load_compose
from tests.integration.deploy.tools import tool


def _migrations_dir(name: str) -> pathlib.Path:
    return PACK.entry(name).migrations_dir


def test_every_service_reaches_serving_after_one_migration_run(compose_pack):
    compose, replay = compose_pack
    for name in PACK.default_ports:  # compose's own view of the service: its healthcheck passes
        compose.wait_healthy(name)
    assert replay.exit_codes == {"migrate": 0}
    for name in PACK.default_ports:
        assert replay.processes[name].poll() is None, replay.output(name)
    with replay.admin_connection() as connection:
        for name in PACK.with_database:
            revision = connection.execute(f"SELECT version_num FROM {name}.alembic_version").fetchone()[0]
            assert revision == head_revision(_migrations_dir(name), None)
        stray = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        assert stray == []  # every table in its service's schema


def test_services_wait_for_the_migration_and_the_gateway_for_the_services():
    services = load_compose()["services"]
    assert depends_on(services["migrate"]) == {"postgres": "service_healthy"}
    for name in PACK.with_database:
        assert depends_on(services[name]) == {"migrate": "service_completed_successfully"}
    assert depends_on(services["gateway"]) == dict.fromkeys(PACK.with_database, "service_healthy")


def test_prometheus_scrapes_every_process_and_loads_the_alerts():
    services = load_compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert targets == {f"{name}:{http}" for name, (_, http) in PACK.default_ports.items()}
    mounts = dict(
        volume.split(":")[:2][::-1] for volume in services["prometheus"]["volumes"] if ":/" in volume
    )
    for rule_file in config["rule_files"]:
        assert (DEPLOY / mounts[rule_file]).is_file(), rule_file


def test_promtool_accepts_the_compose_prometheus_configuration(tmp_path):
    """prometheus.yml as the container sees it: its rule file at the mounted path."""
    services = load_compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    mounts = dict(
        volume.split(":")[:2][::-1] for volume in services["prometheus"]["volumes"] if ":/" in volume
    )
    config["rule_files"] = [str(DEPLOY / mounts[rule_file]) for rule_file in config["rule_files"]]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_is_provisioned_with_the_data_source_and_the_dashboard():
    services = load_compose()["services"]
    mounts = {
        target: DEPLOY / source
        for source, target, *_ in (volume.split(":") for volume in services["grafana"]["volumes"])
    }
    provisioning = mounts["/etc/grafana/provisioning"]
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in services
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "retailcare.yaml").read_text())["providers"]
    folder = provider["options"]["path"]
    dashboards = [path for target, path in mounts.items() if target.startswith(folder + "/")]
    assert dashboards and all(path.is_file() for path in dashboards)
    for path in dashboards:
        uids = {
            panel["datasource"]["uid"]
            for panel in json.loads(path.read_text())["panels"]
            if "datasource" in panel
        }
        assert uids == {datasource["uid"]}
