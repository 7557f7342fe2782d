"""Contacts files as people bring them: CSV in UTF-8 (BOM or not) or Windows-1251, .xlsx."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

HEADER_RU = [
    "ФИО",
    "Телефон",
    "Компания",
    "Email",
    "Дата рождения",
    "Ответственный",
    "Теги",
    "Комментарий",
]
ROWS_RU: list[list[Any]] = [
    [
        "Иванов Иван",
        "+7 916 111-22-33",
        "ООО Ромашка",
        "ivan@example.com",
        "01.02.1990",
        "Anna",
        "vip, опт",
        "звонить после обеда",
    ],
    ["Петров Пётр", "8 (916) 444-55-66; 8 916 777 88 99", "Ромашка", "", "1985-12-31", "", "", ""],
    ["Дубль Иванова", "89161112233", "", "", "", "", "", ""],  # repeats row 2's phone
    ["Сидорова Анна", "12345", "", "", "31.02.1990", "", "", ""],  # bad phone and bad date
    ["Кузнецов", "+79160000001", "", "not-an-email", "", "Nobody", "", ""],
]


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[Any]], *, delimiter: str, encoding: str
) -> bytes:
    lines = [delimiter.join(_quote(str(v), delimiter) for v in r) for r in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _quote(value: str, delimiter: str) -> str:
    if delimiter in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
