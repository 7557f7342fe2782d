"""The digest's Pipeline sheet: open deals by stage at the period's end, deals closed in it,
stage-to-stage conversion, loss reasons and the figures by salesperson, each with its total.
One A4 portrait page for a usual team.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.dto import Digest, PersonSummary
from exports._table import (
    INTEGER,
    SHARE,
    column_widths,
    fit_header_height,
    header_cell,
    money_format,
)
from exports.digest_sheets import Sheet, bold, formatted, heading, one_page_portrait
from exports.safety import xlsx_text


class _Rows:
    """Appends rows and counts them, so a wrapped header row can be given its height."""

    def __init__(self, ws: WriteOnlyWorksheet, written: int) -> None:
        self.ws, self.written = ws, written

    def append(self, values: list[Any]) -> None:
        self.ws.append(values)
        self.written += 1

    def header(self, texts: Sequence[str]) -> None:
        widths = column_widths(self.ws, len(texts))
        fit_header_height(self.ws, self.written + 1, list(texts), widths)
        self.append([header_cell(self.ws, text) for text in texts])


def pipeline_sheet(wb: Workbook, digest: Digest, sheet: Sheet, as_of: str) -> None:
    """Open deals by stage at the end, closed in the period, funnel, losses, by person."""
    t = sheet.t
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.pipeline"])
    for letter, width in zip("ABCDEFG", (30, 12, 17, 17, 12, 12, 17), strict=True):
        ws.column_dimensions[letter].width = width
    rows = 24 + len(digest.pipeline) + len(digest.funnel) + len(digest.loss_reasons)
    rows += len(digest.sources) + 7
    one_page_portrait(ws, one_page=rows + len(digest.people) <= 70)
    out = _Rows(ws, heading(ws, t["sheet.pipeline"], sheet, t["head.pipeline"]) - 1)
    currencies = sorted({r.currency for r in digest.pipeline} | {digest.currency})
    amount_headers = [f"{t['amount']}, {c}" for c in currencies]
    formats = [money_format(c) for c in currencies]

    def stage_rows(outcomes: set[str], caption: str, total_label: str | None) -> None:
        out.append([])
        out.append([bold(ws, caption)])
        out.header((t["stage"], t["count"], *amount_headers))
        rows = [r for r in digest.pipeline if r.outcome in outcomes]
        stages = list(dict.fromkeys(r.stage for r in rows))
        for stage in stages:
            of_stage = [r for r in rows if r.stage == stage]
            amounts = [
                sum((r.amount for r in of_stage if r.currency == c), Decimal(0)) for c in currencies
            ]
            out.append(
                [xlsx_text(ws, stage), sum(r.count for r in of_stage)]
                + [formatted(ws, a, f) for a, f in zip(amounts, formats, strict=True)]
            )
        if total_label is not None:
            sums = [
                sum((r.amount for r in rows if r.currency == c), Decimal(0)) for c in currencies
            ]
            out.append(
                [bold(ws, total_label), bold(ws, sum(r.count for r in rows), INTEGER)]
                + [bold(ws, a, f) for a, f in zip(sums, formats, strict=True)]
            )

    stage_rows({"open"}, t["pipeline.open"].format(as_of=as_of), t["pipeline.total_open"])
    stage_rows({"won", "lost"}, t["pipeline.closed"], t["total"])
    out.append([])
    out.append([bold(ws, t["funnel"])])
    out.header((t["stage"], t["reached"], t["conversion"], t["days_in_stage"]))
    for step in digest.funnel:
        out.append(
            [
                xlsx_text(ws, step.stage),
                step.reached,
                formatted(ws, step.conversion, SHARE),
                formatted(ws, step.days_in_stage, "0.0"),
            ]
        )
    _forecast(out, digest, t)
    _losses(out, digest, t)
    _sources(out, digest, t)
    _by_person(out, digest, t)


def _losses(out: _Rows, digest: Digest, t: dict[str, str]) -> None:
    ws = out.ws
    money = money_format(digest.currency)
    out.append([])
    out.append([bold(ws, t["losses"])])
    out.header((t["loss_reason"], t["count"], f"{t['amount']}, {digest.currency}"))
    for loss in digest.loss_reasons:
        out.append(
            [
                xlsx_text(ws, loss.reason or t["no_reason"]),
                loss.count,
                formatted(ws, loss.amount, money),
            ]
        )
    out.append(
        [
            bold(ws, t["total"]),
            bold(ws, sum(r.count for r in digest.loss_reasons), INTEGER),
            bold(ws, sum((r.amount for r in digest.loss_reasons), Decimal(0)), money),
        ]
    )


def _forecast(out: _Rows, digest: Digest, t: dict[str, str]) -> None:
    forecast = digest.forecast
    if forecast is None:
        return
    ws = out.ws
    money = money_format(digest.currency)
    until = forecast.until.astimezone(ZoneInfo(digest.timezone)).strftime("%d.%m.%Y")
    out.append([])
    out.append([bold(ws, t["forecast"].format(until=until))])
    # The value in the wide third column; the label runs over the empty second.
    out.header((t["kpi"], "", t["forecast.value"]))
    out.append([t["forecast.deals"], None, forecast.deals])
    out.append([t["forecast.amount"], None, formatted(ws, forecast.amount, money)])
    out.append([t["forecast.weighted"], None, formatted(ws, forecast.weighted, money)])
    out.append([t["forecast.overdue"], None, forecast.overdue])


def _sources(out: _Rows, digest: Digest, t: dict[str, str]) -> None:
    ws = out.ws
    money = money_format(digest.currency)
    out.append([])
    out.append([bold(ws, t["sources"])])
    amount = f"{t['people.amount_won']}, {digest.currency}"
    out.header((t["source"], t["created"], t["people.won"], amount))
    for row in digest.sources:
        label = t.get(f"src.{row.source}", row.source)
        out.append(
            [xlsx_text(ws, label), row.created, row.won, formatted(ws, row.amount_won, money)]
        )
    out.append(
        [
            bold(ws, t["total"]),
            bold(ws, sum(r.created for r in digest.sources), INTEGER),
            bold(ws, sum(r.won for r in digest.sources), INTEGER),
            bold(ws, sum((r.amount_won for r in digest.sources), Decimal(0)), money),
        ]
    )


def _by_person(out: _Rows, digest: Digest, t: dict[str, str]) -> None:
    ws = out.ws
    money = money_format(digest.currency)
    out.append([])
    out.append([bold(ws, t["by_person"])])
    headers = (
        t["salesperson"],
        t["people.won"],
        t["people.amount_won"],
        t["people.average"],
        t["people.lost"],
        t["people.open"],
        t["people.open_amount"],
    )
    out.header(headers)

    def values(person: PersonSummary) -> list[Any]:
        f = person.current
        return [f.deals_won, f.amount_won, f.average_won, f.deals_lost, f.open_deals, f.open_amount]

    number_formats = (INTEGER, money, money, INTEGER, INTEGER, money)
    for person in digest.people:
        name = person.name if person.user_id is not None else t["unassigned"]
        out.append(
            [xlsx_text(ws, name)]
            + [formatted(ws, v, f) for v, f in zip(values(person), number_formats, strict=True)]
        )
    out.append(
        [bold(ws, t["total"])]
        + [bold(ws, v, f) for v, f in zip(values(digest.total), number_formats, strict=True)]
    )
