"""The streaming .xlsx reader: values as Excel stores them, rows as the file numbers them,
and every limit refusing a file with a reason that names it."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

import pytest

from core.errors import InvalidInput
from exports.contacts_import import Limits, read_contacts
from exports.xlsx_reader import SheetReader, column_index
from tests.exports import hostile_files as hf
from tests.exports.hostile_files import inline, number, row, shared, sheet_xml, workbook

HEADER = row(1, [inline("A1", "ФИО"), inline("B1", "Телефон"), inline("C1", "Дата рождения")])


def _wall(*parts: int) -> datetime:
    """A spreadsheet's date and time: naive, as Excel stores it."""
    return datetime(*parts)  # noqa: DTZ001


def _rows(data: bytes) -> list[tuple[int, dict[int, object]]]:
    return list(SheetReader(zipfile.ZipFile(io.BytesIO(data))))


def _refused(data: bytes, limits: Limits = Limits()) -> str:
    with pytest.raises(InvalidInput) as err:
        read_contacts(data, "book.xlsx", limits=limits)
    assert err.value.field == "file"
    return err.value.message


def test_column_letters() -> None:
    assert [column_index(c) for c in ("A", "Z", "AA", "XFD", "XFE", "", "a", "AAAA")] == [
        0,
        25,
        26,
        16383,
        -1,
        -1,
        -1,
        -1,
    ]


def test_numbers_in_date_formats_are_dates_as_calamine_gave_them() -> None:
    styles = hf.styles_xml((0, None), (14, None), (164, "DD.MM.YYYY"), (165, "[h]:mm:ss"))
    sheet = sheet_xml(
        [
            row(1, [number("A1", 32874, 1), number("B1", 32874, 2), number("C1", 1.5, 3)]),
            row(2, [number("A2", 32874.5, 1), number("B2", 0.25, 1), number("C2", 32874, 0)]),
        ]
    )
    (_, first), (_, second) = _rows(workbook(sheet, styles=styles))
    assert first == {0: _wall(1990, 1, 1), 1: _wall(1990, 1, 1), 2: timedelta(hours=36)}
    assert second == {0: _wall(1990, 1, 1, 12), 1: time(6), 2: 32874.0}
    (_, mac), *_ = _rows(workbook(sheet, styles=styles, date1904=True))
    assert mac[0] == _wall(1994, 1, 2)


def test_a_birthday_typed_as_a_date_in_excel_is_read_as_that_date() -> None:
    styles = hf.styles_xml((0, None), (14, None))
    sheet = sheet_xml(
        [HEADER, row(2, [inline("A2", "Иван"), number("B2", 79161112233), number("C2", 32874, 1)])]
    )
    (contact,) = read_contacts(workbook(sheet, styles=styles), "book.xlsx").rows
    assert contact.birthday == date(1990, 1, 1)
    assert contact.cells == ("Иван", "79161112233", "1990-01-01")
    assert contact.phones == [("79161112233", 1)]


def test_shared_inline_rich_boolean_and_error_cells() -> None:
    rich = (
        f'<sst xmlns="{hf.MAIN}"><si><t>ФИО</t></si><si><r><t>Теле</t></r><r><t>фон</t></r>'
        "<rPh><t>フリガナ</t></rPh></si></sst>"
    ).encode()
    sheet = sheet_xml(
        [
            row(1, [shared("A1", 0), shared("B1", 1), *(inline(f"{c}1", c) for c in "CDE")]),
            row(
                2,
                [
                    '<c r="A2" t="b"><v>1</v></c>',
                    '<c r="B2" t="e"><v>#N/A</v></c>',
                    '<c r="C2" t="str"><f>A1</f><v>ФИО</v></c>',
                    '<c r="D2" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>',
                    '<c r="E2" t="d"><v>1990-01-01T00:00:00</v></c>',
                ],
            ),
        ]
    )
    rows = _rows(workbook(sheet, strings=rich))
    assert rows == [
        (1, {0: "ФИО", 1: "Телефон", 2: "C", 3: "D", 4: "E"}),
        (2, {0: True, 1: "#N/A", 2: "ФИО", 3: "ab", 4: _wall(1990, 1, 1)}),
    ]


def test_rows_keep_the_numbers_the_file_gives_them_and_gaps_are_not_filled() -> None:
    sheet = sheet_xml(
        [
            row(3, [inline("B3", "ФИО"), inline("C3", "Телефон")]),
            row(7, [inline("B7", "Иван"), inline("C7", "+79161112233")]),
            row(9, [inline("D9", "no header here"), inline("B9", " ")]),
            row(12, [inline(None, "x"), inline(None, "Пётр"), inline(None, "+79164445566")]),
        ]
    )
    table = read_contacts(workbook(sheet), "book.xlsx")
    assert table.headers == ["", "ФИО", "Телефон"]
    assert [(r.row, r.cells) for r in table.rows] == [
        (7, ("", "Иван", "+79161112233")),
        (12, ("x", "Пётр", "+79164445566")),
    ]
    header = row(1, [inline("A1", "ФИО"), inline("B1", "Дата рождения")])
    cells_backwards = row(4, [number("B4", -5), inline("A4", "Ян")])
    (bad,) = read_contacts(workbook(sheet_xml([header, cells_backwards])), "book.xlsx").rows
    assert bad.cells == ("Ян", "-5")
    assert [str(e) for e in bad.errors] == ["B4 (Дата рождения): -5.0 is not a date"]


def test_strict_open_xml_is_read() -> None:
    strict = sheet_xml(hf.head_rows()).replace(
        hf.MAIN.encode(), b"http://purl.oclc.org/ooxml/spreadsheetml/main"
    )
    (contact,) = read_contacts(workbook(strict), "book.xlsx").rows
    assert contact.cells == hf.CONTACT


def test_far_away_cells_cost_nothing_and_leave_the_real_rows() -> None:
    for data in (hf.far_xfd(), hf.far_z(), hf.space_in_last_row(), hf.huge_dimension()):
        table = read_contacts(data, "book.xlsx")
        assert [(r.row, r.cells) for r in table.rows] == [(2, hf.CONTACT)]


def test_a_far_away_value_inside_the_header_width_is_a_row_of_its_own() -> None:
    sheet = sheet_xml([*hf.head_rows(), row(1_048_576, [inline("B1048576", "+79164445566")])])
    table = read_contacts(workbook(sheet), "book.xlsx")
    assert [(r.row, r.cells) for r in table.rows] == [
        (2, hf.CONTACT),
        (1_048_576, ("", "+79164445566")),
    ]


@pytest.mark.parametrize(
    ("data", "limits", "reason"),
    [
        (hf.rows_out_of_order(), Limits(), "row 2 comes after row 5"),
        (hf.repeated_row_numbers(), Limits(), "row 2 comes after row 2"),
        (hf.billion_laughs(), Limits(), "DOCTYPE"),
        (hf.many_sheets(30), Limits(max_parts=20), "the workbook has 34 parts; at most 20"),
        (hf.workbook(sheet_xml(hf.head_rows() * 1)), Limits(max_cells=3), "over 3 cells"),
        (
            hf.workbook(sheet_xml(hf.head_rows()), strings=[str(n) for n in range(50)]),
            Limits(max_shared_strings=40),
            "the shared strings table has over 40 entries",
        ),
        (
            hf.workbook(sheet_xml(hf.head_rows()), strings=["x" * 100] * 20),
            Limits(max_text=1000),
            "the shared strings hold over 1,000 characters",
        ),
        (
            hf.workbook(sheet_xml([*hf.head_rows(), row(3, [inline("A3", "x" * 900)])])),
            Limits(max_text=500),
            "the sheet holds over 500 characters of text",
        ),
        (
            hf.workbook(sheet_xml([row(1, [inline("A1", "ФИО"), inline("ALM1", "Телефон")])])),
            Limits(),
            "the header row has a cell in column 1,001; at most 1,000 columns are read",
        ),
        (
            hf.workbook(sheet_xml([row(1, [inline("A1", "ФИО"), number("ZZZZ1", 1)])])),
            Limits(),
            "'ZZZZ1' is not a cell address",
        ),
        (
            hf.workbook(sheet_xml([row(1, [shared("A1", 7)])]), strings=["ФИО"]),
            Limits(),
            "row 1 refers to shared string '7'; the table has 1",
        ),
        (
            hf.workbook(sheet_xml([row(1_048_577, [inline("A1048577", "ФИО")])])),
            Limits(),
            "past the last row",
        ),
        (
            hf.workbook(sheet_xml(hf.head_rows(), prolog="<!--" + "x" * 5_000_000 + "-->")),
            Limits(max_ratio=100_000),
            "over 4 MB of XML with no element in it",
        ),
        (
            hf.workbook(sheet_xml([*hf.head_rows(), "<x>" * 100 + "</x>" * 100])),
            Limits(),
            "nests deeper than 64 levels",
        ),
        (hf.workbook(b"<worksheet><sheetData><row>"), Limits(), "not well-formed XML"),
    ],
    ids=[
        "rows out of order",
        "repeated row",
        "billion laughs",
        "too many parts",
        "too many cells",
        "too many shared strings",
        "too much shared text",
        "too much text in cells",
        "header too wide",
        "not a cell address",
        "shared string out of range",
        "past the last row",
        "giant comment",
        "deep nesting",
        "truncated XML",
    ],
)
def test_a_hostile_workbook_is_refused_naming_the_limit(
    data: bytes, limits: Limits, reason: str
) -> None:
    assert reason in _refused(data, limits)


def test_a_shared_strings_table_declared_over_the_limit_is_refused_before_it_is_read() -> None:
    table = f'<sst xmlns="{hf.MAIN}" uniqueCount="5000000"><si><t>ФИО</t></si></sst>'
    data = hf.workbook(sheet_xml([row(1, [shared("A1", 0)])]), strings=table.encode())
    assert "the shared strings table has 5,000,000 entries; at most 2,000,000" in _refused(data)


def test_a_string_longer_than_a_cell_refuses_the_workbook() -> None:
    assert "longer than 32,767 characters" in _refused(hf.long_string(40_000))
    big_shared = hf.workbook(sheet_xml(hf.head_rows()), strings=["я" * 40_000])
    assert "a shared string is longer than 32,767" in _refused(big_shared)


def test_cells_without_references_take_the_next_position() -> None:
    table = read_contacts(hf.cells_without_references(), "book.xlsx")
    assert [(r.row, r.cells) for r in table.rows] == [
        (2, hf.CONTACT),
        (4, ("Петров Пётр", "+7 916 444-55-66")),
    ]
