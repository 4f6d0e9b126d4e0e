"""Contract limits, checked on every incoming request before it reaches a service.

The limits are declared on the fields of the .proto contracts with the
``(retailcare.limits.v1.field)`` option (protos/retailcare/limits/v1/limits.proto, which
also states the defaults every other field gets). ``check(request)`` walks a request by
its descriptor - nested messages, repeated fields and maps - and raises InvalidArgument
naming every offending field; LimitsInterceptor calls it for every request of every call.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from retailcare.limits.v1 import limits_pb2

from services.common.errors import InvalidArgument

DEFAULT_MAX_LENGTH = 1000
DEFAULT_MAGNITUDE = 1e15
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
DEFAULT_NOT_BEFORE = _EPOCH
DEFAULT_NOT_AFTER = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
MAX_VIOLATIONS = 20  # enough to fix a request; more only fills the status
TIMESTAMP = "google.protobuf.Timestamp"
# JSON-like values: `facts["a"][2]` reads better than `facts.fields["a"].list_value.values[2]`.
_TRANSPARENT = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_IDENTIFIER_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "So"}
INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_NUMBERS = INTEGERS | {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


@dataclass(frozen=True)
class Limits:
    """The effective limits of one field: its annotation with the defaults filled in."""

    max_length: int = DEFAULT_MAX_LENGTH
    identifier: bool = False
    max_items: int = 0  # 0: none beyond the message size
    minimum: float | None = None  # None for a double or float: +/-DEFAULT_MAGNITUDE
    maximum: float | None = None
    not_before: datetime.datetime = DEFAULT_NOT_BEFORE
    not_after: datetime.datetime = DEFAULT_NOT_AFTER


def _moment(text: str, default: datetime.datetime) -> datetime.datetime:
    if not text:
        return default
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@functools.cache
def limits_of(field: FieldDescriptor) -> Limits:
    declared = field.GetOptions().Extensions[limits_pb2.field]
    return Limits(
        max_length=declared.max_length or DEFAULT_MAX_LENGTH,
        identifier=declared.text == limits_pb2.IDENTIFIER,
        max_items=declared.max_items,
        minimum=declared.min if declared.HasField("min") else None,
        maximum=declared.max if declared.HasField("max") else None,
        not_before=_moment(declared.not_before, DEFAULT_NOT_BEFORE),
        not_after=_moment(declared.not_after, DEFAULT_NOT_AFTER),
    )


def check(request: Message) -> None:
    """Raises InvalidArgument listing every field of the request that breaks its limits
    (raw bytes, as a relay may receive, are checked where they are parsed)."""
    if not isinstance(request, Message):
        return
    found = violations(request)
    if found:
        raise InvalidArgument(found)


class LimitsInterceptor(grpc.ServerInterceptor):
    """Checks every request message of every call before the handler sees it. The server
    puts it last, so a call the authorizer refuses is refused before its content is read."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        attribute = _BEHAVIOURS[(handler.request_streaming, handler.response_streaming)]
        behaviour = getattr(handler, attribute)
        if handler.request_streaming:

            def checked(requests, context):
                return behaviour(_each_checked(requests), context)

        else:

            def checked(request, context):
                check(request)
                return behaviour(request, context)

        return handler._replace(**{attribute: checked})


_BEHAVIOURS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


def _each_checked(requests: Iterator) -> Iterator:
    for request in requests:
        check(request)
        yield request


def violations(request: Message) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for item in _message(request, ""):
        found.append(item)
        if len(found) >= MAX_VIOLATIONS:
            break
    return found


def _message(message: Message, parent: str) -> Iterator[tuple[str, str]]:
    for field, value in message.ListFields():
        if field.containing_type.full_name in _TRANSPARENT:
            path = parent
        else:
            path = f"{parent}.{field.name}" if parent else field.name
        limits = limits_of(field)
        if _is_map(field):
            yield from _count(path, len(value), limits)
            key_field, value_field = (field.message_type.fields_by_name[n] for n in ("key", "value"))
            for key in value:
                where = f"{path}[{_short(key)}]"
                yield from _value(key_field, key, where, limits)
                yield from _value(value_field, value[key], where, limits)
        elif field.is_repeated:
            yield from _count(path, len(value), limits)
            for index, item in enumerate(value):
                yield from _value(field, item, f"{path}[{index}]", limits)
        else:
            yield from _value(field, value, path, limits)


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _count(path: str, count: int, limits: Limits) -> Iterator[tuple[str, str]]:
    if limits.max_items and count > limits.max_items:
        yield path, f"at most {limits.max_items} items (got {count})"


def _value(field: FieldDescriptor, value, path: str, limits: Limits) -> Iterator[tuple[str, str]]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        yield from _text(value, path, limits)
    elif kind == FieldDescriptor.TYPE_BYTES:
        if len(value) > limits.max_length:
            yield path, f"at most {limits.max_length} bytes (got {len(value)})"
    elif kind == FieldDescriptor.TYPE_ENUM:
        if field.enum_type.values_by_number.get(value) is None:
            known = ", ".join(v.name for v in field.enum_type.values)
            yield path, f"unknown value {value} (known: {known})"
    elif kind in _NUMBERS:
        yield from _number(value, path, limits)
    elif kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        if field.message_type.full_name == TIMESTAMP:
            yield from _timestamp(value, path, limits)
        else:
            yield from _message(value, path)


def _text(value: str, path: str, limits: Limits) -> Iterator[tuple[str, str]]:
    if len(value) > limits.max_length:
        yield path, f"at most {limits.max_length} characters (got {len(value)})"
        return
    control = _CONTROL.search(value)
    if control:
        yield path, f"holds a control character (U+{ord(control.group()):04X}) at position {control.start()}"
        return
    if limits.identifier and not (value.isascii() and value.isprintable()):
        for position, character in enumerate(value):
            if character in "\t\n\r" or (
                not character.isascii() and unicodedata.category(character) in _NOT_IDENTIFIER_CATEGORIES
            ):
                yield (
                    path,
                    f"an identifier holds printable characters only; U+{ord(character):04X} "
                    f"at position {position} is not one",
                )
                return


def _number(value, path: str, limits: Limits) -> Iterator[tuple[str, str]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, "must be a finite number"
        return
    low, high = limits.minimum, limits.maximum
    if low is None and high is None and isinstance(value, float):
        low, high = -DEFAULT_MAGNITUDE, DEFAULT_MAGNITUDE
    if (low is not None and value < low) or (high is not None and value > high):
        yield path, f"must be {_range(low, high)} (got {value:g})"


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _timestamp(value, path: str, limits: Limits) -> Iterator[tuple[str, str]]:
    if not 0 <= value.nanos <= 999_999_999:
        yield path, "not a valid timestamp: nanos must be 0 to 999,999,999"
        return
    low, high = limits.not_before, limits.not_after
    seconds = value.seconds + value.nanos / 1e9
    if not (low - _EPOCH).total_seconds() <= seconds <= (high - _EPOCH).total_seconds():
        yield path, f"must be between {_rfc3339(low)} and {_rfc3339(high)}"


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(key) -> str:
    """A map key as a path part: quoted, escaped, and cut when long."""
    text = str(key)
    return json.dumps(text if len(text) <= 40 else f"{text[:40]}…", ensure_ascii=False)
