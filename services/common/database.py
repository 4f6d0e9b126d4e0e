"""Engines and sessions: SQLite in the data folder by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import pathlib
import threading
import weakref
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlmodel import Session, create_engine

# Connections beyond the serving threads: background work (rule-set polling, sweeps,
# metric gauges) runs beside the calls.
SPARE_CONNECTIONS = 4
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers do not block the writer
    # Under WAL a commit at NORMAL survives a crash of the process; only a power cut can
    # lose the last commits (never corrupt the file), and it saves an fsync per commit.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-16384",  # 16 MiB of pages per connection (the default is 2 MiB)
    "PRAGMA temp_store=MEMORY",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def create_database_engine(url: URL, threads: int = 16) -> Engine:
    """An engine whose pool holds a connection for each of `threads` serving threads."""
    pool_size = threads + SPARE_CONNECTIONS
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            pathlib.Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class DirectStatement:
    """An INSERT, UPDATE or DELETE compiled once per dialect and run on the driver's cursor
    of a connection, inside its transaction: SQLAlchemy's own SQL text and parameter
    processing (values are stored exactly as ``connection.execute`` stores them), without
    its per-execution book-keeping (cache key, execution context, result set-up), which on
    the hottest writes costs more than the statement itself. No events fire for it."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _compiled(self, dialect):
        prepared = self._by_dialect.get(dialect)
        if prepared is None:
            compiled = self.statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positional else None
            # The processors connection.execute applies (JSON encoding, SQLite date text).
            prepared = (compiled, dict(compiled._bind_processors), order)
            self._by_dialect[dialect] = prepared
        return prepared

    def execute(self, connection: Connection, values: dict) -> int:
        """Runs the statement with ``values``; the number of rows it matched."""
        compiled, processors, order = self._compiled(connection.dialect)
        params = compiled.construct_params(values)
        for name, process in processors.items():
            if name in params:
                params[name] = process(params[name])
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.string, [params[name] for name in order] if order else params)
            return cursor.rowcount
        finally:
            cursor.close()


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_sqlite_writers_lock = threading.Lock()


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager:
    """SQLite has one writer at a time, and a blocked writer polls with sleeps of up to
    100 ms; queueing this process's writers on a lock wakes the next one at once."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _sqlite_writers_lock:
        return _sqlite_writers.setdefault(engine, threading.RLock())


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on a bare connection (Core statements, no ORM session: cheaper per
    call), in this process's SQLite writer queue; committed when the block ends, rolled
    back on any error."""
    with _writer_lock(engine), engine.begin() as connection:
        yield connection


@contextlib.contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with _writer_lock(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
