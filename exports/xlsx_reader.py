"""The first worksheet of an .xlsx, streamed: rows and cells as the XML holds them, bounded.

A sheet's declared range says nothing about its content: one value in XFD1048576 declares
17 billion cells. So nothing here is sized by a range; every count is of what streamed by.
The limits (`SheetLimits`) come from `exports.contacts_import.Limits`.

1. Open the zip (the caller has counted its parts and checked its ratio), find the first
   sheet through `_rels/.rels`, the workbook and its relationships, and read the date
   system (1900 or 1904).
2. Read the shared strings (at most `max_shared_strings`, `max_text` characters in all,
   each at most `MAX_CELL`) and which cell formats are dates (openpyxl's
   `is_date_format`), streaming each part.
3. Stream the sheet's XML through expat (`xml.etree.ElementTree.XMLParser` with a target:
   no tree is built) in 64 KB chunks, and yield each row that has cells as
   `(row number, {column index: value})`: only cells present in the XML, no gaps filled.
   A row or cell without `r` takes the next position (valid OOXML). The first row with a
   value is the header row: it sets `width` (its last column with a value, plus one), and
   cells at or past `width` are dropped as they stream; in the header row itself a value
   past `max_columns` refuses the file. Values: text, float, bool, and datetime, time or
   timedelta for numbers in a date or duration format, as python-calamine gave them.
4. Refuse, with `SheetRefused` naming the limit: over `max_cells` `<c>` elements in all,
   over `max_text` characters kept from cells, rows out of order or repeated, a reference
   past XFD1048576, a string over `MAX_CELL`, nesting deeper than `MAX_DEPTH`, over
   `MAX_SILENT_BYTES` of XML with no element in it (expat buffers a whole tag or comment),
   and any DOCTYPE (no entity can be declared, so none expanded: no billion laughs, no XXE).

Memory is the shared strings and the text kept (each bounded by `max_text`), the rows the
caller keeps (at most `max_cells` values), one row and a 64 KB chunk: never proportional
to the declared range.
"""

from __future__ import annotations

import contextlib
import posixpath
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from xml.etree.ElementTree import ParseError, XMLParser
from zlib import error as ZlibError

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

MAX_CELL = 32_767  # Excel's limit for one cell; no workbook Excel saves holds more
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # XFD1048576, the last cell a sheet has
MAX_DEPTH = 64  # a sheet nests six deep; anything far deeper is not a workbook
MAX_SILENT_BYTES = 4 * 1024 * 1024  # XML with no element in it: one giant tag or comment
MAX_STYLES = 100_000  # Excel allows 64,000 cell formats
CHUNK = 64 * 1024
_DATE_IDS = frozenset((*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)))
_DURATION_IDS = frozenset((46,))
# What reading a damaged or unusual zip member raises (encrypted: RuntimeError; a bad
# offset: ValueError from a negative seek).
UNREADABLE = (
    zipfile.BadZipFile,
    ZlibError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
    struct.error,
)


class SheetRefused(Exception):
    """The workbook cannot be read safely; the message says which limit or fault, for a user."""


@dataclass(frozen=True)
class SheetLimits:
    """What one sheet may hold; see the module docstring for where each is counted."""

    max_cells: int = 5_000_000
    max_columns: int = 1_000
    max_shared_strings: int = 2_000_000
    max_text: int = 64 * 1024 * 1024
    max_parts: int = 10_000


def _local(tag: str, cache: dict[str, str] = {}) -> str:  # noqa: B006 (a deliberate cache)
    name = cache.get(tag)
    if name is None:
        name = cache[tag] = tag.rpartition("}")[2]
    return name


_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # Strict Open XML
)
_SHEET_TAGS = {
    f"{{{namespace}}}{name}": name
    for namespace in _NAMESPACES
    for name in ("c", "v", "t", "is", "rPh", "row", "si", "r")
}
_COLUMNS: dict[str, int] = {}


def column_index(letters: str, cache: dict[str, int] = _COLUMNS) -> int:
    """A column's letters as a 0-based index (A -> 0); -1 for anything that is not one."""
    index = cache.get(letters)
    if index is None:
        index = -1
        if 0 < len(letters) <= 3 and letters.isascii() and letters.isupper():
            index = 0
            for char in letters:
                index = index * 26 + ord(char) - 64
            index -= 1
        if index >= MAX_COLUMN:
            index = -1
        if len(cache) < 20_000:
            cache[letters] = index
    return index


def part_count(data: bytes) -> int | None:
    """Entries in the zip's central directory, read from its end record (None: not found)."""
    tail = data[-(65_536 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    total: int = struct.unpack_from("<H", tail, at + 10)[0]
    return total


class _Target:
    """Base of the expat targets: depth and DOCTYPE guards, a counter for the silence guard;
    text is ignored and an end tag only closes its level unless a target says otherwise."""

    __slots__ = ("depth", "starts")

    def __init__(self) -> None:
        self.depth = 0
        self.starts = 0

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise SheetRefused("the workbook's XML declares a DOCTYPE, which no workbook needs")

    def enter(self) -> None:
        self.depth += 1
        self.starts += 1
        if self.depth > MAX_DEPTH:
            raise SheetRefused(f"the workbook's XML nests deeper than {MAX_DEPTH} levels")

    def end(self, tag: str) -> None:
        self.depth -= 1

    def data(self, text: str) -> None:
        return None

    def close(self) -> None:
        return None


class _TextTarget(_Target):
    """A target that collects the text of one value (a cell, a shared string) in `parts` while
    `collecting`, refusing a value over Excel's limit for a cell."""

    __slots__ = ("collecting", "parts", "size")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.size = 0  # characters in the current value
        self.collecting = False

    def data(self, text: str) -> None:
        if self.collecting:
            self.size += len(text)
            if self.size > MAX_CELL:
                raise SheetRefused(
                    f"{self.holder()} longer than {MAX_CELL:,} characters, Excel's limit for a cell"
                )
            self.parts.append(text)

    def holder(self) -> str:
        """What holds the value being read, for the refusal ("a shared string is")."""
        raise NotImplementedError


def _chunks(stream: IO[bytes], target: _Target, part: str) -> Iterator[None]:
    """Push a part through expat chunk by chunk, pausing after each for the caller."""
    parser = XMLParser(target=target)
    silent, starts = 0, 0
    try:
        while chunk := stream.read(CHUNK):
            parser.feed(chunk)
            if target.starts == starts:
                silent += len(chunk)
                if silent > MAX_SILENT_BYTES:
                    raise SheetRefused(
                        f"{part} holds over {MAX_SILENT_BYTES // 1048576} MB of XML with no"
                        " element in it"
                    )
            else:
                silent, starts = 0, target.starts
            yield
        parser.close()
    except ParseError as exc:
        raise SheetRefused(f"{part} is not well-formed XML ({exc})") from exc
    except (LookupError, UnicodeError) as exc:  # an encoding expat does not know, or bad bytes
        raise SheetRefused(f"{part} is not XML in a known encoding ({exc})") from exc
    except UNREADABLE as exc:
        raise SheetRefused(f"{part} cannot be unpacked ({exc})") from exc
    finally:
        stream.close()


def _feed(archive: zipfile.ZipFile, part: str, target: _Target) -> None:
    """Read a whole part into its target (a target may end it early with _Stop)."""
    try:
        for _ in _chunks(_open(archive, part), target, part):
            pass
    except _Stop:
        pass


def _open(archive: zipfile.ZipFile, part: str) -> IO[bytes]:
    try:
        return archive.open(part)
    except UNREADABLE as exc:
        raise SheetRefused(f"{part} cannot be unpacked ({exc})") from exc


class _Stop(Exception):
    """Enough of a part has been read."""


class _Relationships(_Target):
    """Relationship targets by type (the last word of the type URI) and by id."""

    def __init__(self, wanted_id: str | None = None) -> None:
        super().__init__()
        self.wanted_id = wanted_id
        self.by_type: dict[str, str] = {}
        self.by_id: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.enter()
        if _local(tag) != "Relationship":
            return
        kind = attrib.get("Type", "").rpartition("/")[2]
        target = attrib.get("Target", "")
        self.by_type.setdefault(kind, target)
        if self.wanted_id is not None and attrib.get("Id") == self.wanted_id:
            self.by_id = target


class _Workbook(_Target):
    """The first sheet's relationship id and the date system."""

    def __init__(self) -> None:
        super().__init__()
        self.sheet_id: str | None = None
        self.date1904 = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.enter()
        name = _local(tag)
        if name == "workbookPr":
            self.date1904 = attrib.get("date1904", "").lower() in ("1", "true")
        elif name == "sheet":
            self.sheet_id = next((v for k, v in attrib.items() if _local(k) == "id"), None)
            raise _Stop


class _Styles(_Target):
    """For each cell format (`cellXfs`, in order): a date, a duration or neither."""

    def __init__(self) -> None:
        super().__init__()
        self.formats: dict[int, str] = {}
        self.kinds: list[str] = []  # "date", "duration" or ""
        self.in_cell_xfs = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.enter()
        name = _local(tag)
        if name == "numFmt":
            if len(self.formats) < MAX_STYLES:
                with contextlib.suppress(ValueError):
                    self.formats[int(attrib.get("numFmtId", ""))] = attrib.get("formatCode", "")
        elif name == "cellXfs":
            self.in_cell_xfs = True
        elif name == "xf" and self.in_cell_xfs:
            if len(self.kinds) >= MAX_STYLES:
                raise SheetRefused(f"the workbook has over {MAX_STYLES} cell formats")
            self.kinds.append(self._kind(attrib.get("numFmtId", "0")))

    def _kind(self, number: str) -> str:
        try:
            format_id = int(number)
        except ValueError:
            return ""
        code = self.formats.get(format_id) or BUILTIN_FORMATS.get(format_id)
        if code is None:
            return "date" if format_id in _DATE_IDS else ""
        if format_id in _DURATION_IDS or is_timedelta_format(code):
            return "duration"
        return "date" if is_date_format(code) else ""

    def end(self, tag: str) -> None:
        super().end(tag)
        if _local(tag) == "cellXfs":
            self.in_cell_xfs = False


class _SharedStrings(_TextTarget):
    """The shared strings table: rich-text runs joined, phonetic hints (rPh) left out."""

    def __init__(self, limits: SheetLimits) -> None:
        super().__init__()
        self.limits = limits
        self.strings: list[str] = []
        self.total = 0  # characters in the table
        self.phonetic = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.enter()
        name = _SHEET_TAGS.get(tag) or _local(tag)
        if name == "t" and not self.phonetic:
            self.collecting = True
        elif name == "si":
            self.parts, self.size = [], 0
        elif name == "sst":
            self._declared(attrib.get("uniqueCount"))
        elif name == "rPh":
            self.phonetic += 1

    def _declared(self, count: str | None) -> None:
        """Refuse at once a table that says it is over the limit (one that lies is counted)."""
        if count is not None and count.isdigit() and int(count) > self.limits.max_shared_strings:
            raise SheetRefused(
                f"the shared strings table has {int(count):,} entries; at most"
                f" {self.limits.max_shared_strings:,} are read"
            )

    def holder(self) -> str:
        return "a shared string is"

    def end(self, tag: str) -> None:
        self.depth -= 1
        name = _SHEET_TAGS.get(tag) or _local(tag)
        if name == "t":
            self.collecting = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "si":
            if len(self.strings) >= self.limits.max_shared_strings:
                raise SheetRefused(
                    f"the shared strings table has over {self.limits.max_shared_strings:,} entries"
                )
            self.total += self.size
            if self.total > self.limits.max_text:
                raise SheetRefused(
                    f"the shared strings hold over {self.limits.max_text:,} characters"
                )
            self.strings.append("".join(self.parts))
            self.parts = []


class _Sheet(_TextTarget):
    """Cells to rows as expat reports them; finished rows wait in `done` for the reader."""

    __slots__ = (
        "cell_style",
        "cell_type",
        "cells",
        "column",
        "done",
        "epoch",
        "inline",
        "kinds",
        "limits",
        "phonetic",
        "row",
        "row_number",
        "strings",
        "text",
        "width",
    )

    def __init__(
        self,
        limits: SheetLimits,
        strings: list[str],
        kinds: list[str],
        epoch: datetime,
    ) -> None:
        super().__init__()
        self.limits = limits
        self.strings = strings
        self.kinds = kinds
        self.epoch = epoch
        self.width: int | None = None  # the header row's: last column with a value, plus one
        self.done: list[tuple[int, dict[int, Any]]] = []
        self.row_number = 0
        self.row: dict[int, Any] | None = None
        self.column = -1
        self.cells = 0
        self.text = 0  # characters kept from cells that are not shared strings
        self.cell_type: str | None = None
        self.cell_style: str | None = None
        self.inline = False  # collecting: inside <v>, or a <t> of an inline string
        self.phonetic = 0

    # The hot path: called for every element of the sheet, so written for speed.
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        self.starts += 1
        if self.depth > MAX_DEPTH:
            raise SheetRefused(f"the workbook's XML nests deeper than {MAX_DEPTH} levels")
        name = _SHEET_TAGS.get(tag)
        if name == "c":
            self._start_cell(attrib)
        elif name == "v" or (name == "t" and self.inline and not self.phonetic):
            self.collecting = True
        elif name == "is":
            self.inline = True
        elif name == "rPh":
            self.phonetic += 1
        elif name == "row":
            self._start_row(attrib.get("r"))

    def _start_row(self, reference: str | None) -> None:
        number = self.row_number + 1
        if reference is not None:
            try:
                number = int(reference)
            except ValueError:
                raise SheetRefused(f"row {reference!r} is not a row number") from None
        if number <= self.row_number:
            raise SheetRefused(
                f"row {number} comes after row {self.row_number} in the sheet (rows out of"
                " order or repeated): open the file in Excel and save it again"
            )
        if number > MAX_ROW:
            raise SheetRefused(f"row {number} is past the last row a sheet has ({MAX_ROW:,})")
        self.row_number, self.row, self.column = number, {}, -1

    def _start_cell(self, attrib: dict[str, str]) -> None:
        self.cells += 1
        if self.cells > self.limits.max_cells:
            raise SheetRefused(f"the sheet has over {self.limits.max_cells:,} cells")
        if self.row is None:  # a cell outside any row: the XML is not a sheet
            raise SheetRefused("the sheet has a cell outside any row")
        reference = attrib.get("r")
        if reference is None:
            self.column += 1
        else:
            letters = reference.rstrip("0123456789")
            column = _COLUMNS.get(letters)
            self.column = column if column is not None else column_index(letters)
            if self.column < 0:
                raise SheetRefused(f"{reference[:20]!r} is not a cell address")
        self.cell_type = attrib.get("t")
        self.cell_style = attrib.get("s")
        self.parts, self.size = [], 0

    def holder(self) -> str:
        return f"row {self.row_number} has a cell"

    def end(self, tag: str) -> None:
        self.depth -= 1
        name = _SHEET_TAGS.get(tag)
        if name == "c":
            self._end_cell()
        elif name == "v" or name == "t":
            self.collecting = False
        elif name == "is":
            self.inline = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "row" and self.row is not None:
            row, self.row = self.row, None
            if not row:
                return
            if self.width is None:  # the first row with a value is the header row
                last = max((c for c, v in row.items() if not _blank(v)), default=-1)
                if last >= 0:
                    self.width = last + 1
            self.done.append((self.row_number, row))

    def _end_cell(self) -> None:
        column, row = self.column, self.row
        if row is None or not self.parts:
            return
        width = self.width
        if width is not None and column >= width:
            return  # past the header's last column: no header, no meaning
        value = self._value("".join(self.parts))
        if width is None and column >= self.limits.max_columns and not _blank(value):
            raise SheetRefused(
                f"the header row has a cell in column {column + 1:,}; at most"
                f" {self.limits.max_columns:,} columns are read"
            )
        if width is None and column >= self.limits.max_columns:
            return
        if self.cell_type != "s" and isinstance(value, str):  # shared ones are counted once
            self.text += len(value)
            if self.text > self.limits.max_text:
                raise SheetRefused(
                    f"the sheet holds over {self.limits.max_text:,} characters of text"
                )
        row[column] = value

    def _value(self, text: str) -> Any:
        kind = self.cell_type
        if kind == "s":
            try:
                return self.strings[int(text)]
            except (ValueError, IndexError):
                raise SheetRefused(
                    f"row {self.row_number} refers to shared string {text[:20]!r}; the table has"
                    f" {len(self.strings):,}"
                ) from None
        if kind in ("inlineStr", "str", "e"):
            return text
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(text.strip())
            except ValueError:
                return text
        try:
            number = float(text)
        except ValueError:
            return text
        return self._dated(number)

    def _dated(self, number: float) -> float | datetime | date | time | timedelta:
        style = self.cell_style
        if style is None or not self.kinds:
            return number
        try:
            kind = self.kinds[int(style)]
        except (ValueError, IndexError):
            return number
        if not kind:
            return number
        try:
            value = from_excel(number, self.epoch, timedelta=kind == "duration")
        except (ValueError, OverflowError):
            return number
        return value if value is not None else number


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class SheetReader:
    """Rows of the first sheet, streamed; `width` is the header row's, once it has passed."""

    def __init__(self, archive: zipfile.ZipFile, *, limits: SheetLimits = SheetLimits()) -> None:
        self.archive = archive
        names = set(archive.namelist())
        top = _Relationships()
        if "_rels/.rels" in names:
            _feed(archive, "_rels/.rels", top)
        workbook = _resolve("", top.by_type.get("officeDocument"))
        if workbook not in names:
            workbook = "xl/workbook.xml"
        if workbook not in names:
            raise SheetRefused("the file is a zip but not a workbook (no xl/workbook.xml)")
        book = _Workbook()
        _feed(archive, workbook, book)
        base = posixpath.dirname(workbook)
        rels = _Relationships(book.sheet_id)
        rels_part = posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels")
        if rels_part in names:
            _feed(archive, rels_part, rels)
        sheet = _resolve(base, rels.by_id)
        if sheet not in names:  # no relationship: the name every writer gives the first sheet
            sheet = posixpath.join(base, "worksheets/sheet1.xml")
        if sheet not in names:
            raise SheetRefused("the workbook has no worksheet")
        self.sheet_part = sheet
        strings = _SharedStrings(limits)
        shared = _resolve(base, rels.by_type.get("sharedStrings"))
        if shared in names:
            _feed(archive, shared, strings)
        styles = _Styles()
        styles_part = _resolve(base, rels.by_type.get("styles"))
        if styles_part in names:
            _feed(archive, styles_part, styles)
        epoch = CALENDAR_MAC_1904 if book.date1904 else CALENDAR_WINDOWS_1900
        self._sheet = _Sheet(limits, strings.strings, styles.kinds, epoch)

    @property
    def width(self) -> int | None:
        return self._sheet.width

    def __iter__(self) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {0-based column: value}) for each row with a cell, in file order."""
        sheet = self._sheet
        for _ in _chunks(_open(self.archive, self.sheet_part), sheet, "the sheet"):
            if sheet.done:
                done, sheet.done = sheet.done, []
                yield from done
        yield from sheet.done
        sheet.done = []


def _resolve(base: str, target: str | None) -> str:
    """A relationship target as a zip member name (absolute from the root, or relative)."""
    if not target:
        return ""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))
