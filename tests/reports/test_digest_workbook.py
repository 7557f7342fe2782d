"""The digest workbook, read back with openpyxl: sheets, cells, formats, charts, rules."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

from core.clock import FakeClock
from core.context import Ctx
from core.reports.dto import Digest
from core.services import reports
from exports.digest import build_workbook, summary_text
from tests.reports import scenario
from tests.reports.scenario import END, NOW, START


@pytest.fixture
async def digest(ctx: Ctx, clock: FakeClock) -> Digest:
    clock.set(NOW)
    people = await scenario.build(ctx)
    return await reports.digest(
        ctx, actor_id=people.maria.id, start=START, end=END, tz="Europe/Moscow"
    )


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


async def test_workbook_has_the_five_sheets_in_russian_with_period_in_properties(
    digest: Digest,
) -> None:
    wb = _open(build_workbook(digest, locale="ru"))
    assert wb.sheetnames == ["Сводка", "Звонки", "Пропущенные", "Просроченные дела", "Воронка"]
    assert wb.properties.title == "Дайджест продаж 23.11.2026"
    assert "22.11.2026" in wb.properties.description
    en = _open(build_workbook(digest, locale="en"))
    assert en.sheetnames == ["Summary", "Calls", "Missed calls", "Overdue activities", "Pipeline"]
    assert en.properties.title == "Sales digest 2026-11-23"


async def test_summary_rows_hold_the_figures_with_changes_and_formats(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="en"))["Summary"]
    header = [c.value for c in ws[5]]
    assert header[:5] == ["Salesperson", "Calls in", "Δ", "Calls out", "Δ"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=6, max_row=9)}
    assert set(rows) == {"Anna", "Boris", "Maria", "Unassigned"}
    anna = rows["Anna"]
    calls_in = header.index("Calls in")
    assert (anna[calls_in].value, anna[calls_in + 1].value) == (2, 0)
    talk = header.index("Talk time")
    assert anna[talk].value == timedelta(seconds=180)  # a duration, read back as one
    assert anna[talk].number_format == "[h]:mm:ss"
    assert anna[talk + 1].value == pytest.approx(2.5)  # minutes more than the 30 s before
    money = header.index("Amount won")
    assert anna[money].value == pytest.approx(5000.5)
    assert "₽" in anna[money].number_format
    share = header.index("Called back share")
    assert anna[share].number_format == "0%"
    total = list(ws[10])
    assert total[0].value == "Total"
    assert total[0].font.bold
    assert total[calls_in].value == 4
    assert total[share].value == pytest.approx(2 / 3)
    assert ws.freeze_panes == "B6"
    assert ws.auto_filter.ref.startswith("A5:")


async def test_summary_marks_overdue_and_charts_calls_stacked(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="en"))["Summary"]
    rules = {
        str(cf.sqref): [(r.type, r.operator, r.formula) for r in cf.rules]
        for cf in ws.conditional_formatting
    }
    assert rules["T6:T10"] == [("cellIs", "greaterThan", ["0"])]  # activities overdue
    assert rules["L6:L10"] == [("cellIs", "lessThan", ["1"])]  # called back share
    (chart,) = ws._charts
    assert chart.grouping == "stacked"
    assert [s.tx.strRef.f.replace("$", "") for s in chart.series] == [
        "'Summary'!B12",
        "'Summary'!C12",
        "'Summary'!D12",
    ]
    data = list(ws.iter_rows(min_row=12, max_row=16, max_col=4, values_only=True))
    assert data[0] == ("Salesperson", "Inbound answered", "Calls out", "Missed")
    assert ("Anna", 1, 1, 1) in data


async def test_every_sheet_prints_one_page_wide_with_its_header_on_each_page(
    digest: Digest,
) -> None:
    wb = _open(build_workbook(digest, locale="ru"))
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9), ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    tables = wb.worksheets[1:]
    assert [ws.print_title_rows for ws in tables] == ["$1:$1"] * len(tables)


async def test_wrapped_headers_get_rows_tall_enough_and_figures_columns_wide_enough(
    digest: Digest,
) -> None:
    """LibreOffice keeps a one-line row for a wrapped header (its lines overlapped the row
    below) and shows ### for a number wider than its column."""
    ws = _open(build_workbook(digest, locale="ru"))["Сводка"]
    header = [c.value for c in ws[12]][:4]
    assert header == ["Менеджер", "Входящие отвеченные", "Исходящие", "Пропущено"]
    assert ws.row_dimensions[12].height == 30  # two lines: "Исходящие" breaks in a narrow column
    money = [c.value for c in ws[5]].index("Сумма выигранных")
    for column in (money + 1, money + 2):  # the amount and its change
        assert ws.column_dimensions[get_column_letter(column)].width >= len("+807 900,00 ₽") + 2


async def test_calls_sheet_has_local_times_durations_and_unanswered_rule(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="ru"))["Звонки"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:J7"
    first = list(ws[2])
    assert first[0].value == datetime(2026, 11, 23, 11, 0)  # noqa: DTZ001 (Excel: naive, Moscow)
    assert first[0].number_format == "DD.MM.YYYY HH:MM"
    assert first[1].value == "входящий"
    assert first[7].value == timedelta(seconds=120)
    assert first[7].number_format == "[h]:mm:ss"
    (rule,) = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert rule.type == "expression"
    assert "отвечен" in rule.formula[0]
    assert ws.column_dimensions["A"].width >= 16


async def test_missed_sheet_shows_callback_status_and_time(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="en", tz="UTC"))["Missed calls"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[5] for r in rows] == [timedelta(seconds=575), None, timedelta(seconds=75595)]
    assert rows[0][0] == datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001 (UTC when asked)
    assert rows[1][4] is None
    (rule,) = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert rule.formula == ['$E2=""']


async def test_overdue_and_pipeline_sheets_with_chart_and_money(digest: Digest) -> None:
    wb = _open(build_workbook(digest, locale="en"))
    overdue = list(wb["Overdue activities"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3], r[5] is None) for r in overdue] == [
        ("Anna", "Call about =SUM(A1)", True),
        ("Boris", "Follow up", False),
    ]
    pipeline = wb["Pipeline"]
    rows = list(pipeline.iter_rows(min_row=1, values_only=True))
    assert rows[0] == ("Stage", "Currency", "Deals", "Amount, RUB", "Amount, USD")
    assert rows[1:] == [
        ("Новая", "RUB", 1, 1000, None),
        ("Предложение", "RUB", 1, 2000, None),
        ("Предложение", "USD", 1, None, 300),
    ]
    assert "$" in pipeline["E4"].number_format
    (chart,) = pipeline._charts
    titles = [s.tx.strRef.f.replace("$", "") for s in chart.series]
    assert titles == ["'Pipeline'!D1", "'Pipeline'!E1"]
    assert chart.x_axis.scaling.orientation == "maxMin"  # the first stage on top
    assert chart.y_axis.crosses == "max"  # the amounts along the bottom all the same


async def test_text_that_looks_like_a_formula_stays_text(digest: Digest) -> None:
    wb = _open(build_workbook(digest, locale="en"))
    contact = wb["Calls"]["F2"]
    assert contact.value == "Ivan =Ivanov"
    title = wb["Overdue activities"]["D2"]
    assert title.value == "Call about =SUM(A1)"
    digest.calls[0] = type(digest.calls[0])(
        **{**_fields(digest.calls[0]), "contact": '=HYPERLINK("http://x")', "summary": "@SUM(1)"}
    )
    ws = _open(build_workbook(digest, locale="en"))["Calls"]
    assert ws["F2"].data_type == "s"
    assert ws["F2"].value == '=HYPERLINK("http://x")'
    assert ws["F2"].quotePrefix
    assert ws["J2"].data_type == "s"
    assert ws["J2"].quotePrefix


def _fields(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]


async def test_summary_text_is_two_lines_with_the_totals(digest: Digest) -> None:
    ru = summary_text(digest, "ru").splitlines()
    assert len(ru) == 2
    assert "звонков 6 (вх. 4, исх. 2), пропущено 3, перезвонили 67%" in ru[0]
    assert "10:34:45" in ru[0]  # median of 575 s and 75595 s
    assert "5 000,50 RUB" in ru[1]
    en = summary_text(digest, "en")
    assert "6 calls" in en
    assert Decimal("5000.50") == digest.total.current.amount_won


async def test_control_characters_and_overlong_text_still_give_a_valid_workbook(
    digest: Digest,
) -> None:
    first = digest.calls[0]
    digest.calls[0] = type(first)(
        **{**_fields(first), "summary": "a\x00b\x07c" + "x" * 40_000, "outcome": "\tcmd"}
    )
    ws = _open(build_workbook(digest, locale="en"))["Calls"]
    assert ws["J2"].value.startswith("abc")
    assert len(ws["J2"].value) == 32_767
    assert ws["I2"].value == "\tcmd"
    assert ws["I2"].quotePrefix


async def test_a_quiet_period_gives_a_workbook_of_headers_and_zeros(
    ctx: Ctx, clock: FakeClock
) -> None:
    clock.set(NOW)
    people = await scenario.build(ctx)
    quiet = await reports.digest(
        ctx,
        actor_id=people.maria.id,
        start=START.replace(year=2025),
        end=END.replace(year=2025),
        tz="Europe/Moscow",
    )
    wb = _open(build_workbook(quiet, locale="en"))
    assert wb["Calls"].max_row == 1
    assert wb["Missed calls"]["A1"].value == "Started"
    total = next(r for r in wb["Summary"].iter_rows(min_row=6, values_only=True) if r[0] == "Total")
    assert total[1] == 0
    assert total[11] is None  # no missed calls: no share to show
    assert "0 calls" in summary_text(quiet, "en")
