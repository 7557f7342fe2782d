"""The sales digest workbook (openpyxl write-only) and its two-line text summary.

1. Summary (A4 portrait, one page): what the figures cover (period, comparison, time zone,
   "as of"); the team's headline figures, each beside the previous period's and its change,
   with an arrow coloured green when it is better and red when worse (shares change in
   percentage points, times in hours and minutes); one line per salesperson, best first,
   with the figures that rank them and the total; the month's targets against the month so
   far, when a manager set them (exports/digest_plan.py); the definitions, in a few lines.
2. Calls, Missed calls, Missed by hour, Activities, Pipeline, Stale deals: the details,
   each headed by the same period, zone and "as of", each table with a totals row
   (exports/digest_sheets.py and exports/digest_pipeline.py).
Times are shown in the recipient's zone; text never becomes a formula.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.dto import Digest, Figures, PersonSummary
from exports import digest_pipeline, digest_plan
from exports import digest_sheets as sheets
from exports._table import (
    DATETIME,
    DURATION,
    INTEGER,
    SHARE,
    SYMBOLS,
    Converter,
    column_widths,
    fit_header_height,
    font,
    header_cell,
)
from exports.digest_sheets import Sheet, bold
from exports.safety import xlsx_text
from exports.texts import texts

BETTER, WORSE, SAME = "1E7B34", "C00000", "595959"
# Summary columns: the label (or name), then eight figures; the widths keep it one A4
# portrait page wide at about 80 % (9 pt), and wide enough that no figure shows "###".
SUMMARY_WIDTHS = (34, 13, 13, 15, 11, 12, 12, 13, 12)
ONE_PAGE_ROWS = 70  # beyond this (a very large team) the page grows rather than shrinks


@dataclass(frozen=True)
class Kpi:
    key: str  # a Figures field or property; also the label's text key
    kind: str  # int | share | duration | money
    better: str | None  # "up", "down", or None when neither is better
    indent: bool = False


KPIS: tuple[Kpi, ...] = (
    Kpi("calls_in", "int", None),
    Kpi("calls_out", "int", "up"),
    Kpi("answered_share", "share", "up"),
    Kpi("missed", "int", "down"),
    Kpi("called_back_in_target", "int", "up", indent=True),
    Kpi("called_back_later", "int", "down", indent=True),
    Kpi("client_called_again", "int", None, indent=True),
    Kpi("not_called_back", "int", "down", indent=True),
    Kpi("called_back_share", "share", "up"),
    Kpi("median_callback_seconds", "duration", "down"),
    Kpi("talk_seconds", "duration", "up"),
    Kpi("new_contacts", "int", "up"),
    Kpi("activities_done", "int", "up"),
    Kpi("activities_done_late", "int", "down", indent=True),
    Kpi("activities_overdue", "int", "down"),
    Kpi("deals_created", "int", "up"),
    Kpi("deals_won", "int", "up"),
    Kpi("amount_won", "money", "up"),
    Kpi("average_won", "money", "up"),
    Kpi("deals_lost", "int", "down"),
    Kpi("amount_lost", "money", "down"),
    Kpi("open_deals", "int", "up"),
    Kpi("open_amount", "money", "up"),
)


def build_workbook(digest: Digest, *, locale: str = "ru", tz: str | None = None) -> bytes:
    """The digest as .xlsx bytes, labelled in `locale`, times in `tz` (default: the digest's)."""
    t = texts(locale)
    convert = Converter(tz or digest.timezone)
    wb = Workbook(write_only=True)
    period = _period(digest.start, digest.end, convert.zone, locale)
    lines = _heading_lines(digest, t, convert.zone, locale)
    wb.properties.title = f"{t['title']} {period}"
    wb.properties.subject = f"{t['period']}: {period}"
    wb.properties.description = "; ".join(lines)
    wb.properties.creator = "Perezvon"
    sheet = Sheet(t, convert, DATETIME.get(locale, DATETIME["en"]), (lines[0], lines[2]))
    _summary_sheet(wb, digest, t, lines, locale)
    sheets.calls_sheet(wb, digest.calls, sheet)
    sheets.missed_sheet(wb, digest.missed_calls, sheet, digest.callback_target_minutes)
    sheets.missed_by_hour_sheet(wb, digest.missed_calls, sheet)
    sheets.activities_sheet(wb, digest.overdue_activities, sheet)
    digest_pipeline.pipeline_sheet(wb, digest, sheet, _stamp(_as_of(digest), convert.zone, locale))
    sheets.stale_sheet(wb, digest, sheet)
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
                calls=total.calls,
                calls_in=total.calls_in,
                calls_out=total.calls_out,
                missed=total.missed,
                in_target=total.called_back_in_target,
                target=digest.callback_target_minutes,
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


def _as_of(digest: Digest) -> datetime:
    return digest.as_of or digest.end


def _period(start: datetime, end: datetime, zone: ZoneInfo, locale: str) -> str:
    """The period as the reader's calendar shows it (the end is exclusive)."""
    fmt = "%d.%m.%Y" if locale == "ru" else "%Y-%m-%d"
    first = start.astimezone(zone)
    last = (end - timedelta(microseconds=1)).astimezone(zone)
    if first.date() == last.date():
        return first.strftime(fmt)
    return f"{first.strftime(fmt)} – {last.strftime(fmt)}"


def _stamp(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    return f"{moment.astimezone(zone):{'%d.%m.%Y %H:%M' if locale == 'ru' else '%Y-%m-%d %H:%M'}}"


def _heading_lines(digest: Digest, t: dict[str, str], zone: ZoneInfo, locale: str) -> list[str]:
    """Period (and its kind, and whether it runs), comparison, zone with "as of"."""
    kind = t[f"kind.{digest.kind}"]
    period = f"{t['period']}: {_period(digest.start, digest.end, zone, locale)} ({kind}"
    period += f", {t['running']})" if digest.running else ")"
    previous_end = digest.previous_end or digest.start
    if digest.running and digest.previous_as_of is not None:
        compared = (
            f"{t['previous.running']}: {_stamp(digest.previous_start, zone, locale)} – "
            f"{_stamp(digest.previous_as_of, zone, locale)}"
        )
    else:
        compared = f"{t['previous']}: {_period(digest.previous_start, previous_end, zone, locale)}"
    zone_line = (
        f"{t['zone']}: {zone.key} · {t['as_of']} {_stamp(_as_of(digest), zone, locale)} · "
        f"{t['generated']} {_stamp(digest.generated_at, zone, locale)}"
    )
    return [period, compared, zone_line]


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _money(amount: Decimal, currency: str, locale: str) -> str:
    text = f"{amount:,.2f}"
    if locale == "ru":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {currency}"


def _symbol(currency: str) -> str:
    return SYMBOLS.get(currency, currency).replace('"', "")


def _formats(kind: str, currency: str, t: dict[str, str]) -> tuple[str, str]:
    """(the value's number format, the change's): changes carry their arrow and sign."""
    if kind == "money":
        body = f'#,##0\\ "{_symbol(currency)}"'
        return body, f'"▲ +"{body};"▼ −"{body};{body}'
    if kind == "share":
        pp = t["pp"]
        return SHARE, f'"▲ +"0.0" {pp}";"▼ −"0.0" {pp}";"0 {pp}"'
    if kind == "duration":
        return DURATION, "@"
    return INTEGER, '"▲ +"#,##0;"▼ −"#,##0;0'


def _value(figures: Figures, kpi: Kpi) -> Any:
    value = getattr(figures, kpi.key)
    if value is None or kpi.kind != "duration":
        return value
    return value / 86400


def _change(current: Figures, previous: Figures, kpi: Kpi, t: dict[str, str]) -> Any:
    """The change as a number (points for shares), or as text for a time ("▼ −1 h 05 min")."""
    now, before = getattr(current, kpi.key), getattr(previous, kpi.key)
    if now is None or before is None:
        return None
    if kpi.kind == "share":
        return round((now - before) * 100, 1)
    if kpi.kind == "duration":
        return _duration_change(round(now - before), t)
    return now - before


def _duration_change(seconds: int, t: dict[str, str]) -> str:
    if seconds == 0:
        return "0"
    arrow = "▲ +" if seconds > 0 else "▼ −"
    rest = abs(seconds)
    if rest >= 3600:
        body = f"{rest // 3600} {t['hours']} {rest % 3600 // 60:02d} {t['min']}"
    elif rest >= 60:
        body = f"{rest // 60} {t['min']}"
    else:
        body = f"{rest} {t['sec']}"
    return arrow + body


def _colour(change: Any, kpi: Kpi) -> str:
    if change is None or kpi.better is None:
        return SAME
    sign = _sign(change)
    if sign == 0:
        return SAME
    return BETTER if (sign > 0) == (kpi.better == "up") else WORSE


def _sign(change: Any) -> int:
    if isinstance(change, str):
        return 0 if change == "0" else (1 if change.startswith("▲") else -1)
    return int((change > 0) - (change < 0))


def _summary_sheet(
    wb: Workbook, digest: Digest, t: dict[str, str], lines: list[str], locale: str
) -> None:
    ws: WriteOnlyWorksheet = wb.create_sheet(t["sheet.summary"])
    for index, width in enumerate(SUMMARY_WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    rows = 6 + len(KPIS) + 4 + len(digest.people) + 3 + 7 + digest_plan.rows_needed(digest)
    # Before the first row: a streamed sheet writes its properties then.
    sheets.one_page_portrait(ws, one_page=rows <= ONE_PAGE_ROWS)
    title = bold(ws, t["title"])
    title.font = font(bold=True, size=14)
    ws.append([title])
    for line in lines:
        ws.append([line])
    ws.append([])
    target = digest.callback_target_minutes
    headers = [t["kpi"], t["kpi.current"], t["kpi.previous"], t["change"]]
    ws.append([header_cell(ws, text) for text in headers])
    current, previous = digest.total.current, digest.total.previous
    for kpi in KPIS:
        value_format, change_format = _formats(kpi.kind, digest.currency, t)
        label = WriteOnlyCell(ws, value=t[kpi.key].format(target=target))
        if kpi.indent:
            label.alignment = Alignment(horizontal="left", indent=2)
        change = _change(current, previous, kpi, t)
        change_cell = WriteOnlyCell(ws, value=change)
        change_cell.number_format = change_format
        change_cell.font = font(color=_colour(change, kpi))
        change_cell.alignment = Alignment(horizontal="right")
        ws.append(
            [
                label,
                sheets.formatted(ws, _value(current, kpi), value_format),
                sheets.formatted(ws, _value(previous, kpi), value_format),
                change_cell,
            ]
        )
    ws.append([])
    people_header = 6 + len(KPIS) + 2
    _people_table(ws, digest, t, header_row=people_header)
    digest_plan.plan_table(
        ws,
        digest,
        t,
        money=_formats("money", digest.currency, t)[0],
        header_row=people_header + len(digest.people) + 4,
        locale=locale,
    )
    ws.append([])
    ws.append([bold(ws, t["notes"])])
    small = font(size=9, italic=True)
    for key in (
        "note.missed",
        "note.callback",
        "note.client",
        "note.overdue",
        "note.as_of",
        "note.compare",
    ):
        note = WriteOnlyCell(ws, value=t[key].format(target=target))
        note.font = small
        ws.append([note])


PEOPLE_COLUMNS = (
    "people.amount_won",
    "people.average",
    "people.won",
    "people.calls",
    "people.answered",
    "people.missed",
    "people.in_target",
    "people.overdue",
)


def _people_table(
    ws: WriteOnlyWorksheet, digest: Digest, t: dict[str, str], header_row: int
) -> None:
    """One line per salesperson, best first, then the total in bold."""
    headers = [t["salesperson"], *(t[key] for key in PEOPLE_COLUMNS)]
    fit_header_height(ws, header_row, headers, column_widths(ws, len(headers)))
    ws.append([header_cell(ws, text) for text in headers])
    money = _formats("money", digest.currency, t)[0]
    number_formats = (money, money, INTEGER, INTEGER, SHARE, INTEGER, SHARE, INTEGER)

    def values(person: PersonSummary) -> tuple[Any, ...]:
        f = person.current
        return (
            f.amount_won,
            f.average_won,
            f.deals_won,
            f.calls,
            f.answered_share,
            f.missed,
            f.called_back_share,
            f.activities_overdue,
        )

    for person in digest.people:
        name = person.name if person.user_id is not None else t["unassigned"]
        ws.append(
            [xlsx_text(ws, name)]
            + [
                sheets.formatted(ws, v, f)
                for v, f in zip(values(person), number_formats, strict=True)
            ]
        )
    ws.append(
        [bold(ws, t["total"])]
        + [bold(ws, v, f) for v, f in zip(values(digest.total), number_formats, strict=True)]
    )
