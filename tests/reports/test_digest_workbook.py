"""The digest workbook, read back with openpyxl: sheets, headings, figures, formats, rules."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from core.calls.models import Call
from core.context import Ctx
from core.reports import service as reports
from core.reports.dto import Digest
from exports.digest import build_workbook, summary_text
from tests.fakes.clock import FakeClock
from tests.reports import scenario
from tests.reports.scenario import END, SHEETS_EN, SHEETS_RU, START, at

HEADER = 4  # a detail sheet's header row, under its three heading lines


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def _kpis(ws: Worksheet) -> dict[str, tuple[Any, ...]]:
    """The Summary's headline rows by label: (cell of the value, previous, change)."""
    rows: dict[str, tuple[Any, ...]] = {}
    for row in ws.iter_rows(min_row=7, max_row=29):
        rows[str(row[0].value)] = tuple(row[1:4])
    return rows


async def test_workbook_has_seven_sheets_in_russian_with_period_in_properties(
    digest: Digest,
) -> None:
    wb = _open(build_workbook(digest, locale="ru"))
    assert wb.sheetnames == SHEETS_RU
    assert wb.properties.title == "Дайджест продаж 23.11.2026"
    assert "Сравнение с: 22.11.2026" in wb.properties.description
    en = _open(build_workbook(digest, locale="en"))
    assert en.sheetnames == SHEETS_EN
    assert en.properties.title == "Sales digest 2026-11-23"


async def test_summary_prints_on_one_a4_portrait_page_nine_columns_wide(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="ru"))["Сводка"]
    setup = ws.page_setup
    assert (setup.orientation, setup.paperSize) == ("portrait", 9)
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 1)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.max_column == 9
    widths = sum(ws.column_dimensions[c].width for c in "ABCDEFGHI")
    assert widths <= 135  # printed at about 80 %: 9 pt type, not the 4 pt of 31 columns
    wb = _open(build_workbook(digest, locale="ru"))
    pipeline = wb["Воронка"].page_setup
    assert (pipeline.orientation, pipeline.fitToWidth, pipeline.fitToHeight) == ("portrait", 1, 1)
    for table in ("Звонки", "Пропущенные", "Дела"):  # long: one page wide, header repeated
        setup = wb[table].page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToWidth) == ("landscape", 9, 1)
        assert (setup.fitToHeight, wb[table].print_title_rows) == (0, "$4:$4")


async def test_every_sheet_names_its_period_time_zone_and_as_of(digest: Digest) -> None:
    wb = _open(build_workbook(digest, locale="en"))
    for ws in wb.worksheets:
        heading = " ".join(str(ws.cell(row, 1).value) for row in range(1, 5))
        assert "2026-11-23 (day)" in heading, ws.title
        assert "Time zone: Europe/Moscow · as of 2026-11-24 00:00" in heading, ws.title
    assert wb["Summary"]["A3"].value == "Compared with: 2026-11-22"


async def test_summary_headline_figures_with_previous_and_a_coloured_change(
    digest: Digest,
) -> None:
    ws = _open(build_workbook(digest, locale="en"))["Summary"]
    assert [c.value for c in ws[6]][:4] == ["Figure", "Period", "Previous", "Change"]
    kpis = _kpis(ws)
    missed = kpis["Inbound missed"]
    assert [c.value for c in missed] == [3, 1, 2]
    assert missed[2].number_format.startswith('"▲ +"')
    assert missed[2].font.color.rgb.endswith("C00000")  # more missed calls: worse, red
    answered = kpis["Inbound answered"]
    assert [c.value for c in answered] == [0.25, 0.5, -25.0]  # a change in points, not percent
    assert "p.p." in answered[2].number_format
    assert answered[2].font.color.rgb.endswith("C00000")
    talk = kpis["Talk time"]
    assert talk[0].value == timedelta(seconds=480)
    assert talk[0].number_format == "[h]:mm:ss"
    assert talk[2].value == "▲ +7 min"  # 450 s more, in minutes, not "+7,5 мин"
    assert talk[2].font.color.rgb.endswith("1E7B34")
    assert kpis["called back within 15 min"][0].value == 1
    assert [c.value for c in kpis["not called back"]] == [2, 1, 1]
    assert [c.value for c in kpis["Median time to callback"]][2] is None  # nothing before
    won = kpis["Amount won"]
    assert won[0].value == pytest.approx(5000.5)
    assert "₽" in won[0].number_format
    assert [c.value for c in kpis["Overdue at the end"]] == [1, 0, 1]
    assert [c.value for c in kpis["of which late"]] == [1, 1, 0]
    assert kpis["Calls in"][2].font.color.rgb.endswith("595959")  # neither better nor worse


async def test_summary_has_a_line_per_salesperson_best_first_and_the_total(
    digest: Digest,
) -> None:
    ws = _open(build_workbook(digest, locale="en"))["Summary"]
    rows = list(ws.iter_rows(min_row=31, max_row=35, values_only=True))
    assert rows[0] == (
        "Salesperson",
        "Amount won",
        "Average deal",
        "Won",
        "Calls",
        "Inbound answered",
        "Missed",
        "Called back in time",
        "Overdue",
    )
    assert [r[0] for r in rows[1:]] == ["Anna", "Boris", "Unassigned", "Total"]
    assert rows[1][1:] == (5000.5, 5000.5, 1, 3, 0.5, 1, 1, 1)
    assert rows[4][4] == 6
    assert ws["A35"].font.bold
    notes = [ws.cell(row, 1).value for row in range(37, 44)]
    assert notes[0] == "Definitions"
    assert any("client" in str(n) and "not a callback" in str(n) for n in notes)


async def test_summary_missed_is_what_the_calls_sheet_filter_on_missed_gives(
    ctx: Ctx, people: scenario.Scenario
) -> None:
    ctx.session.add(  # an outbound call nobody answered: "not reached", never "missed"
        Call(
            provider="generic",
            provider_call_id="no-answer",
            direction="out",
            status="missed",
            client_e164="+79161110009",
            user_id=people.anna.id,
            started_at=at(23, 15),
            ended_at=at(23, 15, 1),
            created_at=at(23, 15),
            updated_at=at(23, 15),
        )
    )
    await ctx.session.commit()
    built = await scenario.day_digest(ctx, people)
    wb = _open(build_workbook(built, locale="ru"))
    summary_missed = _kpis(wb["Сводка"])["Пропущено входящих"][0].value
    calls = wb["Звонки"]
    results = [
        r[2] for r in calls.iter_rows(min_row=HEADER + 1, max_row=HEADER + 7, values_only=True)
    ]
    assert results.count("пропущен") == summary_missed == 3
    assert results.count("не дозвонились") == 1
    total = [c.value for c in calls[HEADER + 8]]
    assert total[0] == "Итого: 7"
    assert total[2] == "пропущено 3, не дозвонились 1"
    (rule,) = [r for cf in calls.conditional_formatting for r in cf.rules]
    assert rule.formula == ['$C5="пропущен"']  # only the missed rows are coloured
    missed_sheet = wb["Пропущенные"]
    assert missed_sheet.max_row == HEADER + summary_missed + 1  # the rows and their total


async def test_calls_sheet_has_local_times_durations_a_filter_and_totals(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="ru"))["Звонки"]
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == "A4:K10"
    assert ws.print_title_rows == "$4:$4"
    first = list(ws[5])
    assert first[0].value == datetime(2026, 11, 23, 11, 0)  # noqa: DTZ001 (Excel: naive, Moscow)
    assert first[0].number_format == "DD.MM.YYYY HH:MM"
    assert (first[1].value, first[2].value) == ("входящий", "отвечен")
    assert first[7].value == timedelta(seconds=120)
    assert first[7].number_format == "[h]:mm:ss"
    total = list(ws[11])
    assert total[7].value == timedelta(seconds=480)
    assert total[0].font.bold


async def test_recordings_are_linked_from_the_calls_sheet_and_other_references_stay_text(
    ctx: Ctx, people: scenario.Scenario
) -> None:
    calls = list(await ctx.session.scalars(select(Call).order_by(Call.started_at)))
    calls[2].recording = "https://pbx.example/rec/1.mp3"  # the 08:00 call, the first row
    calls[3].recording = "=cmd|' /C calc'!A0"  # a reference that looks like a formula
    await ctx.session.commit()
    built = await scenario.day_digest(ctx, people)
    ws = _open(build_workbook(built, locale="en"))["Calls"]
    assert ws.cell(HEADER, 11).value == "Recording"
    link = ws.cell(HEADER + 1, 11)
    assert (link.value, link.hyperlink.target) == ("listen", "https://pbx.example/rec/1.mp3")
    text = ws.cell(HEADER + 2, 11)
    assert (text.value, text.data_type, text.hyperlink) == ("=cmd|' /C calc'!A0", "s", None)
    assert ws.cell(HEADER + 3, 11).value is None


async def test_missed_sheet_says_how_each_call_was_followed_up(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="en", tz="UTC"))["Missed calls"]
    assert "our answered outbound call" in ws["A3"].value
    rows = list(ws.iter_rows(min_row=HEADER + 1, max_row=HEADER + 3, values_only=True))
    assert [(r[4], r[6]) for r in rows] == [
        ("called back in time", timedelta(seconds=575)),
        ("not called back", None),
        ("not called back", None),
    ]
    assert rows[0][0] == datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001 (UTC when asked)
    rules = sorted(r.formula[0] for cf in ws.conditional_formatting for r in cf.rules)
    assert rules == ['$E5="called back later"', '$E5="not called back"']
    assert (
        ws.cell(HEADER + 4, 5).value
        == "1 in time, 0 later, 0 client got through, 2 not called back"
    )


async def test_missed_calls_by_local_hour_and_weekday(digest: Digest) -> None:
    ws = _open(build_workbook(digest, locale="ru"))["Пропущенные по часам"]
    assert [c.value for c in ws[HEADER]] == [
        "Час",
        "Пн",
        "Вт",
        "Ср",
        "Чт",
        "Пт",
        "Сб",
        "Вс",
        "Итого",
    ]
    monday = {
        ws.cell(HEADER + 1 + hour, 1).value: ws.cell(HEADER + 1 + hour, 2).value
        for hour in range(24)
    }
    # Monday 23 Nov, 12:00, 13:00 and 14:00 in Moscow (9, 10 and 11 UTC).
    assert {hour for hour, count in monday.items() if count} == {"12:00", "13:00", "14:00"}
    total = [c.value for c in ws[HEADER + 25]]
    assert (total[0], total[1], total[8]) == ("Итого", 3, 3)
    (rule,) = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert rule.type == "colorScale"


async def test_activities_sheet_lists_overdue_then_done_late_colouring_only_overdue(
    digest: Digest,
) -> None:
    ws = _open(build_workbook(digest, locale="en"))["Activities"]
    rows = list(ws.iter_rows(min_row=HEADER + 1, max_row=HEADER + 2, values_only=True))
    assert [(r[1], r[3], r[5], r[7]) for r in rows] == [
        ("Anna", "Call about =SUM(A1)", "overdue", timedelta(hours=9)),
        ("Boris", "Follow up", "done late", timedelta(hours=1)),
    ]
    (rule,) = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert rule.formula == ['$F5="overdue"']
    assert ws.cell(HEADER + 3, 6).value == "1 overdue, 1 done late"


async def test_pipeline_sheet_is_as_of_the_end_with_totals_conversion_and_losses(
    digest: Digest,
) -> None:
    rows = list(_open(build_workbook(digest, locale="en"))["Pipeline"].iter_rows(values_only=True))
    text = [r[0] for r in rows]
    assert "Open deals as of 2026-11-24 00:00" in text
    at_end = text.index("Open deals as of 2026-11-24 00:00")
    assert rows[at_end + 1][:4] == ("Stage", "Deals", "Amount, RUB", "Amount, USD")
    assert rows[at_end + 2][:4] == ("Новая", 1, 1000, 0)
    assert rows[at_end + 3][:4] == ("Предложение", 2, 2000, 300)
    assert rows[at_end + 4][:4] == ("Total open", 3, 3000, 300)
    funnel = text.index("Stage-to-stage conversion (deals worked in the period)")
    assert rows[funnel + 2][:3] == ("Новая", 5, None)
    assert rows[funnel + 5][:3] == ("Переговоры", 1, pytest.approx(1 / 3))
    assert rows[funnel + 6][:3] == ("Успешно", 1, 1)  # a won deal went through every stage
    losses = text.index("Loss reasons")
    assert rows[losses + 2][:2] == ("not given", 1)
    sources = text.index("Deals by the client's source")
    assert rows[sources + 1][:4] == ("Source", "Created", "Won", "Amount won, RUB")
    assert rows[sources + 2][:4] == ("by hand", 4, 1, 5000.5)  # the scenario's contacts
    assert rows[sources + 3][:4] == ("Total", 4, 1, 5000.5)
    people = text.index("By salesperson")
    assert rows[people + 2][:4] == ("Anna", 1, 5000.5, 5000.5)


async def test_text_that_looks_like_a_formula_stays_text(digest: Digest) -> None:
    wb = _open(build_workbook(digest, locale="en"))
    assert wb["Calls"]["F5"].value == "Ivan =Ivanov"
    assert wb["Activities"]["D5"].value == "Call about =SUM(A1)"
    digest.calls[0] = type(digest.calls[0])(
        **{**_fields(digest.calls[0]), "contact": '=HYPERLINK("http://x")', "summary": "@SUM(1)"}
    )
    ws = _open(build_workbook(digest, locale="en"))["Calls"]
    assert ws["F5"].data_type == "s"
    assert ws["F5"].value == '=HYPERLINK("http://x")'
    assert ws["F5"].quotePrefix
    assert ws["J5"].data_type == "s"
    assert ws["J5"].quotePrefix


def _fields(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]


async def test_summary_text_is_two_lines_with_the_totals(digest: Digest) -> None:
    ru = summary_text(digest, "ru").splitlines()
    assert len(ru) == 2
    assert "звонков 6 (вх. 4, исх. 2), пропущено 3, перезвонили за 15 мин 1 (33%)" in ru[0]
    assert "0:09:35" in ru[0]  # the one call back, 575 s
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
    assert ws["J5"].value.startswith("abc")
    assert len(ws["J5"].value) == 32_767
    assert ws["I5"].value == "\tcmd"
    assert ws["I5"].quotePrefix


async def test_a_quiet_period_gives_a_workbook_of_headings_totals_and_zeros(
    ctx: Ctx, people: scenario.Scenario
) -> None:
    quiet = await reports.digest(
        ctx,
        actor_id=people.maria.id,
        start=START.replace(year=2025),
        end=END.replace(year=2025),
        tz="Europe/Moscow",
    )
    wb = _open(build_workbook(quiet, locale="en"))
    assert wb["Calls"].max_row == HEADER + 1  # the header and the totals row
    assert wb["Calls"].cell(HEADER + 1, 1).value == "Total: 0"
    assert wb["Missed calls"].cell(HEADER, 1).value == "Started"
    kpis = _kpis(wb["Summary"])
    assert kpis["Calls in"][0].value == 0
    assert kpis["Called back within 15 min, share"][0].value is None  # nothing missed
    assert "0 calls" in summary_text(quiet, "en")


async def test_a_running_period_says_so_on_every_sheet(ctx: Ctx, clock: FakeClock) -> None:
    clock.set(at(23, 12))
    people = await scenario.build(ctx)
    running = await scenario.day_digest(ctx, people)
    wb = _open(build_workbook(running, locale="en"))
    assert wb["Summary"]["A2"].value == "Period: 2026-11-23 (day, still running)"
    assert wb["Summary"]["A3"].value == (
        "Compared with the same hours of the previous period: 2026-11-22 00:00 – 2026-11-22 15:00"
    )
    assert "as of 2026-11-23 15:00" in wb["Calls"]["A2"].value
