"""Decision tables at their edges: every operator and interval form of the cell language,
the operand types, refusals word for word, and rows read from CSV and XLSX files with
their row numbers, empty cells and the shortest form of spreadsheet numbers."""

import csv
import datetime
import zipfile

import openpyxl
import pytest

from services.common.rules.tables import inline_rows_from, parse_cell, read_rows


def test_every_prefix_operator_with_and_without_spaces():
    assert [parse_cell(cell, False) for cell in (">=5", "<= 5", "!=5", ">5", "< 5", "=5")] == [
        ("at_least", 5),
        ("at_most", 5),
        ("not_equals", 5),
        ("greater_than", 5),
        ("less_than", 5),
        ("equals", 5),
    ]


def test_presence_cells_and_cells_that_set_no_condition():
    assert parse_cell("  present ", True) == ("is_present", True)
    assert parse_cell("missing", False) == ("is_missing", True)
    assert [parse_cell(cell, False) for cell in (None, " ", " - ", "any")] == [None, None, None, None]


def test_a_cell_that_is_not_text_is_its_own_value():
    assert parse_cell(2.5, False) == ("equals", 2.5)
    assert parse_cell(False, False) == ("equals", False)
    assert parse_cell(datetime.date(2026, 1, 1), True) == ("equals", datetime.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("cell", "parsed"),
    [
        ("[10, 20)", ("range", (10, True, 20, False))),
        ("(10,20]", ("range", (10, False, 20, True))),
        ("[ 1.5 , 2 ]", ("range", (1.5, True, 2, True))),
        ("(a, b)", ("range", ("a", False, "b", False))),
    ],
)
def test_intervals_say_which_ends_are_included(cell, parsed):
    assert parse_cell(cell, False) == parsed


def test_textual_cells_keep_their_operands_as_text():
    assert parse_cell("[01, 10)", True) == ("range", ("01", True, "10", False))
    assert parse_cell(">= 007", True) == ("at_least", "007")
    assert parse_cell("not 1, 2", True) == ("not_in", ["1", "2"])
    assert parse_cell("1 .. 2", True) == ("between", ["1", "2"])
    assert parse_cell("true", True) == ("equals", "true")


def test_lists_and_ranges_of_numbers():
    assert parse_cell("not 1, 2.5", False) == ("not_in", [1, 2.5])
    assert parse_cell("1, +2, .5", False) == ("in", [1, 2, 0.5])
    assert parse_cell("-1..-0.5", False) == ("between", [-1, -0.5])
    assert parse_cell("nothing", True) == ("equals", "nothing")  # "not" without a space is a value
    assert parse_cell("FALSE", False) == ("equals", False)
    assert parse_cell("5.", False) == ("equals", 5.0) and isinstance(parse_cell("7", False)[1], int)
    assert parse_cell("1E2", False) == ("equals", 100.0)
    assert parse_cell("2026-1-1", False) == ("equals", "2026-1-1")  # not a date, a text


def test_an_unknown_operator_names_the_known_ones():
    with pytest.raises(ValueError) as error:
        parse_cell("=> 1", False)
    assert str(error.value) == "unknown operator '=>'; use one of >=, <=, !=, >, <, ="


def test_a_missing_or_malformed_operand_is_refused_word_for_word():
    with pytest.raises(ValueError) as error:
        parse_cell("< ", True)
    assert str(error.value) == "a value is missing"
    with pytest.raises(ValueError) as error:
        parse_cell("= 2026-13-01", False)
    assert str(error.value) == "2026-13-01 is not a date"


# ---- rows from files ---------------------------------------------------------------


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_csv_rows_keep_their_line_numbers_and_drop_empty_cells_and_rows(tmp_path):
    path = write_csv(
        tmp_path / "t.CSV",
        [[" id ", "n", "x"], ["a", "3", "2.5"], ["", "", ""], ["b", " ", "-4"], ["c", "007", "x y"]],
    )
    assert read_rows(path) == [
        (2, {"id": "a", "n": 3, "x": 2.5}),
        (4, {"id": "b", "x": -4}),
        (5, {"id": "c", "n": 7, "x": "x y"}),
    ]
    assert read_rows(path, as_text=True) == [
        (2, {"id": "a", "n": "3", "x": "2.5"}),
        (4, {"id": "b", "x": "-4"}),
        (5, {"id": "c", "n": "007", "x": "x y"}),
    ]


def test_a_short_row_reads_the_columns_it_has(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["id", "n", "x"], ["a"]])
    assert read_rows(path) == [(2, {"id": "a"})]


def test_xlsx_cells_keep_their_types_and_numbers_their_shortest_form(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "n", "x", "on", "d"])
    book.active.append(["a", 12.0, 1.5, True, datetime.datetime(2026, 3, 1)])
    book.active.append([None, None, None, None, None])
    book.active.append(["b", 3, "  ", None, None])
    book.save(tmp_path / "t.xlsx")
    typed = read_rows(tmp_path / "t.xlsx")
    assert typed == [
        (2, {"id": "a", "n": 12, "x": 1.5, "on": True, "d": datetime.datetime(2026, 3, 1)}),
        (4, {"id": "b", "n": 3}),
    ]
    assert type(typed[0][1]["n"]) is int
    assert read_rows(tmp_path / "t.xlsx", as_text=True) == [
        (2, {"id": "a", "n": "12", "x": "1.5", "on": "True", "d": "2026-03-01T00:00:00"}),
        (4, {"id": "b", "n": "3"}),
    ]


def test_a_value_under_a_nameless_column_is_refused_with_its_row_and_column(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", None, "x"])
    book.active.append(["a", None, 1])
    book.active.append(["b", 7, 2])
    book.save(tmp_path / "t.xlsx")
    with pytest.raises(ValueError) as error:
        read_rows(tmp_path / "t.xlsx")
    assert str(error.value) == "t.xlsx: row 3, column 2 holds a value but has no name in row 1"
    path = write_csv(tmp_path / "t.csv", [["id", "n"], ["a", "1", "extra"]])
    with pytest.raises(ValueError) as error:
        read_rows(path)
    assert str(error.value) == "t.csv: row 2, column 3 holds a value but has no name in row 1"


def test_a_blank_nameless_column_is_ignored(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["id", "", "n"], ["a", " ", "1"]])
    assert read_rows(path) == [(2, {"id": "a", "n": 1})]


def test_a_column_named_twice_is_refused(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["id", "n", " n "], ["a", "1", "2"]])
    with pytest.raises(ValueError) as error:
        read_rows(path)
    assert str(error.value) == "t.csv: column n is named more than once in row 1"


def test_every_column_named_twice_is_named_once_in_order(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["n", "id", "n", "id", "x"], ["1", "a", "2", "b", "3"]])
    with pytest.raises(ValueError) as error:
        read_rows(path)
    assert str(error.value) == "t.csv: column id, n is named more than once in row 1"


def test_other_files_and_empty_tables_are_refused_by_name(tmp_path):
    (tmp_path / "t.txt").write_text("id\n")
    with pytest.raises(ValueError) as error:
        read_rows(tmp_path / "t.txt")
    assert str(error.value) == "t.txt: tables are read from .csv or .xlsx files"
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError) as error:
        read_rows(tmp_path / "e.csv")
    assert str(error.value) == "e.csv: the table is empty"


def test_a_bom_is_not_part_of_the_first_column_name(tmp_path):
    (tmp_path / "b.csv").write_bytes("\ufeffid,n\na,1\n".encode())
    assert read_rows(tmp_path / "b.csv") == [(2, {"id": "a", "n": 1})]


def test_inlined_rows_keep_the_indent_the_file_name_and_the_rest_of_the_text(tmp_path):
    write_csv(tmp_path / "tiers.csv", [["id", "star_level", "note"], ["a", ">= 5", "五星"], ["b", "1", ""]])
    source = "name: x\ntable:\n    conditions: [star_level]\n    rows_from: 'tiers.csv'  \ntests: []\n"
    assert inline_rows_from(source, tmp_path) == (
        "name: x\ntable:\n    conditions: [star_level]\n"
        "    # rows imported from tiers.csv\n"
        "    rows:\n"
        "      - {id: a, star_level: '>= 5', note: 五星}\n"
        "      - {id: b, star_level: 1}\n"
        "tests: []\n"
    )


def test_a_source_without_rows_from_is_returned_unchanged(tmp_path):
    source = "name: x\nrows_from: top-level is not a table's\n"
    assert inline_rows_from(source, tmp_path) is source


def test_a_textual_list_keeps_numbers_as_text():
    assert parse_cell("01, 2", True) == ("in", ["01", "2"])
    assert parse_cell("01, 2", False) == ("in", [1, 2])


def test_a_quoted_csv_cell_keeps_its_line_break_as_written(tmp_path):
    (tmp_path / "q.csv").write_bytes(b'id,note\r\na,"two\r\nlines"\r\n')
    assert read_rows(tmp_path / "q.csv") == [(2, {"id": "a", "note": "two\r\nlines"})]


def test_an_xlsx_formula_is_read_as_its_stored_value_never_as_its_text(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "n", "f"])
    book.active.append(["a", 1, "=1+1"])  # saved without a computed value
    book.save(tmp_path / "f.xlsx")
    assert read_rows(tmp_path / "f.xlsx") == [(2, {"id": "a", "n": 1})]


def test_a_whole_number_stored_as_a_decimal_in_xlsx_reads_as_a_whole_number(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "n"])
    book.active.append(["a", 12])
    book.save(tmp_path / "w.xlsx")
    # another tool may store 12 as "12.0", which openpyxl reads as a float
    with zipfile.ZipFile(tmp_path / "w.xlsx") as source, zipfile.ZipFile(tmp_path / "d.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b"<v>12</v>" in data
                data = data.replace(b"<v>12</v>", b"<v>12.0</v>")
            target.writestr(item, data)
    assert read_rows(tmp_path / "d.xlsx") == [(2, {"id": "a", "n": 12})]
    assert type(read_rows(tmp_path / "d.xlsx")[0][1]["n"]) is int
    assert read_rows(tmp_path / "d.xlsx", as_text=True) == [(2, {"id": "a", "n": "12"})]


def test_a_file_name_is_unquoted_but_otherwise_kept(tmp_path):
    write_csv(tmp_path / "Xtiers.csv", [["id", "flag"], ["a", "yes"]])
    source = 'table:\n  rows_from: "Xtiers.csv"\n'
    assert inline_rows_from(source, tmp_path) == (
        "table:\n  # rows imported from Xtiers.csv\n  rows:\n    - {id: a, flag: 'yes'}\n"
    )


def test_an_imported_row_stays_on_one_line_up_to_a_width_of_1000(tmp_path):
    def inlined(words):
        write_csv(tmp_path / "long.csv", [["id", "note"], ["a", " ".join(["w"] * words)]])
        return inline_rows_from("table:\n  rows_from: long.csv\n", tmp_path).splitlines()[3:]

    assert len(inlined(493)) == 1  # 1,002 characters: PyYAML breaks only past the width
    assert len(inlined(494)) == 2
