"""Contacts spreadsheets out: contacts to .xlsx or .csv, and rejected import rows to .xlsx.

1. In the reader's language (`exports.contact_texts`): headers, the sheet's name, the
   contacts' source values, the rejected rows' reasons.
2. In the reader's zone: the creation time is a real date-time in that zone, the zone named
   in its header ("Создан (Europe/Moscow)"). In CSV dates are written as the locale's
   spreadsheet reads a date (31.12.2026 in Russian, 2026-12-31 in English).
3. What goes out comes back: the ID column, the company's ID (a shared company name is
   never guessed), phones as E.164, the source label, the time zone
   are all read by `exports.contacts_import`. A CSV phone reads as a phone, never a formula
   (`exports.safety.csv_phone`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from core.imports.dto import ContactExportRow, ContactTable
from exports._table import Column, add_table_sheet
from exports.contact_texts import reason, sheet, source_label
from exports.safety import csv_phone, csv_text

HEADERS = {
    "ru": (
        "ID",
        "ФИО",
        "Телефоны",
        "Компания",
        "ID компании",
        "Email",
        "Дата рождения",
        "Ответственный",
        "Теги",
        "Часовой пояс",
        "Источник",
        "Создан",
    ),
    "en": (
        "ID",
        "Name",
        "Phones",
        "Company",
        "Company ID",
        "Email",
        "Birthday",
        "Owner",
        "Tags",
        "Time zone",
        "Source",
        "Created",
    ),
}
DATE = {"ru": "DD.MM.YYYY", "en": "YYYY-MM-DD"}
PROBLEM = {"ru": ("Строка", "Ошибка"), "en": ("Row", "Problem")}


BIRTHDAY = 6
CREATED = 11  # the creation time's column: its header names the zone


def _headers(locale: str, zone: str) -> list[str]:
    headers = list(HEADERS.get(locale, HEADERS["en"]))
    headers[CREATED] = f"{headers[CREATED]} ({zone})"
    return headers


def _values(row: ContactExportRow, locale: str, zone: ZoneInfo) -> tuple[Any, ...]:
    return (
        row.id,
        row.name,
        "; ".join(row.phones),
        row.company,
        row.company_id,
        row.email,
        row.birthday,
        row.owner,
        ", ".join(row.tags),
        row.timezone,
        source_label(row.source, locale),
        row.created_at.astimezone(zone).replace(tzinfo=None, microsecond=0),
    )


def contacts_xlsx(
    rows: Sequence[ContactExportRow], *, locale: str = "ru", zone: str = "UTC"
) -> bytes:
    """Contacts as a workbook in the reader's language, times in `zone`; text is never a
    formula."""
    headers = _headers(locale, zone)
    tz = ZoneInfo(zone)
    date_format = DATE.get(locale, DATE["en"])
    kinds = ["int", *["text"] * 3, "int", "text", "date", *["text"] * 4, "datetime"]
    formats: list[str | None] = [None] * len(headers)
    formats[BIRTHDAY], formats[CREATED] = date_format, f"{date_format} HH:MM"
    columns = [
        Column(h, kind, fmt, width=10 if kind == "int" else None)
        for h, kind, fmt in zip(headers, kinds, formats, strict=True)
    ]
    wb = Workbook(write_only=True)
    wb.properties.title = headers[1]
    add_table_sheet(
        wb,
        title=sheet("contacts", locale),
        columns=columns,
        items=rows,
        convert=lambda row: _values(row, locale, tz),
    )
    return _save(wb)


def contacts_csv(
    rows: Iterable[ContactExportRow], *, locale: str = "ru", zone: str = "UTC"
) -> bytes:
    """Contacts as CSV: UTF-8 with BOM and `;` as Russian Excel opens it (`,` in English);
    dates as the locale's spreadsheet reads them, times in `zone`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if locale == "ru" else ",", lineterminator="\r\n")
    writer.writerow(_headers(locale, zone))
    tz = ZoneInfo(zone)
    day = "%d.%m.%Y" if locale == "ru" else "%Y-%m-%d"
    for row in rows:
        values = [_csv_value(v, day) for v in _values(row, locale, tz)]
        values[2] = csv_phone("; ".join(row.phones)) if row.phones else ""
        writer.writerow(values)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_value(value: Any, day: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, datetime):
        return value.strftime(f"{day} %H:%M")
    if isinstance(value, date):
        return value.strftime(day)
    return value


def rejected_workbook(
    table: ContactTable, rejected: Sequence[tuple[int, str]], *, locale: str = "ru"
) -> bytes:
    """The rejected rows (and the rows skipped as repeats of an earlier row) as they were in
    the file, with a column naming, in the reader's language, what was wrong where."""
    row_header, problem_header = PROBLEM.get(locale, PROBLEM["en"])
    by_number = {row.row: row for row in table.rows}
    width = len(table.headers)
    columns = [
        Column(row_header, "int", "0", width=8),
        Column(problem_header, width=60),
        *(Column(h or f"#{i + 1}") for i, h in enumerate(table.headers)),
    ]

    def values(item: tuple[int, str]) -> tuple[Any, ...]:
        number, problem = item
        cells = by_number[number].cells
        shown = reason(problem, locale)
        return (number, shown, *cells[:width], *[""] * (width - len(cells[:width])))

    wb = Workbook(write_only=True)
    title = sheet("rejected", locale)
    add_table_sheet(wb, title=title, columns=columns, items=rejected, convert=values)
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
