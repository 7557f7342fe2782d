"""Reading contacts files: encodings, delimiters, headers, several phones, bad cells, limits."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from core.errors import InvalidInput
from exports.contacts_import import Limits, field_of, read_contacts, split_phones
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes, xlsx_bytes


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "cp1251"), (",", "cp1251"), (";", "utf-8-sig"), (",", "utf-8"), (";", "utf-8")],
)
def test_csv_in_each_encoding_and_delimiter_reads_the_same_rows(
    delimiter: str, encoding: str
) -> None:
    data = csv_bytes(HEADER_RU, ROWS_RU, delimiter=delimiter, encoding=encoding)
    table = read_contacts(data, "clients.csv")
    assert table.headers == HEADER_RU
    first, second = table.rows[0], table.rows[1]
    assert first.row == 2
    assert first.name == "Иванов Иван"
    assert first.phones == [("+7 916 111-22-33", 1)]
    assert (first.company, first.email, first.owner) == ("ООО Ромашка", "ivan@example.com", "Anna")
    assert first.birthday == date(1990, 2, 1)
    assert first.tags == ["vip", "опт"]
    assert first.comment == "звонить после обеда"
    assert [p for p, _ in second.phones] == ["8 (916) 444-55-66", "8 916 777 88 99"]
    assert second.name == "Петров Пётр"
    assert second.birthday == date(1985, 12, 31)


def test_xlsx_with_several_phone_columns_and_name_parts() -> None:
    header = ["Фамилия", "Имя", "Отчество", "Моб. телефон", "Телефон 2", "E-mail", "Лишнее"]
    rows = [["Иванов", "Иван", "Иванович", 79161112233, "+7 495 123-45-67", "a@b.ru", "x"]]
    table = read_contacts(xlsx_bytes(header, rows), "book.xlsx")
    (row,) = table.rows
    assert row.name == "Иванов Иван Иванович"
    assert row.phones == [("79161112233", 3), ("+7 495 123-45-67", 4)]
    assert row.email == "a@b.ru"
    assert table.ignored == ["Лишнее"]


def test_bad_date_is_an_error_naming_the_cell_not_the_file() -> None:
    table = read_contacts(xlsx_bytes(HEADER_RU, ROWS_RU), "book.xlsx")
    bad = table.rows[3]
    assert [str(e) for e in bad.errors] == [
        "E5 (Дата рождения): '31.02.1990' is not a date (use DD.MM.YYYY)"
    ]
    assert len(table.rows) == 5


def test_english_headers_are_recognised() -> None:
    for header, expected in [
        ("Full name", "name"),
        ("Phone", "phone"),
        ("Mobile phone", "phone"),
        ("Company", "company"),
        ("E-mail", "email"),
        ("Date of birth", "birthday"),
        ("Owner", "owner"),
        ("Tags", "tags"),
        ("Notes", "comment"),
        ("Дата рождения", "birthday"),
        ("Тел.", "phone"),
        ("Colour", None),
    ]:
        assert field_of(header) == expected, header


def test_numbers_in_one_cell_are_split() -> None:
    assert split_phones("89161112233 89164445566") == ["89161112233", "89164445566"]
    assert split_phones("+7 916 111-22-33,\n+7 916 444-55-66") == [
        "+7 916 111-22-33",
        "+7 916 444-55-66",
    ]
    assert split_phones("8 (916) 111 22 33") == ["8 (916) 111 22 33"]


def test_a_file_without_phone_or_name_columns_is_refused_naming_the_headers() -> None:
    data = csv_bytes(["Цвет", "Размер"], [["red", "XL"]], delimiter=";", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_contacts(data, "x.csv")
    assert err.value.message == "no column for a phone or a name; the headers are: Цвет, Размер"


def test_oversized_file_and_too_many_rows_are_refused() -> None:
    data = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="utf-8")
    with pytest.raises(InvalidInput, match="the limit is"):
        read_contacts(data, "x.csv", limits=Limits(max_bytes=100))
    with pytest.raises(InvalidInput, match="more than 3 rows"):
        read_contacts(data, "x.csv", limits=Limits(max_rows=3))


def test_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < 200_000
    with pytest.raises(InvalidInput, match="zip bomb"):
        read_contacts(data, "bomb.xlsx")


def test_other_formats_and_broken_workbooks_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match=r"only \.xlsx and \.csv"):
        read_contacts(b"\xd0\xcf\x11\xe0 old excel", "old.xls")
    with pytest.raises(InvalidInput, match=r"not a readable \.xlsx"):
        read_contacts(b"PK\x03\x04 broken", "broken.xlsx")
    with pytest.raises(InvalidInput, match="empty"):
        read_contacts(b"   ", "empty.csv")


def test_nul_bytes_in_a_csv_do_not_break_reading() -> None:
    data = "ФИО;Телефон\nИв\x00ан;+79161112233\n".encode()
    (row,) = read_contacts(data, "x.csv").rows
    assert row.name == "Иван"
