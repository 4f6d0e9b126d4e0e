"""Decision tables: the cell language, and rows imported from CSV or XLSX files.

A condition cell is one of: empty, ``-`` or ``any`` (no condition); ``missing`` or
``present``; ``>= 5``, ``> 5``, ``<= 5``, ``< 5``, ``= x``, ``!= x``; ``10..20`` (both
ends included); ``[10, 20)`` (from 10, below 20: adjacent bands ``[10, 20)``, ``[20, 30)``
leave no gap), likewise ``(10, 20]``, ``[10, 20]``, ``(10, 20)``; ``a, b, c`` (one of them); ``not a, b`` (none of them); or one value.
"""

from __future__ import annotations

import csv
import datetime
import pathlib
import re
from typing import Any

import yaml

_PREFIXES = (
    (">=", "at_least"),
    ("<=", "at_most"),
    ("!=", "not_equals"),
    (">", "greater_than"),
    ("<", "less_than"),
    ("=", "equals"),
)
_OPERATOR_CHARACTERS = re.compile(r"[<>=!]+")
_INTEGER = re.compile(r"[-+]?\d+")
_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTERVAL = re.compile(r"([\[(])\s*([^,]*?)\s*,\s*([^,]*?)\s*([\])])")


def _value(text: str, textual: bool) -> Any:
    """One operand as written in a cell: text for a text input; otherwise a whole number,
    a decimal, a date (YYYY-MM-DD), true or false, or else the text itself, which the
    input's type then refuses by name. Cells are not YAML: ``0x10`` is not 16."""
    text = text.strip()
    if not text:
        raise ValueError("a value is missing")
    if textual:
        return text
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _DATE.fullmatch(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text} is not a date") from None
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_cell(cell: Any, textual: bool) -> tuple[str, Any] | None:
    """A condition cell as (operator, operand), or None when the cell sets no condition;
    ValueError says what is wrong with a malformed cell."""
    if cell is None:
        return None
    if not isinstance(cell, str):
        return ("equals", cell)
    text = cell.strip()
    if text in ("", "-", "any"):
        return None
    if text in ("missing", "present"):
        return (f"is_{text}", True)
    written = _OPERATOR_CHARACTERS.match(text)
    if written and written.group() not in dict(_PREFIXES):
        known = ", ".join(prefix for prefix, _ in _PREFIXES)
        raise ValueError(f"unknown operator {written.group()!r}; use one of {known}")
    for prefix, operator in _PREFIXES:
        if text.startswith(prefix):
            return (operator, _value(text[len(prefix) :], textual))
    interval = _INTERVAL.fullmatch(text)
    if interval:
        opening, low, high, closing = interval.groups()
        return ("range", (_value(low, textual), opening == "[", _value(high, textual), closing == "]"))
    if text.startswith("not "):
        return ("not_in", [_value(part, textual) for part in text[4:].split(",")])
    if "," in text:
        return ("in", [_value(part, textual) for part in text.split(",")])
    range_match = re.fullmatch(r"(.*?)\s*\.\.\s*(.*)", text)
    if range_match:
        return ("between", [_value(range_match.group(1), textual), _value(range_match.group(2), textual)])
    return ("equals", _value(text, textual))


def read_rows(path: pathlib.Path, as_text: bool = False) -> list[tuple[int, dict]]:
    """Rows of a CSV or XLSX table with their row numbers in the file (the header is row 1):
    the first row names the columns; empty cells and empty rows are dropped. Cells are
    typed as YAML would, or with ``as_text`` kept as text (leading zeros and all) for a
    caller that converts each column by its own declared type."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
    elif suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        records = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        raise ValueError(f"{path.name}: tables are read from .csv or .xlsx files")
    if not records:
        raise ValueError(f"{path.name}: the table is empty")
    header = [_header(name) for name in records[0]]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ValueError(f"{path.name}: column {', '.join(repeated)} is named more than once in row 1")
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(not _blank(cell) for cell in record):
            continue
        row = {}
        for column, cell in enumerate(record, start=1):
            if _blank(cell):
                continue
            name = header[column - 1] if column <= len(header) else ""
            if not name:
                raise ValueError(
                    f"{path.name}: row {number}, column {column} holds a value but has no name in row 1"
                )
            row[name] = _text(cell) if as_text else _typed(cell)
        rows.append((number, row))
    return rows


def _header(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text(cell: Any) -> str:
    """A cell as text: a spreadsheet number in its shortest form (12, not 12.0; 1.5)."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return cell.isoformat() if hasattr(cell, "isoformat") else str(cell)


def _typed(cell: Any) -> Any:
    """CSV gives text; a cell like 3 or 2.5 becomes a number, as it would in YAML."""
    if isinstance(cell, str) and re.fullmatch(r"-?\d+(\.\d+)?", cell.strip()):
        return yaml.safe_load(cell)
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def inline_rows_from(source: str, base: pathlib.Path) -> str:
    """Replaces a table's ``rows_from: FILE`` line with the rows read from FILE
    (relative to the document's folder), keeping the rest of the text as written."""
    match = re.search(r"^(?P<indent>[ \t]+)rows_from:[ \t]*(?P<file>.+?)[ \t]*$", source, re.MULTILINE)
    if not match:
        return source
    file_name = match.group("file").strip("'\"")
    rows = [row for _, row in read_rows(base / file_name)]
    dumped = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    indent = match.group("indent")
    block = f"{indent}# rows imported from {file_name}\n{indent}rows:\n" + "".join(
        f"{indent}  {line}\n" for line in dumped.splitlines()
    )
    return source[: match.start()] + block.rstrip("\n") + source[match.end() :]
