"""No cell we write from a user's text is a formula: headers and values, .xlsx and CSV.

The produced workbooks are checked in their XML: a live formula is an `<f>` element in a
sheet part, whatever a reader library would make of it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime

from core.imports.dto import ContactExportRow
from exports.contacts_export import contacts_csv, contacts_xlsx, rejected_workbook
from exports.contacts_import import read_contacts

EVIL = '=HYPERLINK("http://evil.example","x")'
HOSTILE_TEXTS = [EVIL, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def _sheets(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("xl/worksheets/")
        }


def _cell_xml(sheet: str, reference: str) -> str:
    found = re.search(rf'<c r="{reference}"[^>]*?(/>|>.*?</c>)', sheet)
    assert found is not None, reference
    return found.group(0)


def test_rejected_rows_workbook_writes_no_header_or_value_as_a_formula() -> None:
    header = ["ФИО", "Телефон", *HOSTILE_TEXTS]
    row = ["Иван", "123", *HOSTILE_TEXTS]
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL).writerows([header, row])
    table = read_contacts(out.getvalue().encode(), "x.csv")
    assert table.headers == [*header[:-2], "=1+1", "=1+1"]  # as the user wrote them, stripped
    assert table.rows[0].cells == ("Иван", "123", *table.headers[2:])
    data = rejected_workbook(table, [(2, "B2 (Телефон): '123' is not a phone")], locale="en")
    sheets = _sheets(data)
    assert sheets
    for xml in sheets.values():
        assert "<f>" not in xml
        assert "<f " not in xml
    sheet = next(iter(sheets.values()))
    # Columns: Row, Problem, then the file's columns: the evil header is E1, its value E2.
    for reference in ("E1", "E2"):
        cell = _cell_xml(sheet, reference)
        assert "HYPERLINK" in cell
        assert 't="inlineStr"' in cell or 't="s"' in cell


def test_contacts_workbook_and_csv_keep_formula_like_names_as_text() -> None:
    rows = [
        ContactExportRow(
            id=i,
            name=text,
            phones=("+79161112233",),
            company=text,
            email="",
            birthday=date(1990, 1, 1),
            owner=text,
            tags=(text,),
            timezone="Europe/Moscow",
            source="import",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i, text in enumerate(HOSTILE_TEXTS, 1)
    ]
    for xml in _sheets(contacts_xlsx(rows, locale="en")).values():
        assert "<f>" not in xml
        assert "HYPERLINK" in xml
    text = contacts_csv(rows, locale="en").decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text)))
    for record in records[1:]:
        for cell in (record[1], record[3], record[7], record[8]):
            assert cell.startswith("'"), cell
