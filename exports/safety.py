"""Formula-injection defence and limits shared by the spreadsheet codecs.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-`, `@` (and, via DDE tricks, a tab
or CR in front of those). Exports never let text become a formula: in .xlsx text is written as
a string cell with the quote prefix set; in .csv it is prefixed with an apostrophe (OWASP).
A CSV phone cell is the one exception to the apostrophe, because LibreOffice shows it
literally (`'+79160380484`) and Excel makes a bare `+79160380484` a number (79160380484):
a cell that is only phone numbers (`+` and digits, an optional ` ext. 12`, `; ` between
numbers: `PHONES`) gets an invisible WORD JOINER (U+2060) in front instead. The cell then
starts with a character no spreadsheet evaluates, so it is text that reads `+79160380484`,
and holding no letters, references or operators but the leading `+`, it could compute
nothing even if it were evaluated. The import strips it (`exports.contacts_import`).
Every cell written from user input goes through here: values (`xlsx_text`, `csv_text`) and
headers (`text_cell`, through `exports._table.header_cell`), on every sheet.
"""

from __future__ import annotations

import re

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 forbids; openpyxl refuses them, a database text may hold them.
_STARTS = frozenset(FORMULA_STARTS)
MAX_CELL = 32_767  # Excel refuses to open a workbook with a longer cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could take this text for a formula."""
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: an apostrophe in front of anything that could start a formula."""
    return "'" + text if looks_like_formula(text) else text


WORD_JOINER = "\u2060"
PHONES = re.compile(r"\+\d{1,15}( ext\. \d{1,10})?(; \+\d{1,15}( ext\. \d{1,10})?)*")


def csv_phone(text: str) -> str:
    """A CSV cell of phone numbers: read as the numbers in Excel and LibreOffice, never a
    formula (see the module docstring); anything else is treated as `csv_text`."""
    return WORD_JOINER + text if PHONES.fullmatch(text) else csv_text(text)


def clean(text: str) -> str:
    """Text an .xlsx cell can hold: no XML-illegal control characters, at most 32,767 chars."""
    return _ILLEGAL.sub("", text)[:MAX_CELL]


def xlsx_text(ws: WriteOnlyWorksheet, text: str) -> str | WriteOnlyCell:
    """A value for a write-only row: plain text, or a string cell that can never be a formula."""
    if text.isprintable() and len(text) <= MAX_CELL and text[:1] not in _STARTS:
        return text  # the common case, checked in C
    text = clean(text)
    if not looks_like_formula(text):
        return text
    return text_cell(ws, text)


def text_cell(ws: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    """A cell (to style further: a header) holding text that can never become a formula."""
    text = clean(text)
    cell = WriteOnlyCell(ws, value=text)
    if looks_like_formula(text):
        cell.data_type = "s"  # openpyxl makes "=…" a formula; this keeps it a string
        cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return cell
