"""deploy/kubernetes built with kustomize (kubectl's built-in) and checked the way a
cluster would take it: schema validation of every built-in kind, and what the pack needs
of each object (probes, balancing, hardening, the migration Job, monitoring)."""

import importlib

import pytest
import yaml

from services.common.config import load_settings, options
from services.composition import PACK
from tests.integration.deploy.kube import KUBERNETES, PROMETHEUS_RULE, kustomize, prometheus_rule
from tests.integration.deploy.tools import REQUIRE_PROMETHEUS

BASE = KUBERNETES / "base"
PRODUCTION = KUBERNETES / "overlays" / "production"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}  # CRDs of the Prometheus Operator
DATABASES = tuple(entry.name for entry in PACK.services if entry.has_database)
OPTIONS = options(PACK)


def _validator():
    try:
        return importlib.import_module("kubernetes_validate")
    except ImportError:
        problem = "kubernetes-validate is not installed (pip install kubernetes-validate)"
        if REQUIRE_PROMETHEUS:
            pytest.fail(problem)
        pytest.skip(problem)


def _by_kind(documents) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}


@pytest.fixture(scope="module", params=[BASE, PRODUCTION], ids=["base", "production"])
def built(request):
    return _by_kind(kustomize(request.param))


def test_every_object_validates_against_the_kubernetes_schemas(built):
    validator = _validator()
    for (kind, _), document in built.items():
        if kind in CUSTOM_KINDS:
            continue
        validator.validate(document, validator.latest_version(), strict=True)


def test_each_service_is_a_probed_hardened_deployment_behind_a_headless_service(built):
    for name, (grpc_port, http_port) in PACK.default_ports.items():
        pod = built[("Deployment", name)]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["serve", name]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": grpc_port}, probe  # grpc.health.v1
        assert {"requests", "limits"} <= set(container["resources"])
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {mount["mountPath"] for mount in container["volumeMounts"]} >= {"/data", "/tmp"}
        assert "env" not in container  # settings from the ConfigMap, secrets from files
        assert _secret_files(pod) == ({"config.yaml": f"{name}.yaml"} | _TOKENS.get(name, {}))
        service = built[("Service", name)]["spec"]
        assert service["clusterIP"] == "None"  # every pod's address in DNS: callers' round_robin
        assert {(port["name"], port["port"]) for port in service["ports"]} == {
            ("grpc", grpc_port),
            ("http", http_port),
        }
        scaler = built[("HorizontalPodAutoscaler", name)]["spec"]
        assert scaler["scaleTargetRef"]["name"] == name and scaler["minReplicas"] >= 2
        budget = built[("PodDisruptionBudget", name)]["spec"]
        assert (
            budget["selector"]["matchLabels"]
            == built[("Deployment", name)]["spec"]["selector"]["matchLabels"]
        )
    assert built[("Service", "gateway-public")]["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}


_TOKENS = {"gateway": {"gateway-tokens": "gateway-tokens"}}


def _secret_files(pod) -> dict[str, str]:
    """file name under /etc/retailcare -> key of retailcare-secrets, for a pod template."""
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/etc/retailcare"]
    assert mount["readOnly"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "retailcare-secrets"
    return {item["path"]: item["key"] for item in volume["secret"]["items"]}


def test_each_pod_reads_only_its_own_secrets_and_they_load_as_configuration(tmp_path):
    """The example Secret's files, as each pod sees them, give the settings they must."""
    built = _by_kind(kustomize(BASE))
    secret = built[("Secret", "retailcare-secrets")]["stringData"]
    config = built[("ConfigMap", "retailcare-config")]["data"]
    pods = {name: built[("Deployment", name)]["spec"]["template"]["spec"] for name in PACK.default_ports}
    pods["migrate"] = built[("Job", "retailcare-migrate")]["spec"]["template"]["spec"]
    for name, pod in pods.items():
        folder = tmp_path / name
        folder.mkdir()
        for path, key in _secret_files(pod).items():
            (folder / path).write_text(secret[key])
        environ = {**config, "RETAILCARE_CONFIG": str(folder / "config.yaml")}
        settings = load_settings(PACK, environ=environ)
        own = DATABASES if name == "migrate" else [name] if name in DATABASES else []
        for database in DATABASES:
            url = settings.database_url(database)
            assert (url.get_backend_name() == "postgresql") == (database in own), (name, database)
            if database in own:
                assert url.query["options"] == f"-csearch_path={database}"
        if name == "gateway":
            assert str(settings.gateway_token_path()) == "/etc/retailcare/gateway-tokens"


def test_callers_resolve_every_replica_of_the_services_they_call(built):
    settings = built[("ConfigMap", "retailcare-config")]["data"]
    for key in settings:
        assert key == "RETAILCARE_CONFIG" or key[len("RETAILCARE_") :].lower() in OPTIONS
    for name, (grpc_port, _) in PACK.default_ports.items():
        if name != "gateway":
            assert settings[f"RETAILCARE_{name.upper()}_TARGET"] == f"dns:///{name}:{grpc_port}"


def test_the_migration_job_migrates_every_database(built):
    job = built[("Job", "retailcare-migrate")]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["args"] == ["migrate"] and job["restartPolicy"] == "Never"
    assert _secret_files(job) == {"config.yaml": "migrate.yaml"}
    assert container["securityContext"]["readOnlyRootFilesystem"]


def test_only_the_pack_reaches_its_pods_and_anyone_the_gateway(built):
    policies = {name: doc["spec"] for (kind, name), doc in built.items() if kind == "NetworkPolicy"}
    deny = policies["retailcare-default-deny"]
    assert (
        set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny and "egress" not in deny
    )
    between = policies["retailcare-between-services"]
    assert between["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "retailcare"}}}],
            "ports": [{"protocol": "TCP", "port": "grpc"}],
        }
    ]
    public = policies["retailcare-gateway-public"]
    assert public["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "gateway"}}


def test_monitoring_scrapes_the_headless_services_and_carries_the_alerts(built):
    monitor = built[("ServiceMonitor", "retailcare")]["spec"]
    selected = [
        name
        for (kind, name), doc in built.items()
        if kind == "Service"
        and monitor["selector"]["matchLabels"].items() <= doc["metadata"]["labels"].items()
    ]
    assert sorted(selected) == sorted(PACK.default_ports)
    assert monitor["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    rule = built[("PrometheusRule", "retailcare")]
    assert rule["spec"] == prometheus_rule()["spec"]


def test_the_prometheus_rule_file_is_generated_from_the_alerts():
    assert yaml.safe_load(PROMETHEUS_RULE.read_text()) == prometheus_rule(), (
        "regenerate: python -m tests.integration.deploy.kube"
    )


def test_production_removes_the_example_secret_and_pins_the_image():
    built = _by_kind(kustomize(PRODUCTION))
    assert ("Secret", "retailcare-secrets") not in built
    assert (
        built[("Namespace", "retailcare")]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )
    for (kind, _), document in built.items():
        if kind in ("Deployment", "Job"):
            (container,) = document["spec"]["template"]["spec"]["containers"]
            assert container["image"].startswith("registry.example.com/retailcare:1.0.0@sha256:")
            assert container["imagePullPolicy"] == "Always"
        if kind != "Namespace":
            assert document["metadata"]["namespace"] == "retailcare"
