import pytest

from tests.support.databases import database_url

pytest_plugins = ["tests.support.clock"]  # the `clock` fixture


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Runs the test once on SQLite and once on PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url
