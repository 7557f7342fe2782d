"""The sales digest workbook (openpyxl write-only) and its two-line text summary.

Sheets: Summary (a row per salesperson and the total, each figure beside its change against
the previous period, a chart of calls), Calls, Missed calls, Overdue activities, Pipeline
(with its chart). Times are shown in the recipient's zone; text never becomes a formula.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.dto import (
    SUMMARY_FIGURES,
    Digest,
    Figures,
    PersonSummary,
)
from exports import digest_sheets as sheets
from exports._table import (
    DATETIME,
    DURATION,
    INTEGER,
    ORANGE_FILL,
    RED_FILL,
    SHARE,
    Converter,
    column_widths,
    fit_header_height,
    header_cell,
    money_format,
    print_setup,
)
from exports.safety import clean, looks_like_formula, xlsx_text
from exports.texts import texts

SUMMARY_HEADER_ROW = 5
DELTA_FORMATS = {"int": "+0;-0;0", "share": "+0%;-0%;0%"}


def build_workbook(digest: Digest, *, locale: str = "ru", tz: str | None = None) -> bytes:
    """The digest as .xlsx bytes, labelled in `locale`, times in `tz` (default: the digest's)."""
    t = texts(locale)
    convert = Converter(tz or digest.timezone)
    date_format = DATETIME.get(locale, DATETIME["en"])
    wb = Workbook(write_only=True)
    period = _period(digest.start, digest.end, convert.zone, locale)
    wb.properties.title = f"{t['title']} {period}"
    wb.properties.subject = f"{t['period']}: {period}"
    wb.properties.description = (
        f"{t['period']}: {period}; "
        f"{t['previous']}: {_period(digest.previous_start, digest.start, convert.zone, locale)}"
    )
    wb.properties.creator = "Perezvon"
    _summary_sheet(wb, digest, t, convert, locale)
    sheets.calls_sheet(wb, digest.calls, t, convert, date_format)
    sheets.missed_sheet(wb, digest.missed_calls, t, convert, date_format)
    sheets.overdue_sheet(wb, digest.overdue_activities, t, convert, date_format)
    sheets.pipeline_sheet(wb, digest.pipeline, t)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def summary_text(digest: Digest, locale: str = "ru") -> str:
    """Two lines for the message that carries the workbook."""
    t = texts(locale)
    zone = ZoneInfo(digest.timezone)
    total = digest.total.current
    share = total.called_back_share
    median = total.median_callback_seconds
    return "\n".join(
        (
            t["line1"].format(
                title=t["title"],
                period=_period(digest.start, digest.end, zone, locale),
                calls=total.calls_in + total.calls_out,
                calls_in=total.calls_in,
                calls_out=total.calls_out,
                missed=total.missed,
                share="—" if share is None else f"{share:.0%}",
                median="—" if median is None else _clock(median),
            ),
            t["line2"].format(
                talk=_clock(total.talk_seconds),
                done=total.activities_done,
                overdue=total.activities_overdue,
                won=total.deals_won,
                amount=_money(total.amount_won, digest.currency, locale),
                lost=total.deals_lost,
            ),
        )
    )


# Column widths of a summary figure and its change, by the figure's kind.
SUMMARY_WIDTHS = {"int": (13, 9), "share": (13, 9), "duration": (13, 14), "money": (17, 17)}


def _period(start: datetime, end: datetime, zone: ZoneInfo, locale: str) -> str:
    """The period as the reader's calendar shows it (the end is exclusive)."""
    fmt = "%d.%m.%Y" if locale == "ru" else "%Y-%m-%d"
    first = start.astimezone(zone)
    last = (end - timedelta(microseconds=1)).astimezone(zone)
    if first.date() == last.date():
        return first.strftime(fmt)
    return f"{first.strftime(fmt)} – {last.strftime(fmt)}"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _money(amount: Decimal, currency: str, locale: str) -> str:
    text = f"{amount:,.2f}"
    if locale == "ru":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {currency}"


def _figure_value(figures: Figures, key: str, kind: str) -> Any:
    value = getattr(figures, key)
    if value is None:
        return None
    return value / 86400 if kind == "duration" else value


def _delta(current: Figures, previous: Figures, key: str, kind: str) -> Any:
    now, before = getattr(current, key), getattr(previous, key)
    if now is None or before is None:
        return None
    if kind == "duration":
        return round((now - before) / 60, 1)  # minutes: Excel cannot show a negative [h]:mm
    return now - before


def _summary_sheet(
    wb: Workbook, digest: Digest, t: dict[str, str], convert: Converter, locale: str
) -> None:
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.summary"])
    names = [_person_name(p, t) for p in digest.people]
    ws.column_dimensions["A"].width = max([len(n) for n in names] + [14]) + 2
    for index, (_key, kind) in enumerate(SUMMARY_FIGURES):
        # Wide enough for "807 900,00 ₽" and "+1 234,5 мин"; narrower shows "###".
        value, delta = SUMMARY_WIDTHS[kind]
        ws.column_dimensions[get_column_letter(2 + 2 * index)].width = value
        ws.column_dimensions[get_column_letter(3 + 2 * index)].width = delta
    ws.freeze_panes = f"B{SUMMARY_HEADER_ROW + 1}"
    print_setup(ws)  # before the first row: a streamed sheet writes its properties then
    title = header_cell(ws, f"{t['title']}")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    ws.append([f"{t['period']}: {_period(digest.start, digest.end, convert.zone, locale)}"])
    previous = _period(digest.previous_start, digest.start, convert.zone, locale)
    ws.append([f"{t['previous']}: {previous} ({t['change']})"])
    stamp = "%d.%m.%Y %H:%M" if locale == "ru" else "%Y-%m-%d %H:%M"
    ws.append([f"{t['generated']}: {convert.local(digest.generated_at):{stamp}}"])
    headers = [t["salesperson"]]
    for key, _kind in SUMMARY_FIGURES:
        headers += [t[key], t["change"]]
    fit_header_height(ws, SUMMARY_HEADER_ROW, headers, column_widths(ws, len(headers)))
    ws.append([header_cell(ws, text) for text in headers])
    formats = _summary_formats(digest.currency, t)
    rows = [*digest.people, digest.total]
    for person, name in zip(rows, [*names, t["total"]], strict=True):
        _summary_row(ws, person, name, formats, bold=person is digest.total)
    first, last = SUMMARY_HEADER_ROW + 1, SUMMARY_HEADER_ROW + len(digest.people)
    ws.auto_filter.ref = f"A{SUMMARY_HEADER_ROW}:{_col('amount_won', delta=True)}{last}"
    end = last + 1
    overdue, share = _col("activities_overdue"), _col("called_back_share")
    ws.conditional_formatting.add(
        f"{overdue}{first}:{overdue}{end}",
        CellIsRule(operator="greaterThan", formula=["0"], fill=RED_FILL),
    )
    ws.conditional_formatting.add(
        f"{share}{first}:{share}{end}",
        CellIsRule(operator="lessThan", formula=["1"], fill=ORANGE_FILL),
    )
    _calls_chart(ws, digest, names, t, start_row=end + 2)


def _col(key: str, *, delta: bool = False) -> str:
    index = [k for k, _ in SUMMARY_FIGURES].index(key)
    return str(get_column_letter(2 + 2 * index + (1 if delta else 0)))


def _person_name(person: PersonSummary, t: dict[str, str]) -> str:
    return person.name if person.user_id is not None else t["unassigned"]


def _summary_formats(currency: str, t: dict[str, str]) -> list[tuple[str, str]]:
    minutes = f'+0.0\\ "{t["min"]}";-0.0\\ "{t["min"]}";0'
    formats: list[tuple[str, str]] = []
    for _key, kind in SUMMARY_FIGURES:
        if kind == "money":
            formats.append((money_format(currency), money_format(currency, signed=True)))
        elif kind == "duration":
            formats.append((DURATION, minutes))
        elif kind == "share":
            formats.append((SHARE, DELTA_FORMATS["share"]))
        else:
            formats.append((INTEGER, DELTA_FORMATS["int"]))
    return formats


def _summary_row(
    ws: WriteOnlyWorksheet,
    person: PersonSummary,
    name: str,
    formats: list[tuple[str, str]],
    *,
    bold: bool,
) -> None:
    def cell(value: Any, number_format: str | None = None) -> WriteOnlyCell:
        item = WriteOnlyCell(ws, value=value)
        if number_format:
            item.number_format = number_format
        if bold:
            item.font = Font(bold=True)
        return item

    label = cell(clean(name))
    if looks_like_formula(label.value):
        label.data_type, label.quotePrefix = "s", True
    row: list[Any] = [label]
    for (key, kind), (value_format, delta_format) in zip(SUMMARY_FIGURES, formats, strict=True):
        row.append(cell(_figure_value(person.current, key, kind), value_format))
        row.append(cell(_delta(person.current, person.previous, key, kind), delta_format))
    ws.append(row)


def _calls_chart(
    ws: WriteOnlyWorksheet, digest: Digest, names: list[str], t: dict[str, str], start_row: int
) -> None:
    """Calls per salesperson: inbound answered, outbound and missed, stacked."""
    ws.append([])  # the row between the table and the chart's data
    headers = [t["salesperson"], t["chart.in_answered"], t["calls_out"], t["missed"]]
    fit_header_height(ws, start_row, headers, column_widths(ws, len(headers)))
    ws.append([header_cell(ws, text) for text in headers])
    for person, name in zip(digest.people, names, strict=True):
        figures = person.current
        ws.append(
            [
                xlsx_text(ws, name),
                figures.calls_in - figures.missed,
                figures.calls_out,
                figures.missed,
            ]
        )
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = t["chart.calls"]
    last = start_row + max(len(digest.people), 1)
    chart.add_data(
        Reference(ws, min_col=2, max_col=4, min_row=start_row, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=start_row + 1, max_row=last))
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, f"F{start_row}")
