"""The Kubernetes manifests as the tests read them: ``kubectl kustomize`` output, and the
PrometheusRule that carries deploy/prometheus/alerts.yaml into the cluster.

``python -m tests.integration.deploy.kube`` rewrites base/prometheusrule.yaml from the
alerts file after a change to the alerts."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.integration.deploy.compose_replay import DEPLOY

KUBERNETES = DEPLOY / "kubernetes"
PROMETHEUS_RULE = KUBERNETES / "base" / "prometheusrule.yaml"
HEADER = (
    "# Generated from deploy/prometheus/alerts.yaml by `python -m tests.integration.deploy.kube`;\n"
    "# a test fails when the two differ. Edit the alerts file, not this one.\n"
)


def prometheus_rule() -> dict:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "retailcare", "labels": {"app.kubernetes.io/part-of": "retailcare"}},
        "spec": {"groups": groups},
    }


def kustomize(directory) -> list[dict]:
    """The documents ``kubectl kustomize`` builds from ``directory``."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(HEADER + yaml.safe_dump(prometheus_rule(), sort_keys=False, width=110))
