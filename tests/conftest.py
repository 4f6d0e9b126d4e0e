import sys

# The tests' modules (as pytest rewrites their asserts) and the project's are kept as
# bytecode in __pycache__ (ignored by git) even where PYTHONDONTWRITEBYTECODE is set:
# otherwise every run compiles them again, about 4 s of the unit tier, and every service a
# test starts as a child process compiles the project again.
sys.dont_write_bytecode = False

import pytest  # noqa: E402

from tests.support.databases import database_url  # noqa: E402

pytest_plugins = ["tests.support.clock"]  # the `clock` fixture


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Runs the test once on SQLite and once on PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url
