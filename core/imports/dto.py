"""Rows read from a contacts spreadsheet, and rows written to one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# What a column can mean; several phone columns may exist, the rest are taken once.
FIELDS = (
    "id",
    "name",
    "first_name",
    "last_name",
    "middle_name",
    "phone",
    "company",
    "company_id",
    "email",
    "birthday",
    "owner",
    "tags",
    "comment",
    "timezone",
    "source",
)


# Where a contact came from (Contact.source); an export writes them localised, an import
# reads the code or its label back.
SOURCES = ("manual", "call", "missed_call", "bot", "api", "import")


@dataclass(slots=True, frozen=True)
class CellError:
    """What is wrong, and where: `cell` is the spreadsheet address (C5), `column` its header."""

    cell: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.cell} ({self.column}): {self.message}" if self.cell else self.message


@dataclass(slots=True)
class ContactRow:
    """One data row: the parsed fields, the original cells (for the rejected rows' workbook)."""

    row: int  # 1-based, as the spreadsheet numbers it
    cells: tuple[str, ...]
    name: str = ""
    phones: list[tuple[str, int]] = field(default_factory=list)  # (raw number, column index)
    company: str = ""
    email: str = ""
    birthday: date | None = None
    owner: str = ""
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    id: int | None = None  # the contact's ID, as an export writes it: matched first
    timezone: str = ""
    source: str = ""
    company_id: int | None = None  # the company's ID, as an export writes it: matched first
    errors: list[CellError] = field(default_factory=list)


@dataclass(slots=True)
class ContactTable:
    """A read file: its headers, which column means what, and the rows."""

    headers: list[str]
    columns: dict[str, list[int]]  # field -> 0-based column indexes
    rows: list[ContactRow]
    ignored: list[str] = field(default_factory=list)  # headers that mean nothing to us

    def error(self, field_name: str, row: int, message: str, index: int | None = None) -> CellError:
        """An error naming the cell of a field (or the given column) in a row."""
        column = index if index is not None else self.columns.get(field_name, [-1])[0]
        if column < 0:
            return CellError("", field_name, message)
        return CellError(f"{column_letter(column)}{row}", self.headers[column], message)


def column_letter(index: int) -> str:
    """A 0-based column index as the spreadsheet names it: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(slots=True, frozen=True)
class ContactExportRow:
    id: int
    name: str
    phones: tuple[str, ...]
    company: str
    email: str
    birthday: date | None
    owner: str
    tags: tuple[str, ...]
    timezone: str
    source: str
    created_at: datetime
    company_id: int | None = None
