import csv
import io

import openpyxl
import pytest

from services.evaluation.domain.results import PeriodResult
from services.evaluation.tables import TableError, read_rows, write_results


def result(subject_id, points):
    indicators = tuple({"indicator": name, "points": value} for name, value in points.items())
    return PeriodResult(
        "2026",
        "staff",
        subject_id,
        "team-1",
        "customer_manager",
        81.5,
        "B",
        1.1,
        indicators,
        (),
        "kpi-scoring",
        2,
        1,
    )


RESULTS = [
    result("cm-1", {"visit_coverage": 20.0, "ratings": 61.5}),
    result("cm-2", {"sales_attainment": 12.0}),
]


def test_csv_export_has_a_column_per_indicator():
    rows = list(csv.DictReader(io.StringIO(write_results("csv", RESULTS).decode())))
    assert [r["subject_id"] for r in rows] == ["cm-1", "cm-2"]
    assert rows[0]["ratings_points"] == "61.5" and rows[0]["sales_attainment_points"] == ""
    assert rows[1]["grade"] == "B" and rows[1]["rule_set_version"] == "2"


def test_xlsx_export_reads_back():
    sheet = openpyxl.load_workbook(io.BytesIO(write_results("xlsx", RESULTS))).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["period_id", "subject_kind", "subject_id"] and sheet.max_row == 3


def test_imports_read_csv_and_xlsx_alike():
    text = "subject_id,subject_kind,sales_actual\ncm-1,staff,12.5\n"
    book = openpyxl.Workbook()
    book.active.append(["subject_id", "subject_kind", "sales_actual"])
    book.active.append(["cm-1", "staff", 12.5])
    book.active.append([None, None, None])  # blank rows are skipped
    data = io.BytesIO()
    book.save(data)
    expected = [{"subject_id": "cm-1", "subject_kind": "staff", "sales_actual": "12.5"}]
    assert read_rows("csv", text.encode()) == expected
    assert read_rows("xlsx", data.getvalue()) == expected


@pytest.mark.parametrize(
    ("file_format", "content"), [("csv", b"\xff\xfe"), ("xlsx", b"not a workbook"), ("pdf", b"")]
)
def test_unreadable_files_are_refused(file_format, content):
    with pytest.raises(TableError):
        read_rows(file_format, content)
