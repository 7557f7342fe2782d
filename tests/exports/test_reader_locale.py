"""Exports in the reader's language and zone; CSV phones that read as phones, never formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.imports.dto import ContactExportRow, ContactTable
from exports.contact_texts import reason, source_code
from exports.contacts_export import contacts_csv, contacts_xlsx, rejected_workbook
from exports.contacts_import import read_contacts
from exports.safety import csv_phone
from tests.helpers_libreoffice import convert, needs_libreoffice


def _local(*parts: int) -> datetime:
    """A wall-clock time as a spreadsheet holds it: no zone (the header names it)."""
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)


ROWS = [
    ContactExportRow(
        id=7,
        name="=1+1",
        phones=("+79160380484", "+74950000001 ext. 12"),
        company="+1+1",
        email="",
        birthday=date(1990, 2, 1),
        owner="",
        tags=(),
        timezone="Europe/Moscow",
        source="bot",
        created_at=datetime(2026, 12, 7, 6, 38, 2, 123456, tzinfo=UTC),
    ),
    ContactExportRow(
        id=8,
        name="Пётр",
        phones=("+79160380485",),
        company="",
        email="",
        birthday=None,
        owner="",
        tags=(),
        timezone="",
        source="call",
        created_at=datetime(2026, 12, 6, 22, 0, tzinfo=UTC),
    ),
]


def test_xlsx_names_its_sheet_zone_and_sources_in_the_readers_language() -> None:
    ru = load_workbook(io.BytesIO(contacts_xlsx(ROWS, locale="ru", zone="Europe/Moscow")))
    sheet = ru.worksheets[0]
    assert sheet.title == "Контакты"
    header = [c.value for c in sheet[1]]
    assert header[-2:] == ["Источник", "Создан (Europe/Moscow)"]
    first = [c.value for c in sheet[2]]
    assert first[-2:] == ["бот", _local(2026, 12, 7, 9, 38, 2)]  # Moscow, no microseconds
    assert sheet.cell(2, 12).number_format == "DD.MM.YYYY HH:MM"
    en = load_workbook(io.BytesIO(contacts_xlsx(ROWS, locale="en", zone="Asia/Omsk"))).active
    assert en is not None and en.title == "Contacts"
    assert [c.value for c in en[1]][-1] == "Created (Asia/Omsk)"
    assert [c.value for c in en[3]][-2:] == ["call", _local(2026, 12, 7, 4, 0)]


def test_csv_dates_are_the_locales_and_phones_are_marked_text_not_quoted() -> None:
    rows = list(
        csv.reader(
            io.StringIO(contacts_csv(ROWS, zone="Europe/Moscow").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows[1] == [
        "7",
        "'=1+1",  # text that could be a formula keeps the apostrophe
        "\u2060+79160380484; +74950000001 ext. 12",
        "'+1+1",
        "",
        "",
        "01.02.1990",
        "",
        "",
        "Europe/Moscow",
        "бот",
        "07.12.2026 09:38",
    ]
    table = read_contacts(contacts_csv(ROWS, zone="Europe/Moscow"), "c.csv")
    assert table.ignored == []
    assert table.rows[0].phones[0][0] == "+79160380484"
    assert (table.rows[0].id, table.rows[0].source, table.rows[1].source) == (7, "bot", "call")


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("+79160380484", "\u2060+79160380484"),
        ("+79160380484; +74950000001 ext. 5", "\u2060+79160380484; +74950000001 ext. 5"),
        ("+1+1", "'+1+1"),
        ("+7 916 038-04-84", "'+7 916 038-04-84"),  # Excel would take it for a formula
        ('+HYPERLINK("http://evil")', '\'+HYPERLINK("http://evil")'),
        ("+79160380484;cmd|' /C calc'!A0", "'+79160380484;cmd|' /C calc'!A0"),
        ("-79160380484", "'-79160380484"),
    ],
)
def test_only_plain_phone_numbers_escape_the_apostrophe(text: str, cell: str) -> None:
    assert csv_phone(text) == cell


def test_sources_read_back_from_either_language_and_reasons_are_translated() -> None:
    assert [source_code(s) for s in ("бот", "Звонок", "by hand", "api", "x")] == [
        "bot",
        "call",
        "manual",
        "api",
        "x",
    ]
    assert reason("no name and no phone", "ru") == "нет ни имени, ни телефона"
    assert reason("D6 (Email): 'x' is not an email address; no contact with ID 3", "ru") == (
        "D6 (Email): 'x' — не адрес электронной почты; нет контакта с ID 3"
    )
    assert reason("something new", "ru") == "something new"
    assert reason("no name and no phone", "en") == "no name and no phone"


def test_the_rejected_workbook_is_in_the_readers_language() -> None:
    table = read_contacts("ФИО;Телефон\r\n;\u00a0x\r\n".encode(), "c.csv")
    assert isinstance(table, ContactTable)
    body = rejected_workbook(table, [(2, "no name and no phone")], locale="ru")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None and sheet.title == "Отклонённые"
    assert sheet.cell(2, 2).value == "нет ни имени, ни телефона"


@needs_libreoffice
def test_libreoffice_ru_opens_csv_phones_as_phones_dates_as_dates_and_runs_no_formula(
    tmp_path: Path,
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_bytes(contacts_csv(ROWS, locale="ru", zone="Europe/Moscow"))
    # The CSV filter as a Russian user opens it: `;`, `"`, UTF-8, from row 1, ru-RU.
    converted = convert(source, "xlsx", timeout=120, infilter="CSV:59,34,76,1,,1049")
    sheet = load_workbook(converted).active
    assert sheet is not None
    name, phones, company = (sheet.cell(2, i) for i in (2, 3, 4))
    assert (phones.data_type, phones.value) == ("s", "\u2060+79160380484; +74950000001 ext. 12")
    assert (sheet.cell(3, 3).data_type, sheet.cell(3, 3).value) == ("s", "\u2060+79160380485")
    assert name.data_type == "s" and company.data_type == "s"  # no formula ran
    assert sheet.cell(2, 7).value == _local(1990, 2, 1)  # real dates, not text
    assert sheet.cell(2, 12).value == _local(2026, 12, 7, 9, 38)
