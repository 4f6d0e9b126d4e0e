"""The unit tier starts no server and opens no database: a test that tries fails at once,
naming the tier it belongs to, so the tier stays fast (under 20 s)."""

import sys

import grpc
import pytest
import sqlalchemy


def _refuse(what: str, tier: str):
    def refused(*args, **kwargs):
        pytest.fail(f"a unit test must not {what}; such a test belongs in {tier}", pytrace=True)

    return refused


@pytest.fixture(autouse=True, scope="module")  # undone after each module: later tiers run normally
def no_servers_or_databases():
    original_create_engine = sqlalchemy.create_engine
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grpc, "server", _refuse("start a gRPC server", "tests/e2e"))
        refused_engine = _refuse("create a database engine", "tests/integration")
        # Every module that imported create_engine by name (from sqlalchemy or sqlmodel).
        for module in list(sys.modules.values()):
            if getattr(module, "create_engine", None) is original_create_engine:
                patch.setattr(module, "create_engine", refused_engine)
        yield
