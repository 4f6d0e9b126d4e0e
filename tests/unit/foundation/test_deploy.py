"""No container engine runs here, so the deployment files are checked for what they
must agree on with the code: every process, its ports, its probes, its command."""

import pathlib

import yaml

from services.common.config import options
from services.composition import PACK

OPTIONS = options(PACK)

DEPLOY = pathlib.Path(__file__).resolve().parents[3] / "deploy"


def test_compose_runs_every_process_on_its_documented_ports():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, (grpc_port, http_port) in PACK.default_ports.items():
        assert services[name]["command"] == ["serve", name]
        assert f"{grpc_port}:{grpc_port}" in services[name]["ports"]
        assert f"{http_port}:{http_port}" in services[name]["ports"]
        for variable in services[name].get("environment", {}):
            assert variable.startswith("RETAILCARE_") and variable[len("RETAILCARE_") :].lower() in OPTIONS
    for name in PACK.with_database:
        assert f"RETAILCARE_{name.upper()}_DATABASE_URL" in services[name]["environment"]


def test_kubernetes_deployments_probe_the_right_ports():
    base = sorted((DEPLOY / "kubernetes" / "base").glob("*.yaml"))
    documents = [d for path in base for d in yaml.safe_load_all(path.read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    services = {
        d["metadata"]["name"]: d
        for d in documents
        if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"
    }
    assert set(deployments) == set(services) == set(PACK.default_ports)
    for name, (grpc_port, http_port) in PACK.default_ports.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["serve", name]
        assert container["readinessProbe"]["grpc"]["port"] == grpc_port
        assert container["livenessProbe"]["grpc"]["port"] == grpc_port  # a wedged server fails it
        assert {"name": "http", "containerPort": http_port, "protocol": "TCP"} in container["ports"]
        assert services[name]["spec"]["clusterIP"] == "None"  # headless: client-side balancing
        for variable in container.get("env", []):
            assert variable["name"][len("RETAILCARE_") :].lower() in OPTIONS
