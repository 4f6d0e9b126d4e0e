"""The backup and restore commands deploy/README.md gives, run as written: pg_dump and
pg_restore on the database the compose sequence migrated, SQLite's online backup on a
migrated SQLite file."""

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.composition import PACK
from tests.support.databases import POSTGRES_URL
from tests.support.services import child_environment

DATABASES = tuple(entry.name for entry in PACK.services if entry.has_database)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def _url(database: str) -> str:
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def _contents(url: str) -> dict[str, int]:
    """schema.table -> rows, for the services' schemas."""
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(%s)",
            (list(DATABASES),),
        ).fetchall()
        return {
            f"{schema}.{table}": connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[
                0
            ]
            for schema, table in tables
        }


def test_pg_dump_and_pg_restore_bring_back_every_schema(compose_pack, tmp_path):
    _, replay = compose_pack
    source = _url(replay.database)
    dump = tmp_path / "retailcare.dump"
    # The pack keeps running (its jobs write their first rows a poll after the start): the
    # dump is compared with the contents it was taken between, taken again until they agree.
    for _ in range(10):
        before = _contents(source)
        subprocess.run([_tool("pg_dump"), "--format=custom", f"--file={dump}", source], check=True)
        if _contents(source) == before:
            break
        time.sleep(1)
    else:
        pytest.fail("the pack's database kept changing around every dump")
    target = f"rc_restore_{uuid.uuid4().hex[:8]}"
    with replay.admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                f"--dbname={_url(target)}",
                str(dump),
            ],
            check=True,
        )
        restored = _contents(_url(target))
        assert restored == before
        assert {f"{name}.alembic_version" for name in DATABASES} <= set(restored)
    finally:
        with replay.admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_sqlite_online_backup_copies_a_migrated_database(tmp_path):
    data = tmp_path / "data"
    script = [sys.executable, "-m", PACK.cli_module, "migrate", "complaints"]
    subprocess.run(script, env=child_environment({"RETAILCARE_DATA_DIR": str(data)}), check=True)
    source, copy = data / "complaints.db", tmp_path / "complaints-backup.db"
    subprocess.run([_tool("sqlite3"), str(source), f".backup {copy}"], check=True)

    def contents(path):
        with sqlite3.connect(path) as connection:
            tables = [
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {table: connection.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}

    copied = contents(copy)
    assert copied == contents(source) and copied["alembic_version"]
