"""Time values: everything stored and compared is an aware UTC datetime."""

from __future__ import annotations

import datetime

from google.protobuf import timestamp_pb2


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def to_timestamp(moment: datetime.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp, or None (the field stays unset) for no time."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(utc(moment))
    return stamp


def from_timestamp(message, field: str) -> datetime.datetime | None:
    """The datetime of a Timestamp field, or None when the caller left it unset."""
    return getattr(message, field).ToDatetime(tzinfo=datetime.UTC) if message.HasField(field) else None
