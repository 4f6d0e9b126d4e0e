"""The unit tier refuses servers and databases (tests/unit/conftest.py)."""

from concurrent import futures

import grpc
import pytest
from _pytest.outcomes import Failed
from sqlalchemy.engine import make_url

from services.common.database import create_database_engine


def test_starting_a_grpc_server_fails_the_test():
    with pytest.raises(Failed, match="tests/e2e"):
        grpc.server(futures.ThreadPoolExecutor(max_workers=1))


def test_creating_a_database_engine_fails_the_test(tmp_path):
    with pytest.raises(Failed, match="tests/integration"):
        create_database_engine(make_url(f"sqlite:///{tmp_path / 'x.db'}"))
