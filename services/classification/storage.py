"""The classification service's tables and the SQL implementation of its ports: the only
module that knows the tables. Columns of the input fields and of a classification are
derived from their declarations in the domain; the migrations create them."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import operator
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from services.classification.domain import (
    CHOICE,
    COMPARED_PARTS,
    DECIMAL,
    ENTITLEMENTS_RULE_SET,
    GRADING_RULE_SET,
    INPUT_FIELDS,
    INPUT_NAMES,
    INTEGER,
    OUTCOME_PARTS,
    TEXT,
    VERSION_PARTS,
    ClassificationRecord,
    Customer,
    Effect,
    MarketZone,
    Outcome,
    ServiceDescription,
)
from services.classification.ports import CustomerQuery, DuplicateLicence
from services.common.database import DirectQuery, DirectStatement, transaction, transaction_on
from services.common.times import utc

metadata = sa.MetaData()
_MOMENT = sa.DateTime(timezone=True)
_INPUT_TYPES = {TEXT: sa.String, CHOICE: sa.String, DECIMAL: sa.Float, INTEGER: sa.Integer}
_PART_TYPES = {"int": sa.Integer, "str": sa.String, "dict": sa.JSON, "tuple": sa.JSON}
_TUPLE_PARTS = frozenset(f.name for f in dataclasses.fields(Outcome) if f.type == "tuple")


def _outcome_columns() -> list[sa.Column]:
    return [sa.Column(f.name, _PART_TYPES[f.type]) for f in dataclasses.fields(Outcome)]


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *(sa.Column(f.name, _INPUT_TYPES[f.kind]) for f in INPUT_FIELDS),
    sa.Column("team_id", sa.String),
    sa.Column("active", sa.Boolean),
    sa.Column("created_at", _MOMENT),
    sa.Column("updated_at", _MOMENT),
    sa.Column("deactivated_at", _MOMENT),
    sa.Column("deactivation_reason", sa.Text),
    # The current classification; every one a customer noticed is also in classifications.
    *_outcome_columns(),
    sa.Column("classified_at", _MOMENT),
    sa.Column("classification_reason", sa.String),
    sa.Column("version", sa.Integer),  # bumped by every write
)
classifications = sa.Table(
    "classifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer),
    *_outcome_columns(),
    sa.Column("reason", sa.String),
    sa.Column("classified_at", _MOMENT),
)
market_zones = sa.Table(
    "market_zones",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("name", sa.String),
    sa.Column("team_id", sa.String),
    sa.Column("updated_at", _MOMENT),
)
service_descriptions = sa.Table(
    "service_descriptions",
    metadata,
    sa.Column("service", sa.String, primary_key=True),
    sa.Column("name", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("procedure_steps", sa.JSON),
    sa.Column("standard", sa.Text),
    sa.Column("commitment", sa.Text),
    sa.Column("updated_at", _MOMENT),
)


# -- rows <-> domain objects ------------------------------------------------------------------
def _unclassified(name: str):
    """What a classification column holds before the first classification: empty text
    and collections, version 0, no grade, star level or size class."""
    kind = next(f.type for f in dataclasses.fields(Outcome) if f.name == name)
    return {"str": "", "dict": {}, "tuple": []}.get(kind, 0 if name in VERSION_PARTS else None)


_UNCLASSIFIED = {
    **{name: _unclassified(name) for name in OUTCOME_PARTS},
    "classified_at": None,
    "classification_reason": "",
}


def _outcome_values(outcome: Outcome) -> dict:
    values = vars(outcome).copy()
    for name in _TUPLE_PARTS:
        values[name] = list(values[name])
    return values


def _current_values(record: ClassificationRecord | None) -> dict:
    if record is None:
        return dict(_UNCLASSIFIED)
    return {
        **_outcome_values(record.outcome),
        "classified_at": record.classified_at,
        "classification_reason": record.reason,
    }


def customer_row(customer: Customer) -> dict:
    """The customer's columns (all but the id)."""
    return {
        **customer.inputs,
        "team_id": customer.team_id,
        "active": customer.active,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "deactivated_at": customer.deactivated_at,
        "deactivation_reason": customer.deactivation_reason,
        **_current_values(customer.classification),
        "version": customer.version,
    }


_JSON_NAMES = frozenset(column.name for column in customers.c if isinstance(column.type, sa.JSON))
# JSON texts the per-call reads decoded, shared by the customers that have them (the same
# menu, the same reasons): never change a decoded value. Cleared when full.
_DECODED_LIMIT = 4096
_decoded_texts: dict[tuple[str, bool], object] = {}


def _decoded(text: str, as_tuple: bool):
    key = (text, as_tuple)
    value = _decoded_texts.get(key)
    if value is None:
        if len(_decoded_texts) >= _DECODED_LIMIT:
            _decoded_texts.clear()
        value = _decoded_texts[key] = tuple(json.loads(text)) if as_tuple else json.loads(text)
    return value


decoded_json = _decoded  # the change feed's history rows share the same decoded values


def _outcome(row: Mapping, parts: Iterable[str]) -> Outcome | None:
    """The outcome of a row; its JSON parts decoded already, or as their text (_READ_CUSTOMER)."""
    if row["grade"] is None:
        return None
    values = {}
    for name in parts:
        value = row[name]
        if isinstance(value, str) and name in _JSON_NAMES:
            value = _decoded(value, name in _TUPLE_PARTS)
        elif name in _TUPLE_PARTS:
            value = tuple(value)
        values[name] = value
    return Outcome(**values)


def _customer(row: Mapping) -> Customer:
    outcome = _outcome(row, OUTCOME_PARTS)
    record = None
    if outcome is not None:
        record = ClassificationRecord(outcome, row["classification_reason"], utc(row["classified_at"]))
    return Customer(
        inputs={name: row[name] for name in INPUT_NAMES},
        team_id=row["team_id"],
        active=row["active"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        deactivated_at=utc(row["deactivated_at"]),
        deactivation_reason=row["deactivation_reason"],
        classification=record,
        id=row["id"],
        version=row["version"],
    )


_COMPARABLE_COLUMNS = ("id", "version", *INPUT_NAMES, *COMPARED_PARTS)
_EXPLAINED_COLUMNS = ("id", "version", *INPUT_NAMES, *OUTCOME_PARTS)
_INPUTS_END = 2 + len(INPUT_NAMES)
_GRADE_AT = _COMPARABLE_COLUMNS.index("grade")
# The JSON parts (position among the outcome's parts, whether a tuple), read as their text.
_JSON_PARTS = tuple(
    (index, name in _TUPLE_PARTS)
    for index, name in enumerate(OUTCOME_PARTS)
    if _PART_TYPES[next(f.type for f in dataclasses.fields(Outcome) if f.name == name)] is sa.JSON
)


def _bulk_column(name: str):
    """A column as the bulk reads select it: a JSON part as its stored text, which many
    customers share (the same menu, the same reasons) and which is decoded once per page."""
    column = customers.c[name]
    return sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column


# Every column of a customer, the JSON parts as their text (decoded through _decoded).
_READ_CUSTOMER = sa.select(*(_bulk_column(column.name).label(column.name) for column in customers.c))


def _comparable_customer(row: tuple, decoded: dict) -> Customer:
    """A customer from a row of _COMPARABLE_COLUMNS, or of _EXPLAINED_COLUMNS (the bulk
    paths read many of them); ``decoded`` holds the JSON texts of the page decoded so far.
    Decoded values are shared between the page's customers: never change them."""
    record = None
    if row[_GRADE_AT] is not None:  # None until first classified
        # The compared parts lead Outcome's fields (a unit test holds it to that).
        parts = list(row[_INPUTS_END:])
        for at, as_tuple in _JSON_PARTS:
            if at < len(parts):
                key = (parts[at], as_tuple)
                value = decoded.get(key)
                if value is None:
                    value = decoded[key] = tuple(json.loads(key[0])) if as_tuple else json.loads(key[0])
                parts[at] = value
        record = ClassificationRecord(Outcome(*parts), "", None)
    inputs = dict(zip(INPUT_NAMES, row[2:_INPUTS_END]))  # noqa: B905 - the slice fits
    return Customer(inputs=inputs, classification=record, id=row[0], version=row[1])


def _zone(row: Mapping) -> MarketZone:
    return MarketZone(
        code=row["code"], name=row["name"], team_id=row["team_id"], updated_at=utc(row["updated_at"])
    )


def _description(row: Mapping) -> ServiceDescription:
    return ServiceDescription(**{**row, "updated_at": utc(row["updated_at"])})


def _clauses(query: CustomerQuery) -> list:
    clauses = [customers.c[name] == value for name, value in query.equals.items() if value]
    if query.activity == "active":
        clauses.append(customers.c.active.is_(True))
    elif query.activity == "inactive":
        clauses.append(customers.c.active.is_(False))
    if query.off_versions:
        columns = {
            GRADING_RULE_SET: customers.c.grading_version,
            ENTITLEMENTS_RULE_SET: customers.c.entitlements_version,
        }
        clauses.append(
            sa.or_(
                *(
                    columns[name].is_(None) | (columns[name] != version)
                    for name, version in query.off_versions.items()
                )
            )
        )
    return clauses


# -- repositories ------------------------------------------------------------------------------
# Built once: the values go in as parameters, so a call neither builds nor compiles a statement.
_SAVE_CUSTOMER = (
    sa.update(customers).where(customers.c.id == sa.bindparam("_id")).values(version=customers.c.version + 1)
)
_ADD_HISTORY = sa.insert(classifications)
# One customer by licence, on the driver's cursor: every per-customer call starts with it.
_GET_CUSTOMER = DirectQuery(_READ_CUSTOMER.where(customers.c.licence_number == sa.bindparam("_licence")))
# The current classification, only where the customer is still the version read, and its
# history entry: the writes of every ClassifyCustomer, run on the driver's cursor.
_CURRENT_PARTS = (*OUTCOME_PARTS, "classified_at", "classification_reason")
# The parts of the current classification with an index (migration 0002). SQLite rewrites
# an index entry whose column an UPDATE sets, even to the value it had (a page more in each
# commit), so a write leaves out those still as read (in the version it checks for).
_INDEXED_PARTS = ("grade", "star_level")


@functools.cache
def _save_classification(kept: frozenset[str]) -> DirectStatement:
    """The guarded UPDATE of the current classification, without the parts in ``kept``."""
    return DirectStatement(
        sa.update(customers)
        .where(customers.c.id == sa.bindparam("_id"), customers.c.version == sa.bindparam("_version"))
        .values(
            version=customers.c.version + 1,
            **{name: sa.bindparam(name) for name in _CURRENT_PARTS if name not in kept},
        )
    )


_ADD_CLASSIFICATION_HISTORY = DirectStatement(
    sa.insert(classifications)
    .values(**{column.name: sa.bindparam(column.name) for column in classifications.c if column.name != "id"})
    .inline()  # no RETURNING of the new id: nobody reads it
)


# -- the bulk write of a reclassification ------------------------------------------------------
# A batch's current classifications go in as one UPDATE guarded by each customer's version as
# read, RETURNING the ids it wrote: on PostgreSQL from one array a column (unnest), on
# SQLite from (VALUES ...) rows, _BULK_ROWS customers a statement. The history entries of
# those that changed are then copied from the rows just written, in one INSERT ... SELECT.
# Run on the driver's cursor: the values are processed as connection.execute processes them
# (JSON text, SQLite's date text), each distinct JSON value once a batch.
_BULK_ROWS = 500  # SQLite: 17 parameters a customer, well under its 32,766
_LOCK_IN_ORDER = "SELECT id FROM customers WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_HISTORY_PARTS = (*OUTCOME_PARTS, "reason", "classified_at")  # from the current row's columns:
_HISTORY_SOURCES = (*OUTCOME_PARTS, "classification_reason", "classified_at")


def _bulk_sql(dialect) -> tuple[str, str]:
    """The guarded UPDATE and the history INSERT of a bulk write; on SQLite with {rows}
    and {ids} to fill with as many rows and ids as a statement takes."""
    quote = dialect.identifier_preparer.quote
    table, id_, version = quote(customers.name), quote("id"), quote("version")
    names = ("id", "version", *_CURRENT_PARTS)
    history = (
        f"INSERT INTO {quote(classifications.name)}"
        f" ({', '.join(quote(name) for name in ('customer_id', *_HISTORY_PARTS))})"
        f" SELECT {', '.join(quote(name) for name in ('id', *_HISTORY_SOURCES))}"
        f" FROM {table} WHERE {id_} {{ids}} ORDER BY {id_}"
    )
    if dialect.name == "postgresql":
        # One array a column; JSON goes as text and is cast, as its column takes it.
        def array(name: str) -> str:
            type_ = customers.c[name].type
            element = "text" if isinstance(type_, sa.JSON) else type_.compile(dialect=dialect)
            return f"%b::{element}[]"  # binary: texts go as they are, not escaped one by one

        def value(name: str) -> str:
            type_ = customers.c[name].type
            return f"CAST(v.{quote(name)} AS JSON)" if isinstance(type_, sa.JSON) else f"v.{quote(name)}"

        source = f"unnest({', '.join(array(name) for name in names)}) AS v({', '.join(map(quote, names))})"
        columns = [f"{quote(name)} = {value(name)}" for name in _CURRENT_PARTS]
        ids = "= ANY(%s)"
    else:  # SQLite takes each value as given, with its column's affinity
        source = "(VALUES {rows}) AS v"
        columns = [f"{quote(name)} = v.column{at}" for at, name in enumerate(_CURRENT_PARTS, start=3)]
        ids = "IN ({ids})"
    update = (
        f"UPDATE {table} SET {version} = {table}.{version} + 1, {', '.join(columns)} FROM {source}"
        f" WHERE {table}.{id_} = v.{quote('id') if dialect.name == 'postgresql' else 'column1'}"
        f" AND {table}.{version} = v.{version if dialect.name == 'postgresql' else 'column2'}"
        f" RETURNING {table}.{id_}"
    )
    return update, history.replace("{ids}", ids)


@functools.lru_cache(maxsize=8)
def _bulk_statements(dialect) -> tuple[str, str]:
    return _bulk_sql(dialect)


@functools.lru_cache(maxsize=16)
def _sqlite_rows(rows: int) -> str:
    row = "(" + ", ".join(["?"] * (2 + len(_CURRENT_PARTS))) + ")"
    return ", ".join([row] * rows)


_TEXTS = frozenset({str})
_outcome_parts = operator.attrgetter(*OUTCOME_PARTS)


class _BulkValues:
    """The values of the current classification columns (_CURRENT_PARTS, in order) as the
    driver takes them. JSON values equal by content are encoded once: a tuple or a dict of
    texts (rule ids, reasons) by its content, anything else (a menu the rule sets share
    between customers) by identity, held here so that no other object takes its id meanwhile."""

    def __init__(self, dialect):
        serialise = dialect._json_serializer or json.dumps  # as SQLAlchemy and psycopg encode it
        self._json = [
            at for at, name in enumerate(_CURRENT_PARTS) if isinstance(customers.c[name].type, sa.JSON)
        ]
        self._serialise = serialise
        self._processed = [  # the others' processors (SQLite's date text)
            (at, process)
            for at, name in enumerate(_CURRENT_PARTS)
            if at not in self._json
            and (process := customers.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        self._encoded: dict = {}
        self._held: list = []

    def _text(self, value) -> str:
        if type(value) is tuple and set(map(type, value)) <= _TEXTS:
            key = ("tuple", value)
        elif type(value) is dict and set(map(type, value)) | set(map(type, value.values())) <= _TEXTS:
            key = ("dict", *value.items())
        else:
            key = ("object", id(value))
            self._held.append(value)
        text = self._encoded.get(key)
        if text is None:
            text = self._encoded[key] = self._serialise(list(value) if type(value) is tuple else value)
        return text

    def current(self, record: ClassificationRecord) -> list:
        values = [*_outcome_parts(record.outcome), record.classified_at, record.reason]
        for at in self._json:
            values[at] = self._text(values[at])
        for at, process in self._processed:
            values[at] = process(values[at])
        return values


class SqlCustomers:
    def __init__(self, connection: Connection):
        self.connection = connection
        # id -> (version, the indexed parts) of the customers get() read: what a write of
        # the same version need not set again.
        self._as_read: dict[int, tuple] = {}

    def _rows(self, statement) -> list[Mapping]:
        return self.connection.execute(statement).mappings().all()

    def get(self, licence: str) -> Customer | None:
        row = _GET_CUSTOMER.first(self.connection, {"_licence": licence})
        if row is None:
            return None
        self._as_read[row["id"]] = (row["version"], *(row[name] for name in _INDEXED_PARTS))
        return _customer(row)

    def get_many(self, licences: Iterable[str]) -> dict[str, Customer]:
        rows = self._rows(_READ_CUSTOMER.where(customers.c.licence_number.in_(list(licences))))
        return {row["licence_number"]: _customer(row) for row in rows}

    def add(self, customer: Customer) -> None:
        try:
            with self.connection.begin_nested():
                result = self.connection.execute(sa.insert(customers).values(**customer_row(customer)))
        except IntegrityError:
            raise DuplicateLicence(customer.licence_number) from None
        customer.id = result.inserted_primary_key[0]

    def save(self, customer: Customer) -> None:
        values = customer_row(customer)
        del values["version"]  # bumped by the statement
        self.connection.execute(_SAVE_CUSTOMER, {**values, "_id": customer.id})
        customer.version += 1

    def add_history(self, customer: Customer) -> None:
        self.connection.execute(_ADD_HISTORY, self._entry(customer))

    def save_classification(self, customer: Customer) -> bool:
        record = customer.classification
        values = _outcome_values(record.outcome)  # once for the row and its history
        processed: dict = {}  # the JSON texts and moments, encoded once for both statements
        as_read = self._as_read.get(customer.id)
        kept = frozenset()
        if as_read is not None and as_read[0] == customer.version:
            kept = frozenset(
                name for name, value in zip(_INDEXED_PARTS, as_read[1:], strict=True) if values[name] == value
            )
        written = _save_classification(kept).execute(
            self.connection,
            {
                "_id": customer.id,
                "_version": customer.version,
                **values,
                "classified_at": record.classified_at,
                "classification_reason": record.reason,
            },
            processed,
        )
        if not written:
            return False
        customer.version += 1
        _ADD_CLASSIFICATION_HISTORY.execute(
            self.connection,
            {
                "customer_id": customer.id,
                **values,
                "reason": record.reason,
                "classified_at": record.classified_at,
            },
            processed,
        )
        return True

    @staticmethod
    def _entry(customer: Customer) -> dict:
        record = customer.classification
        return {
            "customer_id": customer.id,
            **_outcome_values(record.outcome),
            "reason": record.reason,
            "classified_at": record.classified_at,
        }

    def history(self, customer: Customer, offset: int, limit: int) -> list[ClassificationRecord]:
        rows = self._rows(
            sa.select(classifications)
            .where(classifications.c.customer_id == customer.id)
            .order_by(classifications.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [
            ClassificationRecord(_outcome(row, OUTCOME_PARTS), row["reason"], utc(row["classified_at"]))
            for row in rows
        ]

    def page(self, query: CustomerQuery, after_id: int, limit: int) -> list[Customer]:
        rows = self._rows(
            _READ_CUSTOMER.where(customers.c.id > after_id, *_clauses(query))
            .order_by(customers.c.id)
            .limit(limit)
        )
        return [_customer(row) for row in rows]

    def count(self, query: CustomerQuery) -> int:
        return self.connection.execute(
            sa.select(sa.func.count()).select_from(customers).where(*_clauses(query))
        ).scalar_one()

    def comparable_page(
        self, query: CustomerQuery, after_id: int, limit: int, explained: bool = False
    ) -> list[Customer]:
        # Reasons and fired rules are read back only when asked: decoding them cost a third
        # of the time.
        columns = _EXPLAINED_COLUMNS if explained else _COMPARABLE_COLUMNS
        rows = self.connection.execute(
            sa.select(*(_bulk_column(name) for name in columns))
            .where(customers.c.id > after_id, *_clauses(query))
            .order_by(customers.c.id)
            .limit(limit)
        ).all()
        decoded: dict = {}
        return [_comparable_customer(row, decoded) for row in rows]

    def save_reclassified(self, decided: list[tuple[Customer, Effect]]) -> list[Customer]:
        if not decided:
            return []
        dialect = self.connection.dialect
        update, history = _bulk_statements(dialect)
        encode = _BulkValues(dialect)
        rows = [[c.id, c.version, *encode.current(c.classification)] for c, _ in decided]
        cursor = self.connection.connection.cursor()
        try:
            if dialect.name == "postgresql":
                ids = [customer.id for customer, _ in decided]
                # The batch's rows locked in id order (two runs over the same customers
                # never wait on each other crosswise); the version check is in the UPDATE.
                cursor.execute(_LOCK_IN_ORDER, (ids,))
                cursor.execute(update, [list(column) for column in zip(*rows, strict=True)])
                written = {row[0] for row in cursor.fetchall()}
                changed = [c.id for c, effect in decided if effect is Effect.CHANGE and c.id in written]
                if changed:
                    cursor.execute(history, (changed,))
            else:
                written = set()
                for start in range(0, len(rows), _BULK_ROWS):
                    chunk = rows[start : start + _BULK_ROWS]
                    cursor.execute(
                        update.replace("{rows}", _sqlite_rows(len(chunk))),
                        [value for row in chunk for value in row],
                    )
                    written.update(row[0] for row in cursor.fetchall())
                changed = [c.id for c, effect in decided if effect is Effect.CHANGE and c.id in written]
                for start in range(0, len(changed), _BULK_ROWS):
                    ids = changed[start : start + _BULK_ROWS]
                    cursor.execute(history.replace("{ids}", ", ".join(["?"] * len(ids))), ids)
        finally:
            cursor.close()
        stale = []
        for customer, _ in decided:
            if customer.id in written:
                customer.version += 1
            else:
                stale.append(customer)
        return stale

    def move_zone(self, zone: MarketZone) -> int:
        return self.connection.execute(
            sa.update(customers)
            .where(customers.c.market_zone == zone.code)
            .values(team_id=zone.team_id, updated_at=zone.updated_at, version=customers.c.version + 1)
        ).rowcount


class SqlZones:
    def __init__(self, connection: Connection):
        self.connection = connection

    def get(self, code: str) -> MarketZone | None:
        row = (
            self.connection.execute(sa.select(market_zones).where(market_zones.c.code == code))
            .mappings()
            .first()
        )
        return _zone(row) if row else None

    def save(self, zone: MarketZone) -> None:
        values = dataclasses.asdict(zone)
        updated = self.connection.execute(
            sa.update(market_zones).where(market_zones.c.code == zone.code).values(**values)
        ).rowcount
        if not updated:
            self.connection.execute(sa.insert(market_zones).values(**values))

    def page(self, offset: int, limit: int) -> list[MarketZone]:
        rows = self.connection.execute(
            sa.select(market_zones).order_by(market_zones.c.code).offset(offset).limit(limit)
        ).mappings()
        return [_zone(row) for row in rows]


class SqlServiceDescriptions:
    def __init__(self, connection: Connection):
        self.connection = connection

    def any(self) -> bool:
        return self.connection.execute(sa.select(service_descriptions.c.service).limit(1)).first() is not None

    def get(self, service: str) -> ServiceDescription | None:
        row = (
            self.connection.execute(
                sa.select(service_descriptions).where(service_descriptions.c.service == service)
            )
            .mappings()
            .first()
        )
        return _description(row) if row else None

    def save(self, description: ServiceDescription) -> None:
        values = dataclasses.asdict(description)
        updated = self.connection.execute(
            sa.update(service_descriptions)
            .where(service_descriptions.c.service == description.service)
            .values(**values)
        ).rowcount
        if not updated:
            self.connection.execute(sa.insert(service_descriptions).values(**values))

    def seed(self, descriptions: list[ServiceDescription]) -> None:
        dialect = self.connection.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.connection.execute(
            insert(service_descriptions)
            .values([dataclasses.asdict(d) for d in descriptions])
            .on_conflict_do_nothing(index_elements=["service"])
        )

    def all(self) -> list[ServiceDescription]:
        rows = self.connection.execute(
            sa.select(service_descriptions).order_by(
                service_descriptions.c.kind.desc(), service_descriptions.c.service
            )
        ).mappings()
        return [_description(row) for row in rows]


class SqlUnitOfWork:
    """One transaction (ports.UnitOfWork). A read-only one reads on a bare connection,
    outside the SQLite writer queue, and commits nothing."""

    def __init__(self, engine: Engine, *, read_only: bool = False):
        self.engine = engine
        self.read_only = read_only

    def __enter__(self) -> SqlUnitOfWork:
        self._transaction = self.engine.connect() if self.read_only else transaction(self.engine)
        connection = self._transaction.__enter__()
        self.customers = SqlCustomers(connection)
        self.zones = SqlZones(connection)
        self.descriptions = SqlServiceDescriptions(connection)
        return self

    def __exit__(self, *exc_info) -> None:
        self._transaction.__exit__(*exc_info)

    def write(self) -> contextlib.AbstractContextManager:
        """A read-only unit of work's write transaction, on the connection it read on."""
        if not self.read_only:
            raise TypeError("write() is for a read-only unit of work")
        return transaction_on(self.customers.connection)


def unit_of_work_factory(engine: Engine):
    """What the use cases open a transaction with (ports.UnitOfWorkFactory)."""
    return functools.partial(SqlUnitOfWork, engine)


def active_customer_counts(engine: Engine) -> dict[str, dict]:
    """Active customers per star level and per business format (for the gauges)."""
    counts = {}
    with engine.connect() as connection:
        for name in ("star_level", "business_format"):
            column = customers.c[name]
            rows = connection.execute(
                sa.select(column, sa.func.count()).where(customers.c.active.is_(True)).group_by(column)
            )
            counts[name] = dict(rows.all())
    return counts
