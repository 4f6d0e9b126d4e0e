"""The lock: constraints.txt holds an exact version of every dependency pyproject.toml
names, within its range, and the libraries that change behaviour by date or data are
pinned in pyproject.toml itself."""

import pathlib
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[3]
PINNED_IN_PYPROJECT = {
    "chinesecalendar",  # learns a year's holidays with each release
    "durable-rules",
    "grpcio",
    "grpcio-health-checking",
    "grpcio-reflection",
    "grpcio-status",
    "grpcio-tools",
    "protobuf",
}


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [line for group in project["optional-dependencies"].values() for line in group]
    return [Requirement(line) for line in [*project["dependencies"], *extras]]


def _locked() -> dict[str, str]:
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        assert separator and version.strip(), f"constraints.txt: {line!r} is not NAME==VERSION"
        locked[canonicalize_name(name)] = version.strip()
    return locked


def test_every_declared_dependency_is_locked_within_its_range():
    locked = _locked()
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in locked]
    assert not missing, f"not in constraints.txt (run `make lock`): {missing}"
    outside = [
        f"{r} (locked {locked[canonicalize_name(r.name)]})"
        for r in _declared()
        if not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not outside, f"constraints.txt is older than pyproject.toml (run `make lock`): {outside}"


def test_date_and_data_sensitive_libraries_are_pinned():
    declared = {canonicalize_name(r.name): r for r in _declared()}
    for name in PINNED_IN_PYPROJECT:
        specifiers = list(declared[name].specifier)
        assert [s.operator for s in specifiers] == ["=="], (
            f"{name} must be pinned with ==, is {declared[name]}"
        )


def test_the_project_itself_is_not_locked():
    assert "retailcare" not in _locked()
