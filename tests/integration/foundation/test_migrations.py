import pytest
from sqlalchemy import inspect

from services.common.config import parse_database_url
from services.common.database import create_database_engine
from services.common.migrations import current_revision, head_revision, upgrade_to_head
from services.composition import PACK, service_definition


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
