"""docs/limits.md, written from the limit annotations of every contract's request
messages: ``python -m services.common.limits_page > docs/limits.md`` (a test checks
the page is current)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor

from services.common import limits

TIMESTAMP, STRUCT, FIELD_MASK = (
    "google.protobuf.Timestamp",
    "google.protobuf.Struct",
    "google.protobuf.FieldMask",
)

HEADER = f"""\
# Contract limits

What a request may carry, for every method of every contract. The limits are declared
on the fields of the `.proto` files with the `(retailcare.limits.v1.field)` option
([protos/retailcare/limits/v1/limits.proto](../protos/retailcare/limits/v1/limits.proto)),
and every process, the gateway included, checks every incoming request against them
before the request reaches the service, so nothing beyond them is ever stored. A request
that breaks one gets `INVALID_ARGUMENT` with a `google.rpc.BadRequest` field violation
per offending field (paths like `rows[3].name` or `facts["sales"]`; at most
{limits.MAX_VIOLATIONS} are listed). Error messages quote at most a short prefix of a
bad value, so any client can read the status.

Every field, annotated or not:

- text is UTF-8 without NUL or other control characters (tab, line feed and carriage
  return are allowed in free text), at most {limits.DEFAULT_MAX_LENGTH:,} characters unless the
  field says otherwise;
- *printable* text (identifiers, codes, keys) holds letters, digits, punctuation,
  symbols and spaces only: no line breaks, control or format characters, emoji or other
  pictographs;
- a number of type double is finite and within +/-{limits.DEFAULT_MAGNITUDE:g} unless the
  field gives a range;
- an enum holds one of the values its declaration lists (an unknown number is refused);
- a timestamp is valid and between {limits.DEFAULT_NOT_BEFORE:%Y-%m-%d} and {limits.DEFAULT_NOT_AFTER:%Y-%m-%d} (UTC) unless the field
  gives a window;
- a page token is one the service issued for the same query, unchanged; `page_size` is
  capped at the maximum each list method states, and a negative one is refused.

The services check the meaning on top (required fields, known codes, licence numbers
normalised, the ranges of the domain); their own pages say how. This page is generated
from the annotations (`python -m services.common.limits_page > docs/limits.md`) and a
test keeps it current. Fields with nothing to limit (booleans, plain integers) are left
out.
"""


def contract_files() -> list[FileDescriptor]:
    """The .proto files of every contract that declares a service, by package."""
    import retailcare

    files = []
    for module in pkgutil.walk_packages(retailcare.__path__, "retailcare."):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(module.name).DESCRIPTOR
            if descriptor.services_by_name:
                files.append(descriptor)
    return sorted(files, key=lambda f: f.name)


def describe(field: FieldDescriptor) -> str:
    """What a field may hold, in a few words (empty when nothing is limited)."""
    declared = limits.limits_of(field)
    kind = field.message_type
    is_map = kind is not None and kind.GetOptions().map_entry
    if is_map:
        inner = f"map; keys: {describe(kind.fields_by_name['key'])}"
    elif field.is_repeated:
        inner = _single(field, declared).removeprefix("a ")
        if not inner and not declared.max_items:
            return ""
        inner = f"list{f' of {inner}' if inner else ''}"
    else:
        return _single(field, declared)
    return f"{inner}; at most {declared.max_items:,} items" if declared.max_items else inner


def _single(field: FieldDescriptor, declared: limits.Limits) -> str:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        what = "printable text" if declared.identifier else "text"
        return f"{what}, at most {declared.max_length:,} characters"
    if kind == FieldDescriptor.TYPE_BYTES:
        return f"at most {declared.max_length:,} bytes"
    if kind == FieldDescriptor.TYPE_ENUM:
        return "one of " + ", ".join(f"`{v.name}`" for v in field.enum_type.values)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        low, high = declared.minimum, declared.maximum
        if low is None and high is None:
            low, high = -limits.DEFAULT_MAGNITUDE, limits.DEFAULT_MAGNITUDE
        return f"finite number, {_range(low, high)}"
    if kind in limits.INTEGERS:
        return _range(declared.minimum, declared.maximum)
    if field.message_type is None:
        return ""
    name = field.message_type.full_name
    if name == TIMESTAMP:
        return f"timestamp, {declared.not_before:%Y-%m-%d %H:%M} to {declared.not_after:%Y-%m-%d %H:%M} UTC"
    if name == STRUCT:
        return "JSON object: text and numbers as above, at any depth"
    if name == FIELD_MASK:
        return "field paths, each text of at most 1,000 characters"
    return f"a `{field.message_type.name}`"


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{low:,g} to {high:,g}"
    return f"at least {low:,g}" if low is not None else f"at most {high:,g}"


def _request_messages(file: FileDescriptor) -> Iterator[Descriptor]:
    """The request messages of the file's methods and the messages they hold, once each."""
    seen: set[str] = set()
    pending = [m.input_type for s in file.services_by_name.values() for m in s.methods]
    while pending:
        message = pending.pop(0)
        if message.full_name in seen or message.full_name in (TIMESTAMP, STRUCT, FIELD_MASK):
            continue
        seen.add(message.full_name)
        yield message
        pending += [
            f.message_type
            for f in message.fields
            if f.message_type is not None and not f.message_type.GetOptions().map_entry
        ]


def markdown() -> str:
    parts = [HEADER]
    for file in contract_files():
        parts.append(f"\n## `{file.package}` ({file.name})\n")
        for message in _request_messages(file):
            rows = [(f.name, describe(f)) for f in message.fields]
            rows = [(name, text) for name, text in rows if text]
            if not rows:
                continue
            parts.append(f"\n### {message.name}\n\n| field | may hold |\n|---|---|\n")
            parts.extend(f"| `{name}` | {text} |\n" for name, text in rows)
    return "".join(parts)


if __name__ == "__main__":
    print(markdown(), end="")
