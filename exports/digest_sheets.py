"""The digest's detail sheets: Calls, Missed calls, Overdue activities, Pipeline."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.utils import get_column_letter

from core.reports.dto import CallRow, MissedCallRow, OverdueActivityRow, PipelineRow
from exports._table import (
    DURATION,
    INTEGER,
    ORANGE_FILL,
    RED_FILL,
    Column,
    Converter,
    add_table_sheet,
    money_format,
)


def _last_row(rows: list[Any]) -> int:
    """The last row of a table sheet (the header's own when there are no rows)."""
    return max(len(rows), 1) + 1


def calls_sheet(
    wb: Workbook, rows: list[CallRow], t: dict[str, str], convert: Converter, date_format: str
) -> None:
    columns = [
        Column(t["started_at"], "datetime", date_format),
        Column(t["direction"]),
        Column(t["status"]),
        Column(t["salesperson"]),
        Column(t["client_phone"]),
        Column(t["contact"]),
        Column(t["ring"], "duration", DURATION),
        Column(t["talk"], "duration", DURATION),
        Column(t["outcome"]),
        Column(t["summary"], width=40),
    ]
    direction = {"in": t["dir.in"], "out": t["dir.out"]}
    status = {s: t.get(f"status.{s}", s) for s in ("answered", "missed", "busy", "failed")}
    status["ringing"] = t["status.ringing"]

    def row(call: CallRow) -> tuple[Any, ...]:
        return (
            convert.local(call.started_at),
            direction.get(call.direction, call.direction),
            status.get(call.status, call.status),
            call.salesperson,
            call.client_phone,
            call.contact,
            convert.duration(call.ring_seconds),
            convert.duration(call.talk_seconds),
            call.outcome,
            call.summary,
        )

    ws = add_table_sheet(wb, title=t["sheet.calls"], columns=columns, items=rows, convert=row)
    end = _last_row(rows)
    answered = t["status.answered"].replace('"', '""')
    ws.conditional_formatting.add(
        f"A2:J{end}", FormulaRule(formula=[f'AND($C2<>"",$C2<>"{answered}")'], fill=RED_FILL)
    )


def missed_sheet(
    wb: Workbook,
    rows: list[MissedCallRow],
    t: dict[str, str],
    convert: Converter,
    date_format: str,
) -> None:
    columns = [
        Column(t["started_at"], "datetime", date_format),
        Column(t["salesperson"]),
        Column(t["client_phone"]),
        Column(t["contact"]),
        Column(t["called_back_at"], "datetime", date_format),
        Column(t["callback_time"], "duration", DURATION),
    ]

    def row(missed: MissedCallRow) -> tuple[Any, ...]:
        return (
            convert.local(missed.started_at),
            missed.salesperson,
            missed.client_phone,
            missed.contact,
            convert.local(missed.called_back_at),
            convert.duration(missed.callback_seconds),
        )

    ws = add_table_sheet(wb, title=t["sheet.missed"], columns=columns, items=rows, convert=row)
    ws.conditional_formatting.add(
        f"A2:F{_last_row(rows)}", FormulaRule(formula=['$E2=""'], fill=RED_FILL)
    )


def overdue_sheet(
    wb: Workbook,
    rows: list[OverdueActivityRow],
    t: dict[str, str],
    convert: Converter,
    date_format: str,
) -> None:
    columns = [
        Column(t["due_at"], "datetime", date_format),
        Column(t["owner"]),
        Column(t["kind"]),
        Column(t["activity"], width=40),
        Column(t["contact"]),
        Column(t["done_at"], "datetime", date_format),
    ]

    def row(item: OverdueActivityRow) -> tuple[Any, ...]:
        return (
            convert.local(item.due_at),
            item.owner,
            t.get(f"kind.{item.kind}", item.kind),
            item.title,
            item.contact,
            convert.local(item.done_at),
        )

    ws = add_table_sheet(wb, title=t["sheet.overdue"], columns=columns, items=rows, convert=row)
    end = _last_row(rows)
    ws.conditional_formatting.add(f"A2:F{end}", FormulaRule(formula=['$F2=""'], fill=RED_FILL))
    ws.conditional_formatting.add(f"A2:F{end}", FormulaRule(formula=['$F2<>""'], fill=ORANGE_FILL))


def pipeline_sheet(wb: Workbook, rows: list[PipelineRow], t: dict[str, str]) -> None:
    currencies = sorted({r.currency for r in rows}) or ["RUB"]
    columns = [
        Column(t["stage"]),
        Column(t["currency"], width=10),
        Column(t["count"], "int", INTEGER),
        # One amount column per currency, so each keeps its own currency format.
        *(Column(f"{t['amount']}, {c}", "money", money_format(c), width=18) for c in currencies),
    ]

    def row(item: PipelineRow) -> tuple[Any, ...]:
        amounts = [item.amount if c == item.currency else None for c in currencies]
        return (item.stage, item.currency, item.count, *amounts)

    ws = add_table_sheet(wb, title=t["sheet.pipeline"], columns=columns, items=rows, convert=row)
    chart = BarChart()
    chart.type = "bar"
    chart.title = t["chart.pipeline"]
    last = _last_row(rows)
    chart.add_data(
        Reference(ws, min_col=4, max_col=3 + len(currencies), min_row=1, max_row=last),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    # A funnel reads from its first stage down; a bar chart draws its first category lowest.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.crosses = "max"  # and the amounts' axis stays below the bars
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, f"{get_column_letter(len(columns) + 2)}2")
