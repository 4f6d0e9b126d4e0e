"""The ``retailcare`` command: run the pack or one service, migrate, show the
configuration, and administer rule sets. Errors go to stderr with a non-zero exit."""

from __future__ import annotations

import argparse
import importlib
import sys

from services.classification.cli import add_customer_commands
from services.common.config import (
    DEFAULT_PORTS,
    OPTIONS,
    SERVICES_WITH_DATABASE,
    ConfigError,
    load_settings,
)
from services.common.rules.cli import CliError, add_rules_commands
from services.common.server import ServiceDefinition, StartupError

DEFINITIONS = {
    "classification": "services.classification.app",
    "complaints": "services.complaints.app",
    "evaluation": "services.evaluation.app",
    "gateway": "gateway.app",
}


def service_definition(name: str) -> ServiceDefinition:
    return importlib.import_module(DEFINITIONS[name]).definition


def _serve(args) -> int:
    from services.common.server import serve_forever

    serve_forever(service_definition(args.name), load_settings())
    return 0


def _up(args) -> int:
    from services.common.pack import up

    return up(load_settings())


def _migrate(args) -> int:
    from services.common.database import create_database_engine
    from services.common.migrations import current_revision, upgrade_to_head

    settings = load_settings()
    unknown = sorted(set(args.names) - set(SERVICES_WITH_DATABASE))
    if unknown:
        raise ConfigError(f"no database for {', '.join(unknown)}")
    for name in args.names or SERVICES_WITH_DATABASE:
        engine = create_database_engine(settings.database_url(name))
        upgrade_to_head(service_definition(name).migrations_dir, engine)
        print(f"{name}: at revision {current_revision(engine)}")
        engine.dispose()
    return 0


def _config(args) -> int:
    settings = load_settings().as_dict()
    for key, option in OPTIONS.items():
        print(f"RETAILCARE_{key.upper():<40} {settings[key]!s:<24} {option.doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retailcare", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("name", choices=sorted(DEFAULT_PORTS))
    serve.set_defaults(run=_serve)
    commands.add_parser("up", help="start the whole pack and wait for Ctrl-C").set_defaults(run=_up)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("names", nargs="*", help=f"any of {', '.join(SERVICES_WITH_DATABASE)}")
    migrate.set_defaults(run=_migrate)
    commands.add_parser("config", help="print the effective configuration").set_defaults(run=_config)
    add_rules_commands(commands)
    add_customer_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, StartupError, CliError) as error:
        print(f"retailcare: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
