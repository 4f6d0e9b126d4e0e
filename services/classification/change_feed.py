"""The change feed (ListClassificationChanges): every customer's history entries, oldest
first by their id, each with the menu it gives, for a service that follows the menus
(evaluation issues a commitment-card version for each change of what a customer is
promised) from the last change it handled.

A history entry is written for every classification a customer notices (and every
create, update and on-demand one), in the same transaction as the current
classification, so the feed misses no change. Ids increase in the order the entries were
inserted; on PostgreSQL a transaction can commit after a later one, so an id can appear
after a larger one was read (a follower waits a while at a gap). The history keeps
neither the customer manager nor the team: the feed gives the customer's current ones,
and the service descriptions as they are now.

A change carries its whole menu (with long descriptions, over a megabyte), so a page is
cut short once its changes reach REPLY_BYTES (or half of a smaller ``max_message_bytes``),
well under the message limit of both ends; it holds at least one change. A caller asks again after the page's last change
until a page is empty.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from sqlalchemy.engine import Engine

from services.classification import mapping
from services.classification.domain import (
    OUTCOME_PARTS,
    ClassificationRecord,
    Customer,
    Outcome,
    ServiceDescription,
    menu,
)
from services.classification.storage import SqlServiceDescriptions, classifications, customers, decoded_json
from services.common import paging
from services.common.errors import InvalidArgument
from services.common.times import utc

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
REPLY_BYTES = 2 * 1024 * 1024
# Change ids are INTEGER (32 bits on PostgreSQL): a larger cursor is beyond every change,
# read as the largest (PostgreSQL refuses to compare the column with a larger number).
MAX_CHANGE_ID = 2**31 - 1
_ENTRY_OVERHEAD = 8  # a repeated field's tag and length in front of each change
_CHANGES_TAG = bytes([1 << 3 | 2])  # field 1 of the reply, length-delimited
_TUPLE_PARTS = frozenset(f.name for f in dataclasses.fields(Outcome) if f.type == "tuple")
# The outcome's parts as the page reads them: a JSON part as its stored text, decoded once
# per distinct text (storage.decoded_json) and shared with the per-call reads.
_JSON_PARTS = {
    name: name in _TUPLE_PARTS for name in OUTCOME_PARTS if isinstance(classifications.c[name].type, sa.JSON)
}
_PAGE_COLUMNS = (
    classifications.c.id,
    classifications.c.customer_id,
    *(
        sa.cast(classifications.c[name], sa.Text) if name in _JSON_PARTS else classifications.c[name]
        for name in OUTCOME_PARTS
    ),
    classifications.c.reason,
    classifications.c.classified_at,
    customers.c.licence_number,
    customers.c.customer_manager_id,
    customers.c.team_id,
)
_PARTS_END = 2 + len(OUTCOME_PARTS)
_PART_DECODING = tuple((name in _JSON_PARTS, _JSON_PARTS.get(name, False)) for name in OUTCOME_PARTS)
_SERVICES_AT = OUTCOME_PARTS.index("services")


def _each_read(read: Callable[[], list[ServiceDescription]]) -> list[ServiceDescription]:
    return read()


@dataclasses.dataclass(frozen=True)
class Change:
    """One history entry: the customer (with its current manager and team) classified as
    the entry says, the menu that classification gives, and the contract's message as its
    bytes (made as the page is read: the page's size is measured on them)."""

    id: int
    customer: Customer
    items: list[tuple[ServiceDescription, dict]]
    data: bytes = dataclasses.field(repr=False, compare=False)

    @property
    def classified_at(self) -> datetime.datetime:
        return self.customer.classification.classified_at

    @property
    def message(self) -> pb.ClassificationChange:
        return pb.ClassificationChange.FromString(self.data)


class _Menu:
    """A menu's items, and their part of a change's bytes: fields add up, so a change is
    its own fields' bytes and then these (the changes of a page that give the same menu
    share one; history entries repeat few menus)."""

    def __init__(self, items: list[tuple[ServiceDescription, dict]]):
        self.items = items
        self.data = pb.ClassificationChange(items=mapping.menu_items(items)).SerializeToString()


class ClassificationChanges:
    """The read behind ListClassificationChanges (one read-only transaction a page).
    ``descriptions(read)`` gives the menus' service descriptions: the use cases' copy
    (ClassificationUseCases.menu_descriptions), or by default ``read()`` at every page."""

    def __init__(
        self,
        engine: Engine,
        max_message_bytes: int,
        descriptions: Callable[
            [Callable[[], list[ServiceDescription]]], list[ServiceDescription]
        ] = _each_read,
    ):
        self.engine = engine
        self.reply_bytes = min(REPLY_BYTES, max_message_bytes // 2)
        self.descriptions = descriptions

    def after(self, change_id: int, page_size: int) -> list[Change]:
        problems = [
            (field, "must not be negative")
            for field, value in (("after_change_id", change_id), ("page_size", page_size))
            if value < 0
        ]
        if problems:
            raise InvalidArgument(problems)
        size = paging.page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        query = (
            sa.select(*_PAGE_COLUMNS)
            .join(customers, customers.c.id == classifications.c.customer_id)
            .where(classifications.c.id > min(change_id, MAX_CHANGE_ID))
            .order_by(classifications.c.id)
            .limit(size)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            descriptions = self.descriptions(SqlServiceDescriptions(connection).all) if rows else []
        return _within(self.reply_bytes, _changes(rows, descriptions))


def _changes(rows, descriptions: list[ServiceDescription]):
    """The page's changes, each menu built once (by the services' decoded value, which the
    entries with the same menu text share)."""
    menus: dict[int, tuple[dict, _Menu]] = {}
    for row in rows:
        parts = [
            (decoded_json(value, as_tuple) if value is not None else None) if is_json else value
            for value, (is_json, as_tuple) in zip(row[2:_PARTS_END], _PART_DECODING, strict=True)
        ]
        customer = Customer(
            inputs={"licence_number": row[_PARTS_END + 2], "customer_manager_id": row[_PARTS_END + 3]},
            team_id=row[_PARTS_END + 4],
            classification=ClassificationRecord(Outcome(*parts), row[_PARTS_END], utc(row[_PARTS_END + 1])),
            id=row[1],
        )
        services = parts[_SERVICES_AT]
        known = menus.get(id(services))
        if known is None or known[0] is not services:
            known = menus[id(services)] = (services, _Menu(menu(customer, descriptions)))
        yield Change(row[0], customer, known[1].items, _data(row[0], customer) + known[1].data)


def _within(reply_bytes: int, changes) -> list[Change]:
    """The first changes whose messages fit in ``reply_bytes`` (at least one)."""
    page, size = [], 0
    for change in changes:
        size += len(change.data) + _ENTRY_OVERHEAD
        if page and size > reply_bytes:
            break
        page.append(change)
    return page


def page_reply(changes: list[Change]) -> pb.ListClassificationChangesResponse:
    """The page's reply, parsed once from the changes' bytes (each a ``changes`` entry):
    no change message is built and then copied into it."""
    return pb.ListClassificationChangesResponse.FromString(
        b"".join(_CHANGES_TAG + _varint(len(change.data)) + change.data for change in changes)
    )


def _data(change_id: int, customer: Customer) -> bytes:
    """The change's message without its menu, as bytes."""
    return pb.ClassificationChange(
        change_id=change_id,
        licence_number=customer.licence_number,
        classification=mapping.classification_message(customer.classification),
        customer_manager_id=customer.inputs["customer_manager_id"] or "",
        team_id=customer.team_id or "",
    ).SerializeToString()


def _varint(value: int) -> bytes:
    """A length as the wire format writes it (seven bits a byte, low bits first)."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
