"""A streamed sheet of typed columns: header, widths, frozen header, autofilter, formats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from exports.safety import text_cell, xlsx_text

DURATION = "[h]:mm:ss"
# Every styled cell names the workbook's font: a Font without a name is drawn by LibreOffice
# in its own default (a wider serif), which turned totals and changes into "###".
FONT_NAME = "Calibri"


def font(*, size: float = 11, **style: object) -> Font:
    """A cell font in the workbook's typeface (bold, italic, color, underline as keywords)."""
    return Font(name=FONT_NAME, size=size, **style)


INTEGER = "0"
SHARE = "0%"
DATETIME = {"ru": "DD.MM.YYYY HH:MM", "en": "YYYY-MM-DD HH:MM"}
SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UZS": "сўм", "CNY": "¥"}
HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
RED_FILL = PatternFill("solid", start_color="F8CBAD", end_color="F8CBAD")
ORANGE_FILL = PatternFill("solid", start_color="FFE699", end_color="FFE699")
SAMPLE_ROWS = 500
T = TypeVar("T")
MIN_WIDTH, MAX_WIDTH = 8.0, 60.0


def money_format(currency: str, *, signed: bool = False) -> str:
    """Excel's number format for an amount in this currency (symbol after the number)."""
    symbol = SYMBOLS.get(currency, currency).replace('"', "")
    body = f'#,##0.00\\ "{symbol}"'
    return f"+{body};-{body};0" if signed else body


LINE_HEIGHT = 15.0  # points: one line of the default 11-pt font, Excel's default row height
BOLD_WIDER = 1.1  # a bold header character is about this much wider than a digit


def print_setup(ws: WriteOnlyWorksheet, *, title_rows: str | None = None) -> None:
    """Printed on A4 landscape, one page wide and as many long as it takes, with the header
    row on every page (by default a sheet of twenty columns prints as strips of four).
    Call it before the first row: a streamed sheet writes its properties with that row."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows is not None:
        ws.print_title_rows = title_rows


def wrapped_lines(text: str, width: float) -> int:
    """How many lines a wrapped header takes in a column this wide (whole words per line)."""
    capacity = max(width - 1, 1.0) / BOLD_WIDER
    lines, used = 1, 0.0
    for word in text.split():
        if used and used + 1 + len(word) > capacity:
            lines, used = lines + 1, float(len(word))
        else:
            used = used + 1 + len(word) if used else float(len(word))
        while used > capacity:  # a word longer than the column breaks inside itself
            lines, used = lines + 1, used - capacity
    return lines


def fit_header_height(
    ws: WriteOnlyWorksheet, row: int, texts: Sequence[str], widths: Sequence[float]
) -> None:
    """Give a header row the height its wrapped texts need. Excel grows such a row when it
    opens the file; LibreOffice keeps one line, and the lines overlap the row below."""
    lines = max((wrapped_lines(t, w) for t, w in zip(texts, widths, strict=True)), default=1)
    if lines > 1:
        ws.row_dimensions[row].height = LINE_HEIGHT * lines


def column_widths(ws: WriteOnlyWorksheet, count: int, first: int = 1) -> list[float]:
    """The widths set for `count` columns from `first` (Excel's default where none is set)."""
    widths = []
    for index in range(first, first + count):
        width = ws.column_dimensions[get_column_letter(index)].width
        widths.append(float(width) if width else 8.43)
    return widths


def header_cell(ws: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    """A bold header cell; its text may come from a user's file, so never a formula."""
    cell = text_cell(ws, text)
    cell.font = font(bold=True)
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


class StreamCell(Cell):  # type: ignore[misc]
    """A styled cell for write-only rows. openpyxl's append first tries each item as a value
    and formats the item into the ValueError it then catches: a cheap repr keeps a styled
    column from costing more than the XML it writes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<StreamCell>"


@dataclass(frozen=True)
class Column:
    """A column: header, kind (text, datetime, duration, int, money), fixed width or fitted."""

    header: str
    kind: str = "text"
    number_format: str | None = None
    width: float | None = None


class Converter:
    """Turns domain values into cell values: local naive datetimes, day fractions, safe text."""

    def __init__(self, tz: str) -> None:
        self.zone = ZoneInfo(tz)

    def local(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(self.zone).replace(tzinfo=None)

    @staticmethod
    def duration(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / 86400


def _display_length(value: Any, kind: str) -> int:
    if kind == "datetime":
        return 16
    if kind == "duration":
        return 9
    if isinstance(value, Decimal | int | float):
        return len(f"{value:,.2f}") + 2
    return len(str(value)) if value is not None else 0


def fit_widths(columns: Sequence[Column], sample: Iterable[Sequence[Any]]) -> list[float]:
    """Widths that fit the header and the first rows (a streamed sheet cannot look further)."""
    longest = [len(c.header) for c in columns]
    for row in sample:
        for index, (column, value) in enumerate(zip(columns, row, strict=False)):
            longest[index] = max(longest[index], _display_length(value, column.kind))
    return [
        c.width if c.width is not None else min(max(n * 1.1 + 2, MIN_WIDTH), MAX_WIDTH)
        for c, n in zip(columns, longest, strict=True)
    ]


def add_table_sheet(
    wb: Workbook,
    *,
    title: str,
    columns: Sequence[Column],
    items: Sequence[T],
    convert: Callable[[T], Sequence[Any]],
) -> WriteOnlyWorksheet:
    """A sheet with a header row, then one row per item, converted as it is written."""
    ws: WriteOnlyWorksheet = wb.create_sheet(title)
    sample = [convert(item) for item in items[:SAMPLE_ROWS]]
    widths = fit_widths(columns, sample)
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    print_setup(ws, title_rows="1:1")
    headers = [c.header for c in columns]
    fit_header_height(ws, 1, headers, widths)
    ws.append([header_cell(ws, text) for text in headers])
    write_rows(ws, columns, map(convert, items))
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(len(items), 1) + 1}"
    return ws


def write_rows(
    ws: WriteOnlyWorksheet, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> None:
    """Append rows; one styled cell per column is reused, since each row is written at once."""
    styled: list[StreamCell | None] = []
    for column in columns:
        if column.number_format is None:
            styled.append(None)
            continue
        cell = StreamCell(ws, row=1, column=1)
        cell.number_format = column.number_format
        styled.append(cell)
    text_columns = [c.kind == "text" for c in columns]
    for row in rows:
        ws.append(_row_cells(ws, row, styled, text_columns))


def _row_cells(
    ws: WriteOnlyWorksheet,
    row: Sequence[Any],
    styled: Sequence[StreamCell | None],
    text_columns: Sequence[bool],
) -> list[Any]:
    cells: list[Any] = []
    for value, cell, is_text in zip(row, styled, text_columns, strict=True):
        if value is None or value == "":
            cells.append(None)
        elif is_text:
            cells.append(xlsx_text(ws, str(value)))
        elif cell is not None:
            cell.value = value
            cells.append(cell)
        else:
            cells.append(value)
    return cells
