"""Engines and sessions: SQLite in the data folder by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import json
import pathlib
import threading
import weakref
from collections.abc import Iterator

import orjson
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


# Subclasses, dates and dataclasses go to the standard library as before (which writes the
# first as their base type and refuses the others).
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def json_text(value) -> str:
    """A JSON column's value as stored: orjson's text (a tenth of the standard library's
    time; every classification stores four such values), or the standard library's for
    what orjson refuses (integers beyond 64 bits, text that is not valid Unicode). Both
    read back as the same value; non-finite numbers never get this far (the contract
    limits refuse them)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value)


def create_database_engine(url: URL, threads: int = 16) -> Engine:
    """An engine whose pool holds a connection for each of `threads` serving threads."""
    pool_size = threads + SPARE_CONNECTIONS
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            pathlib.Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            json_serializer=json_text,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, json_serializer=json_text
    )


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

    def _compiled(self, dialect) -> _Prepared:
        prepared = self._by_dialect.get(dialect)
        if prepared is None:
            prepared = self._by_dialect[dialect] = _Prepared(self.statement.compile(dialect=dialect))
        return prepared

    def execute(self, connection: Connection, values: dict, processed: dict | None = None) -> int:
        """Runs the statement with ``values``; the number of rows it matched. ``processed``,
        shared by the statements of one transaction whose columns of the same name have the
        same type, keeps each value as processed for the driver (a JSON text), so the
        second statement does not encode it again."""
        prepared = self._compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(prepared.sql, prepared.parameters(values, processed))
            return cursor.rowcount
        finally:
            cursor.close()


class DirectQuery(DirectStatement):
    """A SELECT of one row, compiled once per dialect and run on the driver's cursor of a
    connection: SQLAlchemy's SQL text, parameter and result processing (the values are
    those ``connection.execute(...).first()`` gives), without its per-execution
    book-keeping. Reads in the connection's transaction, if it has one."""

    def first(self, connection: Connection, values: dict) -> dict | None:
        """The first row as a dict by column name, or None."""
        prepared = self._compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(prepared.sql, prepared.parameters(values))
            row = cursor.fetchone()
            if row is None:
                return None
            return prepared.row(connection.dialect, cursor.description, row)
        finally:
            cursor.close()


class _Prepared:
    """A statement compiled for one dialect: its SQL, how to make its parameters (the
    literals it holds, the processors ``connection.execute`` applies: JSON encoding,
    SQLite's date text) and, for a SELECT, its columns and their result processors."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        self.processors = dict(compiled._bind_processors)
        # Names escaped for the driver take SQLAlchemy's own way (none of the pack's do).
        self.plain = not getattr(compiled, "escaped_bind_names", None)
        defaults = compiled.construct_params({}, _check=False) if self.plain else {}
        self.literals = {name: value for name, value in defaults.items() if value is not None}
        self.names = tuple(defaults)
        self._plan = tuple((name, self.processors.get(name)) for name in self.names)
        self.columns = tuple(entry[1] for entry in compiled._result_columns or ())
        self._result: tuple | None = None  # result processors, by the first row's description

    def parameters(self, values: dict, processed: dict | None = None):
        if not self.plain:
            params = self.compiled.construct_params(values)
            for name, process in self.processors.items():
                if name in params:
                    params[name] = process(params[name])
            return [params[name] for name in self.order] if self.order else params
        params = {}
        literals = self.literals
        for name, process in self._plan:
            try:
                value = values[name]
            except KeyError:
                if name not in literals:
                    self.compiled.construct_params(values)  # raises, naming the missing value
                    raise
                value = literals[name]
            if process is not None:
                if processed is None:
                    value = process(value)
                else:
                    done = processed.get(name)
                    if done is None or done[0] is not value:
                        done = processed[name] = (value, process(value))
                    value = done[1]
            params[name] = value
        return [params[name] for name in self.order] if self.order else params

    def row(self, dialect, description, row) -> dict:
        result = self._result
        if result is None:
            types = [entry[3] for entry in self.compiled._result_columns]
            result = self._result = tuple(
                type_._cached_result_processor(dialect, column[1])
                for type_, column in zip(types, description, strict=True)
            )
        return {
            name: (value if process is None else process(value))
            for name, process, value in zip(self.columns, result, row, strict=True)
        }


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
def transaction_on(connection: Connection) -> Iterator[Connection]:
    """``transaction`` on a connection already taken (one that has read outside a
    transaction, say, and now writes: no second connection from the pool)."""
    if connection.in_transaction():
        connection.rollback()
    with _writer_lock(connection.engine), connection.begin():
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
