"""The digest's detail sheets: Calls, Missed calls, Activities (Pipeline: digest_pipeline.py).

Each opens with what it covers (the period, the time zone, "as of" and what its words mean),
then its table with a frozen, filterable header and a bold totals row under the last row.
Only rows that call for action are coloured.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import Any, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import ColorScaleRule, FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.page import PageMargins

from core.reports.dto import (
    CallRow,
    Digest,
    MissedCallRow,
    OverdueActivityRow,
    StaleDeal,
)
from exports._table import (
    DURATION,
    INTEGER,
    ORANGE_FILL,
    RED_FILL,
    SAMPLE_ROWS,
    Column,
    Converter,
    fit_header_height,
    fit_widths,
    font,
    header_cell,
    print_setup,
    write_rows,
)
from exports.safety import xlsx_text

T = TypeVar("T")
BOLD = font(bold=True)


@dataclass(frozen=True)
class Sheet:
    """What every sheet of one digest shares: its labels, the zone and the heading lines."""

    t: dict[str, str]
    convert: Converter
    date_format: str
    heading: tuple[str, str]  # "<period>", "<zone> · as of … · generated …"


def bold(ws: WriteOnlyWorksheet, value: Any, number_format: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = BOLD
    if number_format:
        cell.number_format = number_format
    return cell


def one_page_portrait(ws: WriteOnlyWorksheet, *, one_page: bool = True) -> None:
    """A4 portrait, one page wide (and tall unless `one_page` is false), narrow margins.
    Call it before the first row, as print_setup."""
    print_setup(ws)
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def heading(ws: WriteOnlyWorksheet, title: str, sheet: Sheet, note: str) -> int:
    """The three lines over a table; returns the header row's number."""
    ws.append([bold(ws, f"{title} · {sheet.heading[0]}")])
    ws.append([sheet.heading[1]])
    ws.append([note])
    return 4


def table_sheet(
    wb: Workbook,
    sheet: Sheet,
    *,
    title: str,
    note: str,
    columns: Sequence[Column],
    items: Sequence[T],
    convert: Callable[[T], Sequence[Any]],
    totals: Sequence[Any],
    fills: Sequence[tuple[str, PatternFill]] = (),
    ws: WriteOnlyWorksheet | None = None,
) -> WriteOnlyWorksheet:
    """A table under its heading: one row per item, converted as it is written, then totals;
    `fills` colour the rows whose formula (on the first data row) holds. `ws`: the sheet, when
    the converter needs it first (for cells of its own)."""
    ws = ws if ws is not None else wb.create_sheet(title)
    widths = fit_widths(columns, [convert(item) for item in items[:SAMPLE_ROWS]])
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    header = 4
    ws.freeze_panes = f"A{header + 1}"
    print_setup(ws, title_rows=f"{header}:{header}")
    heading(ws, title, sheet, note)
    headers = [c.header for c in columns]
    fit_header_height(ws, header, headers, widths)
    ws.append([header_cell(ws, text) for text in headers])
    write_rows(ws, columns, map(convert, items))
    last_column = get_column_letter(len(columns))
    last = header + len(items)
    ws.append(
        [
            None if value is None else bold(ws, value, column.number_format)
            for value, column in zip(totals, columns, strict=True)
        ]
    )
    ws.auto_filter.ref = f"A{header}:{last_column}{max(last, header + 1)}"
    if items:
        for formula, fill in fills:
            ws.conditional_formatting.add(
                f"A{header + 1}:{last_column}{last}", FormulaRule(formula=[formula], fill=fill)
            )
    return ws


def _quoted(text: str) -> str:
    return text.replace('"', '""')


LINK_FONT = font(color="0563C1", underline="single")


def recording(ws: WriteOnlyWorksheet, reference: str, label: str) -> Any:
    """A link to a call's recording when the PBX gave a web address, else its reference."""
    if reference.startswith(("https://", "http://")) and len(reference) <= 2000:
        cell = WriteOnlyCell(ws, value=label)
        cell.hyperlink = reference
        cell.font = LINK_FONT
        return cell
    return xlsx_text(ws, reference)


def call_result(direction: str, status: str) -> str:
    """answered, missed (inbound not answered), not_reached (outbound) or ringing."""
    if status == "answered":
        return "answered"
    if status == "ringing":
        return "ringing"
    return "missed" if direction == "in" else "not_reached"


def calls_sheet(wb: Workbook, rows: list[CallRow], sheet: Sheet) -> None:
    t, convert = sheet.t, sheet.convert
    columns = [
        Column(t["started_at"], "datetime", sheet.date_format),
        Column(t["direction"]),
        Column(t["result"]),
        Column(t["salesperson"]),
        Column(t["client_phone"]),
        Column(t["contact"]),
        Column(t["ring"], "duration", DURATION),
        Column(t["talk"], "duration", DURATION),
        Column(t["outcome"]),
        Column(t["summary"], width=40),
        Column(t["recording"], "link", width=14),
    ]
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.calls"])
    direction = {"in": t["dir.in"], "out": t["dir.out"]}
    listen = t["listen"]
    result = {code: t[f"res.{code}"] for code in ("answered", "missed", "not_reached", "ringing")}
    # One pass counts the kinds of call; each row then looks its result word up.
    kinds = Counter((call.direction, call.status) for call in rows)
    words = {kind: result[call_result(*kind)] for kind in kinds}

    def row(call: CallRow) -> tuple[Any, ...]:
        return (
            convert.local(call.started_at),
            direction.get(call.direction, call.direction),
            words[(call.direction, call.status)],
            call.salesperson,
            call.client_phone,
            call.contact,
            convert.duration(call.ring_seconds),
            convert.duration(call.talk_seconds),
            None if call.outcome is None else t.get(f"call.outcome.{call.outcome}", call.outcome),
            call.summary,
            None if call.recording is None else recording(ws, call.recording, listen),
        )

    counts = dict.fromkeys(result, 0)
    for kind, number in kinds.items():
        counts[call_result(*kind)] += number
    calls_in = sum(number for (way, _), number in kinds.items() if way == "in")
    totals = [
        f"{t['total']}: {len(rows)}",
        f"{t['dir.in']} {calls_in}, {t['dir.out']} {len(rows) - calls_in}",
        t["total.calls"].format(missed=counts["missed"], not_reached=counts["not_reached"]),
        None,
        None,
        None,
        None,
        convert.duration(sum(c.talk_seconds or 0 for c in rows)),
        None,
        None,
        None,
    ]
    table_sheet(
        wb,
        sheet,
        title=t["sheet.calls"],
        note=t["head.calls"],
        columns=columns,
        items=rows,
        convert=row,
        totals=totals,
        fills=[(f'$C5="{_quoted(result["missed"])}"', RED_FILL)],
        ws=ws,
    )


def missed_sheet(wb: Workbook, rows: list[MissedCallRow], sheet: Sheet, target: int) -> None:
    t, convert = sheet.t, sheet.convert
    columns = [
        Column(t["started_at"], "datetime", sheet.date_format),
        Column(t["salesperson"]),
        Column(t["client_phone"]),
        Column(t["contact"]),
        Column(t["result"]),
        Column(t["called_back_at"], "datetime", sheet.date_format),
        Column(t["callback_time"], "duration", DURATION),
        Column(t["client_called_at"], "datetime", sheet.date_format),
    ]
    outcome = {code: t[f"cb.{code}"] for code in ("in_target", "later", "client", "never")}

    def row(missed: MissedCallRow) -> tuple[Any, ...]:
        return (
            convert.local(missed.started_at),
            missed.salesperson,
            missed.client_phone,
            missed.contact,
            outcome.get(missed.result, missed.result),
            convert.local(missed.called_back_at),
            convert.duration(missed.callback_seconds),
            convert.local(missed.client_called_at),
        )

    counts = Counter(r.result for r in rows)
    seconds = [r.callback_seconds for r in rows if r.callback_seconds is not None]
    totals = [
        f"{t['total']}: {len(rows)}",
        None,
        None,
        None,
        t["total.missed"].format(
            in_target=counts["in_target"],
            later=counts["later"],
            client=counts["client"],
            never=counts["never"],
        ),
        None,
        convert.duration(median(seconds)) if seconds else None,
        None,
    ]
    table_sheet(
        wb,
        sheet,
        title=t["sheet.missed"],
        note=t["head.missed"].format(target=target),
        columns=columns,
        items=rows,
        convert=row,
        totals=totals,
        fills=[
            (f'$E5="{_quoted(outcome["never"])}"', RED_FILL),
            (f'$E5="{_quoted(outcome["later"])}"', ORANGE_FILL),
        ],
    )


def activities_sheet(wb: Workbook, rows: list[OverdueActivityRow], sheet: Sheet) -> None:
    t, convert = sheet.t, sheet.convert
    columns = [
        Column(t["due_at"], "datetime", sheet.date_format),
        Column(t["owner"]),
        Column(t["kind"]),
        Column(t["activity"], width=40),
        Column(t["contact"]),
        Column(t["state"]),
        Column(t["done_at"], "datetime", sheet.date_format),
        Column(t["late_by"], "duration", DURATION),
    ]
    overdue, late = t["state.overdue"], t["state.done_late"]

    def row(item: OverdueActivityRow) -> tuple[Any, ...]:
        return (
            convert.local(item.due_at),
            item.owner,
            t.get(f"kind.{item.kind}", item.kind),
            item.title,
            item.contact,
            overdue if item.done_at is None else late,
            convert.local(item.done_at),
            convert.duration(item.late_seconds),
        )

    open_count = sum(1 for r in rows if r.done_at is None)
    totals = [
        f"{t['total']}: {len(rows)}",
        None,
        None,
        None,
        None,
        t["total.overdue"].format(overdue=open_count, late=len(rows) - open_count),
        None,
        None,
    ]
    table_sheet(
        wb,
        sheet,
        title=t["sheet.overdue"],
        note=t["head.overdue"],
        columns=columns,
        items=rows,
        convert=row,
        totals=totals,
        fills=[(f'$F5="{_quoted(overdue)}"', RED_FILL)],
    )


def formatted(ws: WriteOnlyWorksheet, value: Any, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def missed_by_hour_sheet(wb: Workbook, rows: list[MissedCallRow], sheet: Sheet) -> None:
    """Missed calls by local hour of day and weekday, the busiest cells the reddest."""
    t, convert = sheet.t, sheet.convert
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.by_hour"])
    days = t["weekdays"].split()
    ws.column_dimensions["A"].width = 10
    for index in range(2, 10):
        ws.column_dimensions[get_column_letter(index)].width = 8
    one_page_portrait(ws)
    header = heading(ws, t["sheet.by_hour"], sheet, t["head.by_hour"])
    grid = [[0] * 7 for _ in range(24)]
    for missed in rows:
        local = convert.local(missed.started_at)
        if local is not None:
            grid[local.hour][local.weekday()] += 1
    ws.append([header_cell(ws, text) for text in (t["hour"], *days, t["total"])])
    for hour, counts in enumerate(grid):
        ws.append([f"{hour:02d}:00", *counts, bold(ws, sum(counts))])
    ws.append(
        [bold(ws, t["total"])]
        + [bold(ws, sum(counts[day] for counts in grid)) for day in range(7)]
        + [bold(ws, len(rows))]
    )
    ws.conditional_formatting.add(
        f"B{header + 1}:H{header + 24}",
        ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="F8696B"),
    )


def stale_sheet(wb: Workbook, digest: Digest, sheet: Sheet) -> None:
    """Deals open at the end with no touch for a while and nothing planned, largest first."""
    t, convert = sheet.t, sheet.convert
    rows = digest.stale_deals
    as_of = digest.as_of or digest.end
    columns = [
        Column(t["deal"], width=40),
        Column(t["owner"]),
        Column(t["stage"]),
        Column(t["amount"], "money", "#,##0.00", width=16),
        Column(t["currency"], width=9),
        Column(t["last_touch"], "datetime", sheet.date_format),
        Column(t["days_idle"], "int", INTEGER, width=12),
    ]

    def row(deal: StaleDeal) -> tuple[Any, ...]:
        idle = None if deal.last_touch is None else (as_of - deal.last_touch).days
        return (
            deal.title,
            deal.owner,
            deal.stage,
            deal.amount,
            deal.currency,
            convert.local(deal.last_touch),
            idle,
        )

    main = sum((d.amount for d in rows if d.currency == digest.currency), Decimal(0))
    table_sheet(
        wb,
        sheet,
        title=t["sheet.stale"],
        note=t["head.stale"].format(days=digest.stale_days),
        columns=columns,
        items=rows,
        convert=row,
        totals=[f"{t['total']}: {len(rows)}", None, None, main, digest.currency, None, None],
    )
