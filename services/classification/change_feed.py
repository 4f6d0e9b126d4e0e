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
well under the message limit of both ends; it holds at least one change. A page says
whether changes were left after it (it is full or cut short): a caller asks again after its
last change at once while they were, and may wait a while when they were not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import sqlalchemy as sa
from retailcare.classification.v1 import classification_pb2 as pb
from sqlalchemy.engine import Engine

from services.classification import mapping
from services.classification.domain import (
    OUTCOME_PARTS,
    Outcome,
    ServiceDescription,
    services_menu,
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
_HAS_MORE = bytes([2 << 3 | 0, 1])  # field 2 of the reply, a varint: true
_CLASSIFICATION_TAG = bytes([3 << 3 | 2])  # field 3 of a change, length-delimited
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
    """One history entry as the contract's message, in bytes (made as the page is read:
    the page's size is measured on them)."""

    id: int
    data: bytes = dataclasses.field(repr=False)

    @property
    def message(self) -> pb.ClassificationChange:
        return pb.ClassificationChange.FromString(self.data)


@dataclasses.dataclass(frozen=True)
class ChangePage:
    """A page of the feed, and whether changes were left after it as it was read."""

    changes: list[Change]
    has_more: bool = False


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

    def after(self, change_id: int, page_size: int) -> ChangePage:
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
            .limit(size + 1)  # the one past the page tells whether more are left
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            descriptions = self.descriptions(SqlServiceDescriptions(connection).all) if rows else []
        page = _within(self.reply_bytes, _changes(rows[:size], descriptions))
        return dataclasses.replace(page, has_more=True) if len(rows) > size else page


def _changes(rows, descriptions: list[ServiceDescription]):
    """The page's changes. Serialised messages of one type that are concatenated parse as
    one message with the fields of all, so a change is made of parts: its own fields; its
    classification, which is its outcome and reason (made once a page for the entries that
    store the same ones: a customer base repeats few outcomes) followed by its moment; and
    its menu (made once a page for the entries with the same services text). Each field
    appears once: the bytes are those the message would serialise to."""
    outcomes: dict[tuple, tuple[bytes, bytes]] = {}
    menus: dict[str, bytes] = {}
    for row in rows:
        stored = row[2 : _PARTS_END + 1]  # the outcome's parts as stored, and the reason
        known = outcomes.get(stored)
        if known is None:
            parts = [
                (decoded_json(value, as_tuple) if value is not None else None) if is_json else value
                for value, (is_json, as_tuple) in zip(stored[:-1], _PART_DECODING, strict=True)
            ]
            outcome = Outcome(*parts)
            message = mapping.outcome_message(outcome)
            message.reason = stored[-1]
            services_text = stored[_SERVICES_AT]
            menu = menus.get(services_text)
            if menu is None:
                menu = menus[services_text] = _menu_data(outcome.services, descriptions)
            known = outcomes[stored] = (message.SerializeToString(), menu)
        moment = pb.Classification(classified_at=mapping.timestamp(utc(row[_PARTS_END + 1])))
        classification = known[0] + moment.SerializeToString()
        own = pb.ClassificationChange(
            change_id=row[0],
            licence_number=row[_PARTS_END + 2],
            customer_manager_id=row[_PARTS_END + 3] or "",
            team_id=row[_PARTS_END + 4] or "",
        ).SerializeToString()
        yield Change(
            row[0], own + _CLASSIFICATION_TAG + _varint(len(classification)) + classification + known[1]
        )


def _menu_data(services: dict, descriptions: list[ServiceDescription]) -> bytes:
    """A menu's part of a change's message."""
    items = mapping.menu_items(services_menu(services, descriptions))
    return pb.ClassificationChange(items=items).SerializeToString()


def _within(reply_bytes: int, changes) -> ChangePage:
    """The first changes whose messages fit in ``reply_bytes`` (at least one)."""
    page, size = [], 0
    for change in changes:
        size += len(change.data) + _ENTRY_OVERHEAD
        if page and size > reply_bytes:
            return ChangePage(page, has_more=True)
        page.append(change)
    return ChangePage(page)


def reply_data(page: ChangePage) -> bytes:
    """The page's reply, serialised: the changes' bytes, each as a ``changes`` entry (the
    server sends them as they are; no message is built, parsed or serialised again)."""
    data = b"".join(_CHANGES_TAG + _varint(len(change.data)) + change.data for change in page.changes)
    return data + _HAS_MORE if page.has_more else data


def _varint(value: int) -> bytes:
    """A length as the wire format writes it (seven bits a byte, low bits first)."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
