import pytest

from tests.integration.deploy.compose_replay import compose_up
from tests.support.databases import REQUIRE_POSTGRES, postgres_available


@pytest.fixture(scope="package")
def compose_pack(tmp_path_factory):
    """The compose sequence on the local PostgreSQL server, once for this folder's tests:
    (ComposeReplay, Replay)."""
    problem = postgres_available()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    with compose_up(tmp_path_factory.mktemp("compose")) as started:
        yield started
