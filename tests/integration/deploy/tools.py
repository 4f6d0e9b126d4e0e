"""The Prometheus tools the deploy tests run: skipped when missing, unless CI asks for
them (RETAILCARE_TEST_REQUIRE_PROMETHEUS=1 or RETAILCARE_TEST_REQUIRE_PROMTOOL=1, set by
.ci/run, which installs them; kubernetes-validate is required on the same condition)."""

import os
import shutil

import pytest

REQUIRE_PROMETHEUS = "1" in (
    os.environ.get("RETAILCARE_TEST_REQUIRE_PROMETHEUS"),
    os.environ.get("RETAILCARE_TEST_REQUIRE_PROMTOOL"),
)


def tool(name: str) -> str:
    """The path of ``name`` (promtool, prometheus), or skip/fail saying it is missing."""
    path = shutil.which(name)
    if path is None:
        problem = f"{name} is not installed (Debian package 'prometheus')"
        if REQUIRE_PROMETHEUS:
            pytest.fail(problem)
        pytest.skip(problem)
    return path
