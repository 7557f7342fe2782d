"""Contacts spreadsheets out: contacts to .xlsx or .csv, and rejected import rows to .xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

from core.imports.dto import ContactExportRow, ContactTable
from exports._table import Column, add_table_sheet
from exports.safety import csv_text

HEADERS = {
    "ru": (
        "ID",
        "ФИО",
        "Телефоны",
        "Компания",
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


def _values(row: ContactExportRow) -> tuple[Any, ...]:
    return (
        row.id,
        row.name,
        "; ".join(row.phones),
        row.company,
        row.email,
        row.birthday,
        row.owner,
        ", ".join(row.tags),
        row.timezone,
        row.source,
        row.created_at.replace(tzinfo=None),
    )


def contacts_xlsx(rows: Sequence[ContactExportRow], *, locale: str = "ru") -> bytes:
    """Contacts as a workbook (UTC creation times); text is never a formula."""
    headers = HEADERS.get(locale, HEADERS["en"])
    date_format = DATE.get(locale, DATE["en"])
    kinds = ["int", *["text"] * 4, "date", *["text"] * 4, "datetime"]
    formats: list[str | None] = [None] * len(headers)
    formats[5], formats[10] = date_format, f"{date_format} HH:MM"
    columns = [
        Column(h, kind, fmt, width=8 if kind == "int" else None)
        for h, kind, fmt in zip(headers, kinds, formats, strict=True)
    ]
    wb = Workbook(write_only=True)
    wb.properties.title = headers[1]
    add_table_sheet(wb, title="Contacts", columns=columns, items=rows, convert=_values)
    return _save(wb)


def contacts_csv(rows: Iterable[ContactExportRow], *, locale: str = "ru") -> bytes:
    """Contacts as CSV: UTF-8 with BOM and `;` as Russian Excel opens it (`,` in English)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if locale == "ru" else ",", lineterminator="\r\n")
    writer.writerow(HEADERS.get(locale, HEADERS["en"]))
    for row in rows:
        writer.writerow([_csv_value(v) for v in _values(row)])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, date | datetime):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def rejected_workbook(
    table: ContactTable, rejected: Sequence[tuple[int, str]], *, locale: str = "ru"
) -> bytes:
    """The rejected rows as they were in the file, with a column naming what was wrong where."""
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
        return (number, problem, *cells[:width], *[""] * (width - len(cells[:width])))

    wb = Workbook(write_only=True)
    add_table_sheet(wb, title="Rejected", columns=columns, items=rejected, convert=values)
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
