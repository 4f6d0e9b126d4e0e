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
import functools

import sqlalchemy as sa
from google.protobuf import struct_pb2
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
from services.classification.storage import SqlServiceDescriptions, classifications, customers
from services.common import paging
from services.common.errors import InvalidArgument
from services.common.times import utc

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
REPLY_BYTES = 2 * 1024 * 1024
# Change ids are INTEGER (32 bits on PostgreSQL): a larger cursor is beyond every change,
# read as the largest (PostgreSQL refuses to compare the column with a larger number).
MAX_CHANGE_ID = 2**31 - 1
_ENTRY_OVERHEAD = 8  # a repeated field's tag and length in front of each change
_TUPLE_PARTS = frozenset(f.name for f in dataclasses.fields(Outcome) if f.type == "tuple")


@dataclasses.dataclass(frozen=True)
class Change:
    """One history entry: the customer (with its current manager and team) classified as
    the entry says, and the menu that classification gives."""

    id: int
    customer: Customer
    items: list[tuple[ServiceDescription, dict]]

    @property
    def classified_at(self) -> datetime.datetime:
        return self.customer.classification.classified_at

    @functools.cached_property
    def message(self) -> pb.ClassificationChange:
        """The contract's message (built once: the page's size is measured on it)."""
        return _message(self)


class ClassificationChanges:
    """The read behind ListClassificationChanges (one read-only transaction a page)."""

    def __init__(self, engine: Engine, max_message_bytes: int):
        self.engine = engine
        self.reply_bytes = min(REPLY_BYTES, max_message_bytes // 2)

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
            sa.select(
                classifications,
                customers.c.licence_number,
                customers.c.customer_manager_id,
                customers.c.team_id,
            )
            .join(customers, customers.c.id == classifications.c.customer_id)
            .where(classifications.c.id > min(change_id, MAX_CHANGE_ID))
            .order_by(classifications.c.id)
            .limit(size)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            descriptions = SqlServiceDescriptions(connection).all() if rows else []
        return _within(self.reply_bytes, (self._change(row, descriptions) for row in rows))

    @staticmethod
    def _change(row, descriptions: list[ServiceDescription]) -> Change:
        outcome = Outcome(
            **{name: tuple(row[name]) if name in _TUPLE_PARTS else row[name] for name in OUTCOME_PARTS}
        )
        customer = Customer(
            inputs={
                "licence_number": row["licence_number"],
                "customer_manager_id": row["customer_manager_id"],
            },
            team_id=row["team_id"],
            classification=ClassificationRecord(outcome, row["reason"], utc(row["classified_at"])),
            id=row["customer_id"],
        )
        return Change(row["id"], customer, menu(customer, descriptions))


def _within(reply_bytes: int, changes) -> list[Change]:
    """The first changes whose messages fit in ``reply_bytes`` (at least one)."""
    page, size = [], 0
    for change in changes:
        size += change.message.ByteSize() + _ENTRY_OVERHEAD
        if page and size > reply_bytes:
            break
        page.append(change)
    return page


def change_message(change: Change) -> pb.ClassificationChange:
    return change.message


def _message(change: Change) -> pb.ClassificationChange:
    customer = change.customer
    message = pb.ClassificationChange(
        change_id=change.id,
        licence_number=customer.licence_number,
        classification=mapping.classification_message(customer.classification),
        customer_manager_id=customer.inputs["customer_manager_id"] or "",
        team_id=customer.team_id or "",
    )
    for description, parameters in change.items:
        values = struct_pb2.Struct()
        values.update(parameters)
        message.items.append(
            pb.MenuItem(description=mapping.description_message(description), parameters=values)
        )
    return message
