"""Actuals in and results out as CSV or XLSX files."""

from __future__ import annotations

import csv
import io

from services.evaluation.domain.results import PeriodResult

FORMATS = ("csv", "xlsx")
MAX_ROWS = 20_000
RESULT_COLUMNS = (
    "period_id",
    "subject_kind",
    "subject_id",
    "team_id",
    "role",
    "total_score",
    "grade",
    "pay_coefficient",
    "rule_set_version",
    "improvement_plan_id",
)


class TableError(ValueError):
    """A file that cannot be read as a table at all."""


def read_rows(file_format: str, content: bytes) -> list[dict]:
    """The data rows as column -> text, the first row naming the columns."""
    if file_format == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TableError("a CSV file must be UTF-8") from None
        rows = list(csv.DictReader(io.StringIO(text)))
    elif file_format == "xlsx":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a file that is not a workbook
            raise TableError("not a readable XLSX workbook") from None
        lines = list(book.worksheets[0].iter_rows(values_only=True))
        header = [str(cell or "").strip() for cell in lines[0]] if lines else []
        rows = [
            {name: "" if cell is None else str(cell) for name, cell in zip(header, line, strict=False)}
            for line in lines[1:]
            if any(cell is not None for cell in line)
        ]
    else:
        raise TableError(f"format must be one of {', '.join(FORMATS)}")
    if len(rows) > MAX_ROWS:
        raise TableError(f"at most {MAX_ROWS} rows")
    return rows


def _result_rows(results: list[PeriodResult]) -> list[list]:
    indicators = sorted({i["indicator"] for r in results for i in r.indicators})
    header = [*RESULT_COLUMNS, *(f"{name}_points" for name in indicators)]
    rows = [header]
    for r in results:
        points = {i["indicator"]: i["points"] for i in r.indicators}
        rows.append(
            [
                r.period_id,
                r.subject_kind,
                r.subject_id,
                r.team_id,
                r.role,
                r.total_score,
                r.grade,
                r.pay_coefficient,
                r.rule_set_version,
                r.opened_plan_id,
                *(points.get(name, "") for name in indicators),
            ]
        )
    return rows


def write_results(file_format: str, results: list[PeriodResult]) -> bytes:
    rows = _result_rows(results)
    if file_format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue().encode("utf-8")
    if file_format == "xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("results")
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    raise TableError(f"format must be one of {', '.join(FORMATS)}")
