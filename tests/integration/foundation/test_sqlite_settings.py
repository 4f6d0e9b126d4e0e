"""The settings every SQLite connection of a service gets, read back from the database."""

from __future__ import annotations

import threading

from sqlalchemy.engine import make_url

from services.common.database import create_database_engine

NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


def _read(engine, pragma: str):
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {pragma}").scalar()


def test_every_sqlite_connection_uses_wal_with_synchronous_normal(tmp_path):
    engine = create_database_engine(make_url(f"sqlite:///{tmp_path / 'service.db'}"))
    try:
        assert _read(engine, "journal_mode") == "wal"
        assert _read(engine, "synchronous") == NORMAL
        assert _read(engine, "cache_size") == -16384
        assert _read(engine, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_the_pool_holds_a_connection_for_each_serving_thread_without_waiting(tmp_path):
    threads = 6
    engine = create_database_engine(make_url(f"sqlite:///{tmp_path / 'service.db'}"), threads)
    held, all_open, release = [], threading.Barrier(threads + 1, timeout=10), threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            held.append(connection.exec_driver_sql("PRAGMA synchronous").scalar())
            all_open.wait()
            release.wait(10)

    workers = [threading.Thread(target=hold) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        all_open.wait()  # every thread has its own connection open at once
        assert held == [NORMAL] * threads
        assert engine.pool.checkedout() == threads
        assert engine.pool.size() >= threads
    finally:
        release.set()
        for worker in workers:
            worker.join()
        engine.dispose()
