"""CSV as people bring it: a huge cell rejects its row only; Unicode with a BOM is read;
what is not text in an encoding we read is refused in one line."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from exports.contacts_export import rejected_workbook
from exports.contacts_import import NOT_TEXT, read_contacts
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes


def test_a_10_mb_cell_rejects_its_row_naming_the_cell_and_the_rest_is_read() -> None:
    big = "9" * (10 * 1024 * 1024)
    data = ("ФИО;Телефон\nИван;+79161112233\nПётр;" + big + "\nАнна;+79164445566\n").encode()
    table = read_contacts(data, "x.csv")
    assert [r.row for r in table.rows] == [2, 3, 4]
    first, huge, last = table.rows
    assert (first.errors, last.errors) == ([], [])
    assert last.phones == [("+79164445566", 1)]
    assert [str(e) for e in huge.errors] == [
        "B3 (Телефон): the cell holds 10,485,760 characters; at most 32,767"
    ]
    assert len(huge.cells[1]) == 32_767  # kept short for the rejected rows' workbook
    assert rejected_workbook(table, [(3, str(huge.errors[0]))])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_unicode_text_with_a_bom_as_excel_saves_it_is_read(encoding: str) -> None:
    # Excel's "Unicode text" is UTF-16 LE with a BOM, tab-separated.
    text = csv_bytes(HEADER_RU, ROWS_RU, delimiter="\t", encoding="utf-8").decode()
    data = ("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding)
    table = read_contacts(data, "clients.txt")
    assert table.headers == HEADER_RU
    assert [r.name for r in table.rows] == [r[0] for r in ROWS_RU]
    assert table.rows[1].company == "Ромашка"


@pytest.mark.parametrize(
    "data",
    [
        "ФИО\tТелефон\r\nИванов Иван\t+79161112233\r\n".encode("utf-16-le"),  # no BOM
        "Name,Phone\r\nIvan,+79161112233\r\n".encode("utf-16-be"),
        bytes(range(256)) * 64,  # binary
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(4000),
    ],
    ids=["utf-16-le without BOM", "utf-16-be without BOM", "binary", "png"],
)
def test_a_file_in_no_encoding_we_read_is_refused_in_one_line(data: bytes) -> None:
    with pytest.raises(InvalidInput) as err:
        read_contacts(data, "clients.csv")
    assert err.value.field == "file"
    assert err.value.message == NOT_TEXT
    assert "save it as UTF-8 or Windows-1251" in NOT_TEXT


def test_cp1251_and_koi8_still_read() -> None:
    for encoding in ("cp1251", "koi8_r"):
        data = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding=encoding)
        assert read_contacts(data, "x.csv").rows[0].name == "Иванов Иван", encoding


def test_columns_past_the_last_header_are_ignored() -> None:
    data = "ФИО;Телефон;;\nИван;+79161112233;лишнее;ещё\n".encode()
    table = read_contacts(data, "x.csv")
    assert table.headers == ["ФИО", "Телефон"]
    assert table.rows[0].cells == ("Иван", "+79161112233")


def test_a_header_row_wider_than_the_limit_is_refused() -> None:
    data = (";".join(["ФИО", *(f"c{i}" for i in range(1500))]) + "\nИван\n").encode()
    with pytest.raises(InvalidInput, match="the header row has 1,501 columns; at most 1,000"):
        read_contacts(data, "x.csv")


def test_a_comma_inside_a_quoted_header_does_not_make_comma_the_delimiter() -> None:
    data = 'ФИО;Телефон;"Имя, отчество"\n\nИван;+79161112233;"Иван, Петрович"\n'.encode()
    table = read_contacts(data, "x.csv")
    assert table.headers == ["ФИО", "Телефон", "Имя, отчество"]
    assert table.rows[0].cells == ("Иван", "+79161112233", "Иван, Петрович")
