"""Replicas of one service as real processes (``python -m services.composition serve
NAME``) on one database, each with its own ports and log: what a test of two replicas
needs when one is to be killed, since two servers in one process share one metrics
registry."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator

import grpc
import sqlalchemy as sa
from retailcare.rules.v1 import rule_sets_pb2_grpc

from services.common.leased_jobs import LEASE
from tests.support.ports import free_port, pack_environment
from tests.support.services import child_environment, wait_serving


class Replica:
    """One replica of ``service``: ``stub`` (of ``stub_type``) and ``admin`` (RuleSetAdmin)
    on a channel to it, ``process`` and ``log_path``. ``settings`` become RETAILCARE_*
    variables (e.g. ``rules_poll_seconds="0.2"``); ``job_settling_seconds`` is 0 unless given."""

    def __init__(self, tmp_path, db_url: str, name: str, service: str, stub_type, **settings: str):
        env = pack_environment(str(tmp_path))
        self.port = free_port()
        prefix = f"RETAILCARE_{service.upper()}"
        env.update(
            {
                f"{prefix}_GRPC_PORT": str(self.port),
                f"{prefix}_HTTP_PORT": str(free_port()),
                f"{prefix}_DATABASE_URL": db_url,
                "RETAILCARE_SHUTDOWN_GRACE_SECONDS": "5",
                # As settings_for: jobs complete two rule polls after their activation, not
                # five seconds more (a test of a replica writing on an old version sets its own).
                "RETAILCARE_JOB_SETTLING_SECONDS": "0",
                **{f"RETAILCARE_{key.upper()}": value for key, value in settings.items()},
            }
        )
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.composition", "serve", service],
            env=child_environment(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_serving(f"127.0.0.1:{self.port}", self.process, timeout=120)
        except AssertionError as problem:
            self.stop()
            raise AssertionError(f"{problem}\n{self.log_path.read_text()[-3000:]}") from None
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = stub_type(self.channel)
        self.admin = rule_sets_pb2_grpc.RuleSetAdminStub(self.channel)

    def stop(self) -> None:
        with contextlib.suppress(AttributeError):
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self._log.close()


@contextlib.contextmanager
def replica_starter(
    tmp_path, db_url: str, service: str, stub_type, **settings: str
) -> Iterator[Callable[[str], Replica]]:
    """``start(name)`` starts a replica; every one started is stopped at the end."""
    started: list[Replica] = []

    def start(name: str) -> Replica:
        started.append(Replica(tmp_path, db_url, name, service, stub_type, **settings))
        return started[-1]

    try:
        yield start
    finally:
        for replica in started:
            replica.stop()


def expire_lease(engine: sa.engine.Engine, table: sa.Table, job_id: int) -> None:
    """Moves the lease of job ``job_id`` back by its whole length (services/common/leased_jobs.py
    ``LEASE``), as if it had run out since it was last renewed: after its holder is killed,
    another replica takes the job over at its next poll, where the test would otherwise
    wait the lease out. Only the moment of the expiry changes; the owner stays."""
    with engine.begin() as connection:
        expires = connection.execute(
            sa.select(table.c.lease_expires_at).where(table.c.id == job_id)
        ).scalar_one()
        assert expires is not None, f"job {job_id} holds no lease"
        connection.execute(
            sa.update(table).where(table.c.id == job_id).values(lease_expires_at=expires - LEASE)
        )
