"""Contacts spreadsheets in: .xlsx or .csv bytes -> a ContactTable of parsed rows.

1. Refuse what is not safe to open: over the size limit, a zip with more parts than the
   limit or whose content is out of proportion to its size (a zip bomb), a format we do
   not read.
2. .xlsx: stream the first sheet with `exports.xlsx_reader`, bounded by what the file holds
   (cells, rows, columns and text counted as they stream), never by its declared range.
3. CSV: UTF-8, or UTF-16/UTF-32 with a BOM (Excel's "Unicode text"), else the encoding
   charset-normalizer finds among those Russian files come in (Windows-1251 from Russian
   Excel); a file that is none of these (binary, UTF-16 without BOM) is refused in one
   line. `;`, tab or `,`: whichever splits the header row into the most fields.
4. The first row with a value is the header row; cells past its last header are ignored.
   Headers are recognised by their Russian or English names; several phone columns are fine.
   An export's own columns all come back: ID, time zone, source (its label in either
   language), owner, phones (the invisible mark a CSV export puts before them stripped);
   its creation time is read-only and not reported as an ignored column.
5. Parse each row; a bad cell (an unreadable date, a cell over 32,767 characters) is an
   error on its row, named by cell address, never on the file.

.xlsx is read with the streaming reader of `exports.xlsx_reader` (expat through
`xml.etree`, no tree): ~2.5 s of CPU for 100k rows of 7 columns, against 8 s for openpyxl
read-only. python-calamine (0.5 s) built the full grid of the declared range first, so one
value in XFD1048576 aborted the process; it is no longer used.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from charset_normalizer import from_bytes

from core.errors import InvalidInput
from core.imports.dto import ContactRow, ContactTable
from exports.contact_texts import source_code
from exports.safety import WORD_JOINER
from exports.xlsx_reader import (
    MAX_CELL,
    UNREADABLE,
    SheetLimits,
    SheetReader,
    SheetRefused,
    part_count,
)

CSV_ENCODINGS = ["utf_8", "cp1251", "koi8_r", "cp866", "mac_cyrillic"]
DETECT_SAMPLE = 256 * 1024
_WORD = re.compile(r"[^\w]+")
_PHONE_SPLIT = re.compile(r"[;,\n\r]+")
_TAG_SPLIT = re.compile(r"[;,]+")
# Bytes no text file holds (tab, LF, FF and CR aside): UTF-16 without a BOM, or binary.
_CONTROL = bytes([*range(0, 9), 11, *range(14, 32)])
NOT_TEXT = "the file is not text in an encoding we read: save it as UTF-8 or Windows-1251"
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16 LE, whose BOM it starts with
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class Limits:
    """What a file may be: bytes on disk, data rows, uncompressed-to-compressed ratio, and
    for a workbook: zip parts, `<c>` cells in the sheet, header columns, shared strings and
    their characters (see exports.xlsx_reader)."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 200_000
    max_ratio: int = 100
    max_uncompressed: int = 1024 * 1024 * 1024
    max_parts: int = 10_000
    max_cells: int = 5_000_000
    max_columns: int = 1_000
    max_shared_strings: int = 2_000_000
    max_text: int = 64 * 1024 * 1024

    def sheet(self) -> SheetLimits:
        """The limits the sheet reader applies."""
        return SheetLimits(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(SheetLimits)}
        )


# Header names people use, folded (lower case, ё -> е, punctuation and spaces removed).
HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "ид", "idконтакта", "contactid"),
    "company_id": ("idкомпании", "companyid", "идкомпании"),
    "timezone": ("часовойпояс", "timezone", "tz", "зона"),
    "source": ("источник", "source"),
    "name": (
        "фио",
        "имяфамилия",
        "фамилияимя",
        "фамилияимяотчество",
        "контакт",
        "клиент",
        "name",
        "fullname",
        "contact",
        "contactname",
        "client",
        "клиентфио",
    ),
    "first_name": ("имя", "firstname", "givenname"),
    "last_name": ("фамилия", "lastname", "surname", "familyname"),
    "middle_name": ("отчество", "middlename", "patronymic"),
    "company": (
        "компания",
        "организация",
        "фирма",
        "company",
        "organization",
        "organisation",
        "companyname",
        "названиекомпании",
    ),
    "email": ("email", "емейл", "почта", "электроннаяпочта", "элпочта", "mail", "emailaddress"),
    "birthday": (
        "датарождения",
        "деньрождения",
        "др",
        "birthday",
        "dateofbirth",
        "dob",
        "birthdate",
    ),
    "owner": ("ответственный", "менеджер", "owner", "responsible", "manager", "salesperson"),
    "tags": ("теги", "тэги", "метки", "tags", "labels"),
    "comment": (
        "комментарий",
        "примечание",
        "заметка",
        "комментарии",
        "comment",
        "comments",
        "note",
        "notes",
    ),
}
PHONE_PREFIXES = (
    "телефон",
    "тел",
    "мобильный",
    "моб",
    "сотовый",
    "phone",
    "mobile",
    "tel",
    "номертелефона",
    "рабочийтелефон",
)
_BY_NAME = {alias: name for name, aliases in HEADERS.items() for alias in aliases}


def fold(header: str) -> str:
    """A header as compared: lower case, ё as е, without spaces and punctuation."""
    return _WORD.sub("", header.casefold().replace("ё", "е")).replace("_", "")


# Columns an export writes that are not edited back (the creation time, its zone named).
READ_ONLY = ("создан", "created")


def field_of(header: str) -> str | None:
    """Which field a header names, or None."""
    folded = fold(header)
    if not folded:
        return None
    if folded in _BY_NAME:
        return _BY_NAME[folded]
    if folded.rstrip("0123456789").startswith(PHONE_PREFIXES):
        return "phone"
    return None


def read_contacts(data: bytes, filename: str, *, limits: Limits = Limits()) -> ContactTable:
    """Parse a contacts file; InvalidInput (field "file") says why a file is refused."""
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"the file is {len(data) / 1048576:.1f} MB; the limit is "
            f"{limits.max_bytes / 1048576:.0f} MB",
            field="file",
        )
    if not data.strip():
        raise InvalidInput("the file is empty", field="file")
    name = filename.casefold()
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data, limits)
    elif name.endswith((".csv", ".txt")) or not name.rpartition(".")[1]:
        rows = _csv_rows(data, limits)
    else:
        raise InvalidInput(f"{filename!r}: only .xlsx and .csv files can be imported", field="file")
    return _table(rows, limits)


def _xlsx_rows(data: bytes, limits: Limits) -> Iterable[tuple[int, Sequence[Any]]]:
    parts = part_count(data)
    if parts is not None and (parts == 0xFFFF or parts > limits.max_parts):
        raise InvalidInput(
            f"the workbook has {parts:,} parts; at most {limits.max_parts:,} are read",
            field="file",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except UNREADABLE as exc:
        raise InvalidInput("the file is not a readable .xlsx workbook", field="file") from exc
    if len(archive.infolist()) > limits.max_parts:  # a zip64 directory: counted only now
        raise InvalidInput(f"the workbook has over {limits.max_parts:,} parts", field="file")
    if unpacked > limits.max_uncompressed or unpacked > limits.max_ratio * len(data):
        raise InvalidInput(
            f"the workbook unpacks to {unpacked / 1048576:.0f} MB from "
            f"{len(data) / 1048576:.1f} MB: refused as a possible zip bomb",
            field="file",
        )
    try:
        reader = SheetReader(archive, limits=limits.sheet())
    except SheetRefused as exc:
        raise InvalidInput(f"the workbook cannot be read: {exc}", field="file") from exc
    return _dense(reader)


def _dense(reader: SheetReader) -> Iterator[tuple[int, list[Any]]]:
    """Each streamed row as a list up to its last cell (at most the header's width)."""
    try:
        for number, cells in reader:
            values: list[Any] = [None] * (max(cells) + 1)
            for column, value in cells.items():
                values[column] = value
            yield number, values
    except SheetRefused as exc:
        raise InvalidInput(f"the workbook cannot be read: {exc}", field="file") from exc


def decode(data: bytes) -> str:
    """CSV text: UTF-8, or Unicode with a BOM, else a Cyrillic 8-bit encoding; else refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    sample = data[:DETECT_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if controls > 2 and controls * 100 > len(sample):  # a stray NUL is a typo, 1% is not text
        raise InvalidInput(NOT_TEXT, field="file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample, cp_isolation=CSV_ENCODINGS).best()
    if best is None:
        raise InvalidInput(NOT_TEXT, field="file")
    return data.decode(best.encoding, errors="replace")


def _csv_rows(data: bytes, limits: Limits) -> Iterable[tuple[int, Sequence[Any]]]:
    text = decode(data).replace("\x00", "")
    delimiter = _delimiter(text[: 64 * 1024])
    # The default limit (128 KB) refuses the whole file at one long cell; a cell is never
    # longer than the file, and one over MAX_CELL is refused on its own row (_clip).
    if csv.field_size_limit() < limits.max_bytes:
        csv.field_size_limit(limits.max_bytes)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    return enumerate(rows, 1)


def _delimiter(head: str) -> str:
    """The delimiter that splits the header row into the most fields, quotes respected (`;`
    first on a tie, as Russian Excel writes). csv.Sniffer took a comma inside a quoted
    header for the delimiter of a `;` file."""
    best, most = ";", 0
    for candidate in (";", "\t", ","):
        try:
            records = csv.reader(io.StringIO(head), delimiter=candidate)
            fields = len(next((r for r in records if any(f.strip() for f in r)), []))
        except csv.Error:
            continue
        if fields > most:
            best, most = candidate, fields
    return best


def _table(rows: Iterable[tuple[int, Sequence[Any]]], limits: Limits) -> ContactTable:
    iterator = iter(rows)
    headers: list[str] = []
    try:
        for _, candidate in iterator:
            headers = [_text(v) for v in candidate]
            if any(headers):
                break
    except csv.Error as exc:
        raise InvalidInput(f"the header row cannot be read: {exc}", field="file") from exc
    while headers and not headers[-1]:
        headers.pop()
    if len(headers) > limits.max_columns:
        raise InvalidInput(
            f"the header row has {len(headers):,} columns; at most {limits.max_columns:,} are read",
            field="file",
        )
    table = _header_table(headers)
    width = len(headers)
    number = 1
    try:
        for number, values in iterator:
            row = values[:width]
            cells = tuple(_text(v) for v in row)
            if not any(cells):
                continue
            if len(table.rows) >= limits.max_rows:
                raise InvalidInput(
                    f"the file has more than {limits.max_rows} rows; split it", field="file"
                )
            if max(map(len, cells)) > MAX_CELL:
                table.rows.append(_clipped(table, number, cells))
            else:
                table.rows.append(_row(table, number, row, cells))
    except csv.Error as exc:
        raise InvalidInput(f"row {number + 1} cannot be read: {exc}", field="file") from exc
    return table


def _header_table(headers: list[str]) -> ContactTable:
    columns: dict[str, list[int]] = {}
    ignored = []
    for index, header in enumerate(headers):
        found = field_of(header)
        if found is None:
            if header and not fold(header).startswith(READ_ONLY):
                ignored.append(header)
            continue
        if found != "phone" and found in columns:
            ignored.append(header)  # a second column of the same meaning: the first one wins
            continue
        columns.setdefault(found, []).append(index)
    if "phone" not in columns and not {"name", "first_name", "last_name"} & columns.keys():
        shown = ", ".join(h for h in headers if h) or "none"
        raise InvalidInput(
            f"no column for a phone or a name; the headers are: {shown}", field="file"
        )
    return ContactTable(headers=headers, columns=columns, rows=[], ignored=ignored)


def _clipped(table: ContactTable, number: int, cells: tuple[str, ...]) -> ContactRow:
    """A row with a cell longer than a spreadsheet cell: refused on that cell, kept short."""
    errors = [
        table.error(
            "", number, f"the cell holds {len(c):,} characters; at most {MAX_CELL:,}", index
        )
        for index, c in enumerate(cells)
        if len(c) > MAX_CELL
    ]
    short = tuple(c[:MAX_CELL] for c in cells)
    row = _row(table, number, short, short)
    row.errors[:0] = errors
    return row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number: 79161234567.0
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != time() else f"{value:%Y-%m-%d}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip().lstrip(WORD_JOINER)  # the mark an export puts before phones


def _cell(values: Sequence[Any], cells: tuple[str, ...], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _row(
    table: ContactTable, number: int, values: Sequence[Any], cells: tuple[str, ...]
) -> ContactRow:
    columns = table.columns
    row = ContactRow(row=number, cells=cells)

    def one(field_name: str) -> str:
        indexes = columns.get(field_name)
        return _cell(values, cells, indexes[0]) if indexes else ""

    row.name = " ".join(one("name").split())
    if not row.name:
        parts = (one("last_name"), one("first_name"), one("middle_name"))
        row.name = " ".join(" ".join(p for p in parts if p).split())
    for index in columns.get("phone", []):
        for raw in split_phones(_cell(values, cells, index)):
            row.phones.append((raw, index))
    row.company = one("company")
    row.email = one("email")
    row.owner = one("owner")
    row.comment = one("comment")
    row.timezone = one("timezone")
    row.source = source_code(one("source")) if one("source") else ""
    if ident := one("id"):
        if ident.isdigit() and 0 < int(ident) < 2**63:
            row.id = int(ident)
        else:
            row.errors.append(table.error("id", number, f"{ident!r} is not a contact ID"))
    if firm := one("company_id"):
        if firm.isdigit() and 0 < int(firm) < 2**63:
            row.company_id = int(firm)
        else:
            row.errors.append(table.error("company_id", number, f"{firm!r} is not a company ID"))
    row.tags = [t.strip() for t in _TAG_SPLIT.split(one("tags")) if t.strip()]
    if "birthday" in columns:
        index = columns["birthday"][0]
        cell = values[index] if index < len(values) else None
        try:
            row.birthday = parse_date(cell)
        except ValueError as exc:
            row.errors.append(table.error("birthday", number, str(exc)))
    return row


def split_phones(text: str) -> list[str]:
    """Numbers written in one cell: split on `;`, `,` or new lines, or between long numbers."""
    found: list[str] = []
    for part in _PHONE_SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        chunks = part.split()
        digits = sum(c.isdigit() for c in part)
        if digits > 15 and all(sum(ch.isdigit() for ch in c) >= 10 for c in chunks):
            found.extend(chunks)  # "89161112233 89164445566"
        else:
            found.append(part)
    return found


_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y", "%d-%m-%Y", "%Y.%m.%d")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date | None:
    """A birthday from a cell: a date, an Excel day number or text as Russians and ISO write it."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value <= 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(f"{value!r} is not a date")
    text = str(value).strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
        if parsed.year < 1900 or parsed > date(2100, 1, 1):
            break
        return parsed
    raise ValueError(f"{text!r} is not a date (use DD.MM.YYYY)")
