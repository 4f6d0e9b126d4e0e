"""The ``retailcare`` command: run the pack or one service, migrate, show the
configuration, administer rule sets, and whatever commands the pack's services add.
The pack comes from its declaration (services/composition.py). Errors go to stderr as
one line with a non-zero exit."""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.exc import DBAPIError

from services.common.config import ConfigError, load_settings, options, shown
from services.common.declaration import PackDeclaration
from services.common.rules.cli import CliError, add_rules_commands
from services.common.server import StartupError, database_problem

EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE


def _serve(args) -> int:
    from services.common.server import serve_forever

    serve_forever(args.pack.definition(args.name), load_settings(args.pack))
    return 0


def _up(args) -> int:
    from services.common.pack import up

    return up(load_settings(args.pack), args.pack)


def _migrate(args) -> int:
    from services.common.database import create_database_engine
    from services.common.migrations import current_revision, upgrade_to_head

    pack: PackDeclaration = args.pack
    settings = load_settings(pack)
    unknown = sorted(set(args.names) - set(pack.with_database))
    if unknown:
        raise ConfigError(f"no database for {', '.join(unknown)}")
    for name in args.names or pack.with_database:
        engine = create_database_engine(settings.database_url(name))
        try:
            upgrade_to_head(pack.entry(name).migrations_dir, engine)
            print(f"{name}: at revision {current_revision(engine)}")
        except DBAPIError as error:
            raise StartupError(database_problem(name, engine, error)) from None
        finally:
            engine.dispose()
    return 0


def _config(args) -> int:
    settings = load_settings(args.pack).as_dict()
    known = options(args.pack)
    for key, option in known.items():
        print(f"RETAILCARE_{key.upper():<40} {shown(known, key, settings[key]):<24} {option.doc}")
    return 0


def build_parser(pack: PackDeclaration) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retailcare", description=__doc__)
    parser.set_defaults(pack=pack)  # every command's handler finds the pack as args.pack
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("name", choices=sorted(pack.names))
    serve.set_defaults(run=_serve)
    commands.add_parser("up", help="start the whole pack and wait for Ctrl-C").set_defaults(run=_up)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("names", nargs="*", help=f"any of {', '.join(pack.with_database)}")
    migrate.set_defaults(run=_migrate)
    commands.add_parser("config", help="print the effective configuration").set_defaults(run=_config)
    add_rules_commands(commands)
    for entry in pack.services:
        for register in entry.command_registrars():
            register(commands)
    return parser


def main(pack: PackDeclaration, argv: list[str] | None = None) -> int:
    try:
        args = build_parser(pack).parse_args(argv)
        return args.run(args)
    except (ConfigError, StartupError, CliError) as error:
        print(f"retailcare: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`retailcare config | head`): stop quietly, and keep the
        # interpreter from complaining when it flushes stdout on exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
