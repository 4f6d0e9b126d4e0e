"""The pack is declared once (services/composition.py) and the kernel names no
service: it reads the declaration it is given."""

import pathlib
import re

import pytest

from services.common.config import load_settings, options
from services.common.declaration import PackDeclaration, ServiceEntry
from services.composition import PACK

KERNEL = pathlib.Path(__file__).resolve().parents[3] / "services" / "common"


def test_the_kernel_imports_no_concrete_service():
    concrete = re.compile(
        r"services\.(classification|complaints|evaluation)|gateway\.app|services\.composition"
    )
    offenders = [
        f"{path.relative_to(KERNEL)}:{number}"
        for path in KERNEL.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if concrete.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize("name", PACK.names)
def test_each_entry_agrees_with_its_service(name):
    entry = PACK.entry(name)
    definition = entry.definition()
    assert definition.name == name
    assert definition.migrations_dir == entry.migrations_dir
    if entry.migrations_dir is not None:
        assert (entry.migrations_dir / "env.py").is_file()
    for register in entry.command_registrars():
        assert callable(register)


def test_every_rule_set_has_one_owner():
    catalogue = PACK.rule_set_catalogue()
    names = [kind.name for kinds in catalogue.kinds_by_service().values() for kind in kinds]
    assert len(names) == len(set(names))
    assert all(catalogue.owner_of(name) for name in names)
    assert catalogue.owner_of("no-such-rule-set") is None


def test_the_gateway_starts_after_the_services_it_calls():
    assert PACK.start_order[-1] == "gateway"


def test_a_new_service_is_one_entry():
    extra = ServiceEntry(name="stock", grpc_port=50060, http_port=9160, app="stock.app")
    bigger = PackDeclaration(services=(*PACK.services, extra), cli_module=PACK.cli_module)
    settings = load_settings(bigger, environ={"RETAILCARE_STOCK_GRPC_PORT": "6100"})
    assert settings.grpc_port("stock") == 6100
    assert settings.http_port("stock") == 9160
    assert "stock_database_url" not in options(bigger)
    assert "stock_grpc_port" not in options(PACK)
