"""The digest Summary's plan table: each salesperson's monthly targets against the month so far.

Shown only when a manager set targets for the month the digest's cut-off falls in (see
core/targets). Nine columns, as the rest of the Summary, so the page stays one A4 portrait
page: the salesperson, then plan, actual and the share of the plan for the amount won and
the deals won, and plan and actual for outbound calls. A share or an actual is green when it
is on pace (at least the target times the share of the month gone), red when behind; a
figure with no target is left blank. A bold totals row sums the targets and their actuals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.dto import Digest
from exports._table import INTEGER, column_widths, fit_header_height, font, header_cell
from exports.digest_sheets import bold
from exports.safety import xlsx_text

BETTER, WORSE = "1E7B34", "C00000"
# (metric, cells shown): the share of the plan is left out for calls to keep nine columns.
LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("won_amount", ("plan", "actual", "share")),
    ("deals_won", ("plan", "actual", "share")),
    ("calls_out", ("plan", "actual")),
)
PERCENT = "0%"
ROWS_BESIDES_PEOPLE = 4  # a blank line, the title, the header, the totals


def rows_needed(digest: Digest) -> int:
    """How many Summary rows the table takes (none without targets)."""
    return len(digest.plan) + ROWS_BESIDES_PEOPLE if digest.plan else 0


def headers(t: dict[str, str]) -> list[str]:
    """The nine column headers."""
    return [t["salesperson"]] + [
        t[f"plan.{metric}.{cell}"] for metric, cells in LAYOUT for cell in cells
    ]


def plan_table(
    ws: WriteOnlyWorksheet,
    digest: Digest,
    t: dict[str, str],
    *,
    money: str,
    header_row: int,
    locale: str,
) -> None:
    """The title line, the header (on `header_row`), a line per salesperson with targets,
    and the totals."""
    if not digest.plan or digest.plan_month is None:
        return
    ws.append([])
    month = digest.plan_month
    title = t["plan.title"].format(
        month=f"{month:%m.%Y}" if locale == "ru" else f"{month:%Y-%m}",
        elapsed=f"{digest.plan_elapsed:.0%}",
    )
    ws.append([bold(ws, title)])
    texts = headers(t)
    fit_header_height(ws, header_row, texts, column_widths(ws, len(texts)))
    ws.append([header_cell(ws, text) for text in texts])
    for row in digest.plan:
        name = xlsx_text(ws, row.name)
        ws.append([name, *_cells(ws, row.targets, row.actual, digest.plan_elapsed, money)])
    targets: dict[str, Decimal] = {}
    actual: dict[str, Decimal] = {}
    for row in digest.plan:
        for metric, value in row.targets.items():
            targets[metric] = targets.get(metric, Decimal(0)) + value
            actual[metric] = actual.get(metric, Decimal(0)) + row.actual.get(metric, Decimal(0))
    cells = _cells(ws, targets, actual, digest.plan_elapsed, money)
    for cell in cells:
        cell.font = font(bold=True, color=cell.font.color)
    ws.append([bold(ws, t["total"]), *cells])


def _cells(
    ws: WriteOnlyWorksheet,
    targets: dict[str, Decimal],
    actual: dict[str, Decimal],
    elapsed: float,
    money: str,
) -> list[WriteOnlyCell]:
    cells: list[WriteOnlyCell] = []
    for metric, shown in LAYOUT:
        target = targets.get(metric)
        reached = actual.get(metric, Decimal(0))
        number = money if metric == "won_amount" else INTEGER
        values: dict[str, tuple[Any, str]] = {
            "plan": (target, number),
            "actual": (reached if target is not None else None, number),
            "share": (float(reached / target) if target else None, PERCENT),
        }
        on_pace = target is not None and float(reached) >= float(target) * elapsed
        for key in shown:
            value, number_format = values[key]
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = number_format
            coloured = value is not None and (key == "share" or metric == "calls_out")
            cell.font = font(color=(BETTER if on_pace else WORSE) if coloured else None)
            cells.append(cell)
    return cells
