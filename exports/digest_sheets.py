"""The digest's detail sheets: Calls, Missed calls, Activities, Pipeline.

Each opens with what it covers (the period, the time zone, "as of" and what its words mean),
then its table with a frozen, filterable header and a bold totals row under the last row.
Only rows that call for action are coloured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import Any, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.dto import (
    CallRow,
    Digest,
    MissedCallRow,
    OverdueActivityRow,
    PersonSummary,
)
from exports._table import (
    DURATION,
    INTEGER,
    ORANGE_FILL,
    RED_FILL,
    SAMPLE_ROWS,
    SHARE,
    Column,
    Converter,
    fit_header_height,
    fit_widths,
    header_cell,
    money_format,
    print_setup,
    write_rows,
)
from exports.safety import xlsx_text

T = TypeVar("T")
BOLD = Font(bold=True)


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


def _heading(ws: WriteOnlyWorksheet, title: str, sheet: Sheet, note: str) -> int:
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
) -> WriteOnlyWorksheet:
    """A table under its heading: one row per item, converted as it is written, then totals;
    `fills` colour the rows whose formula (on the first data row) holds."""
    ws: WriteOnlyWorksheet = wb.create_sheet(title)
    widths = fit_widths(columns, [convert(item) for item in items[:SAMPLE_ROWS]])
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    header = 4
    ws.freeze_panes = f"A{header + 1}"
    print_setup(ws, title_rows=f"{header}:{header}")
    _heading(ws, title, sheet, note)
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


def call_result(call: CallRow) -> str:
    """answered, missed (inbound not answered), not_reached (outbound) or ringing."""
    if call.status == "answered":
        return "answered"
    if call.status == "ringing":
        return "ringing"
    return "missed" if call.direction == "in" else "not_reached"


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
    ]
    direction = {"in": t["dir.in"], "out": t["dir.out"]}
    result = {code: t[f"res.{code}"] for code in ("answered", "missed", "not_reached", "ringing")}

    def row(call: CallRow) -> tuple[Any, ...]:
        return (
            convert.local(call.started_at),
            direction.get(call.direction, call.direction),
            result[call_result(call)],
            call.salesperson,
            call.client_phone,
            call.contact,
            convert.duration(call.ring_seconds),
            convert.duration(call.talk_seconds),
            call.outcome,
            call.summary,
        )

    counts = {code: 0 for code in result}
    calls_in = 0
    for call in rows:
        counts[call_result(call)] += 1
        calls_in += call.direction == "in"
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

    counts = {code: sum(1 for r in rows if r.result == code) for code in outcome}
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


def pipeline_sheet(wb: Workbook, digest: Digest, sheet: Sheet, as_of: str) -> None:
    """Open deals by stage at the end, closed in the period, funnel, losses, by person."""
    t = sheet.t
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.pipeline"])
    for letter, width in zip("ABCDEFGH", (30, 14, 18, 18, 14, 14, 18, 18), strict=True):
        ws.column_dimensions[letter].width = width
    print_setup(ws)
    _heading(ws, t["sheet.pipeline"], sheet, t["head.pipeline"])
    currencies = sorted({r.currency for r in digest.pipeline} | {digest.currency})
    amount_headers = [f"{t['amount']}, {c}" for c in currencies]
    formats = [money_format(c) for c in currencies]

    def stage_rows(outcomes: set[str], caption: str, total_label: str | None) -> None:
        ws.append([])
        ws.append([bold(ws, caption)])
        ws.append([header_cell(ws, h) for h in (t["stage"], t["count"], *amount_headers)])
        rows = [r for r in digest.pipeline if r.outcome in outcomes]
        stages = list(dict.fromkeys(r.stage for r in rows))
        for stage in stages:
            of_stage = [r for r in rows if r.stage == stage]
            amounts = [
                sum((r.amount for r in of_stage if r.currency == c), Decimal(0)) for c in currencies
            ]
            ws.append(
                [xlsx_text(ws, stage), sum(r.count for r in of_stage)]
                + [formatted(ws, a, f) for a, f in zip(amounts, formats, strict=True)]
            )
        if total_label is not None:
            sums = [
                sum((r.amount for r in rows if r.currency == c), Decimal(0)) for c in currencies
            ]
            ws.append(
                [bold(ws, total_label), bold(ws, sum(r.count for r in rows), INTEGER)]
                + [bold(ws, a, f) for a, f in zip(sums, formats, strict=True)]
            )

    stage_rows({"open"}, t["pipeline.open"].format(as_of=as_of), t["pipeline.total_open"])
    stage_rows({"won", "lost"}, t["pipeline.closed"], t["total"])
    ws.append([])
    ws.append([bold(ws, t["funnel"])])
    ws.append([header_cell(ws, h) for h in (t["stage"], t["reached"], t["conversion"])])
    for step in digest.funnel:
        ws.append([xlsx_text(ws, step.stage), step.reached, formatted(ws, step.conversion, SHARE)])
    _losses(ws, digest, t)
    _by_person(ws, digest, t)


def formatted(ws: WriteOnlyWorksheet, value: Any, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def _losses(ws: WriteOnlyWorksheet, digest: Digest, t: dict[str, str]) -> None:
    money = money_format(digest.currency)
    ws.append([])
    ws.append([bold(ws, t["losses"])])
    ws.append(
        [
            header_cell(ws, h)
            for h in (t["loss_reason"], t["count"], f"{t['amount']}, {digest.currency}")
        ]
    )
    for loss in digest.loss_reasons:
        ws.append(
            [
                xlsx_text(ws, loss.reason or t["no_reason"]),
                loss.count,
                formatted(ws, loss.amount, money),
            ]
        )
    ws.append(
        [
            bold(ws, t["total"]),
            bold(ws, sum(r.count for r in digest.loss_reasons), INTEGER),
            bold(ws, sum((r.amount for r in digest.loss_reasons), Decimal(0)), money),
        ]
    )


def _by_person(ws: WriteOnlyWorksheet, digest: Digest, t: dict[str, str]) -> None:
    money = money_format(digest.currency)
    ws.append([])
    ws.append([bold(ws, t["by_person"])])
    headers = (
        t["salesperson"],
        t["people.won"],
        t["people.amount_won"],
        t["people.average"],
        t["people.lost"],
        t["people.open"],
        t["people.open_amount"],
    )
    ws.append([header_cell(ws, h) for h in headers])

    def values(person: PersonSummary) -> list[Any]:
        f = person.current
        return [f.deals_won, f.amount_won, f.average_won, f.deals_lost, f.open_deals, f.open_amount]

    number_formats = (INTEGER, money, money, INTEGER, INTEGER, money)
    for person in digest.people:
        name = person.name if person.user_id is not None else t["unassigned"]
        ws.append(
            [xlsx_text(ws, name)]
            + [formatted(ws, v, f) for v, f in zip(values(person), number_formats, strict=True)]
        )
    ws.append(
        [bold(ws, t["total"])]
        + [bold(ws, v, f) for v, f in zip(values(digest.total), number_formats, strict=True)]
    )
