"""The pack, declared once: its services, their default ports, where each one's process
wiring, rule sets, migrations and CLI commands are, and the order they start in.
Adding a service means adding its package and one entry here; the kernel
(services/common) reads this declaration and never names a service itself.

This module is also the ``retailcare`` command."""

from __future__ import annotations

import pathlib
import sys

from services.common.declaration import PackDeclaration, ServiceEntry
from services.common.server import ServiceDefinition

_HERE = pathlib.Path(__file__).parent

PACK = PackDeclaration(
    services=(
        ServiceEntry(
            name="classification",
            grpc_port=50052,
            http_port=9152,
            app="services.classification.app",
            rule_sets="services.classification.rules",
            migrations_dir=_HERE / "classification" / "migrations",
            commands=(
                "services.classification.cli:add_customer_commands",
                "services.classification.rules_cli:add_rules_commands",
            ),
        ),
        ServiceEntry(
            name="complaints",
            grpc_port=50053,
            http_port=9153,
            app="services.complaints.app",
            rule_sets="services.complaints.rules",
            migrations_dir=_HERE / "complaints" / "migrations",
        ),
        ServiceEntry(
            name="evaluation",
            grpc_port=50054,
            http_port=9154,
            app="services.evaluation.app",
            rule_sets="services.evaluation.rules",
            migrations_dir=_HERE / "evaluation" / "migrations",
            commands=("services.evaluation.rules_cli:add_rules_commands",),
        ),
        # Last: the gateway calls the others.
        ServiceEntry(
            name="gateway",
            grpc_port=50051,
            http_port=9151,
            app="gateway.app",
            commands=("gateway.demo:add_demo_command",),
        ),
    ),
    cli_module="services.composition",
)


def service_definition(name: str) -> ServiceDefinition:
    return PACK.definition(name)


def main(argv: list[str] | None = None) -> int:
    from services.common import cli  # the command's machinery, only when run as one

    return cli.main(PACK, argv)


if __name__ == "__main__":
    sys.exit(main())
