import threading

import pytest
from sqlalchemy import inspect

from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import current_revision, head_revision, upgrade_to_head
from services.composition import PACK, service_definition
from tests.support.services import start_child


@pytest.mark.parametrize("name", PACK.with_database)
def test_migrations_apply_and_reapply(name, db_url):
    engine = create_database_engine(parse_database_url("test", db_url))
    migrations = service_definition(name).migrations_dir
    try:
        upgrade_to_head(migrations, engine)
        upgrade_to_head(migrations, engine)  # a second start changes nothing
        assert current_revision(engine) == head_revision(migrations, engine)
        tables = set(inspect(engine).get_table_names())
        assert {"rule_set_versions", "rule_set_active", "rule_set_audit"} <= tables
    finally:
        engine.dispose()


def _migrate_in_thread(url: str, migrations, failures: list, start: threading.Barrier) -> None:
    engine = create_database_engine(parse_database_url("test", url))
    try:
        start.wait()
        upgrade_to_head(migrations, engine)
    except Exception as error:  # noqa: BLE001 - collected and reported by the test
        failures.append(repr(error))
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", PACK.with_database)
def test_replicas_migrating_an_empty_database_at_once_all_succeed(name, db_url):
    """Threads and processes upgrade the same empty database together, as replicas
    starting side by side do; every one succeeds and the database ends at head."""
    migrations = PACK.entry(name).migrations_dir
    env = {f"RETAILCARE_{name.upper()}_DATABASE_URL": db_url}
    processes = [start_child(["-m", "services.composition", "migrate", name], env) for _ in range(2)]
    failures: list = []
    start = threading.Barrier(3)
    threads = [
        threading.Thread(target=_migrate_in_thread, args=(db_url, migrations, failures, start))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = [(process.wait(60), process.stderr.read()) for process in processes]
    assert failures == []
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    engine = create_database_engine(parse_database_url("test", db_url))
    try:
        assert current_revision(engine) == head_revision(migrations, engine)
    finally:
        engine.dispose()
