"""Managers' digests in the bot: /digest subscriptions and /report's workbook, sales refused."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.callbacks import DigestCb, ReportCb
from bot.dispatcher import command_menus
from core.reports.models import DigestSubscription
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, sent, texts_of
from tests.conftest import Db
from tests.reports import scenario
from tests.reports.scenario import NOW, SHEETS_RU

MANAGER_TG = 9301
SELLER_TG = 9302
manager = employee(MANAGER_TG, role="manager", name="Мария")
seller = employee(SELLER_TG)


async def _subscriptions(db: Db) -> set[tuple[str, int, bool]]:
    async with db.sessions() as session:
        rows = await session.scalars(select(DigestSubscription))
        return {(s.period, s.local_hour, s.active) for s in rows}


async def test_a_manager_subscribes_changes_the_hour_lists_and_stops_digests(
    tg: Tg, manager: User
) -> None:
    user = tg.user(MANAGER_TG)
    assert "не подписаны" in texts_of(await user.say("/digest"))[0]

    reply = texts_of(await user.say("/digest weekly 8"))[0]
    assert "Еженедельно в 08:00" in reply
    await user.say("/digest daily")
    await user.say("/digest weekly 07")
    assert await _subscriptions(tg.db) == {("weekly", 7, True), ("daily", 9, True)}

    listing = sent(await user.say("/digest"))[0]
    assert "Ежедневно в 09:00" in (listing.text or "")
    assert "Еженедельно в 07:00" in (listing.text or "")
    assert "Europe/Moscow" in (listing.text or "")
    await user.tap(listing, "Ежемесячно")
    assert "Ежемесячно в 09:00" in (user.current(listing).text or "")
    assert ("monthly", 9, True) in await _subscriptions(tg.db)

    await user.tap(listing, "Отписаться")
    assert "не подписаны" in (user.current(listing).text or "")
    assert {active for *_, active in await _subscriptions(tg.db)} == {False}
    assert texts_of(await user.say("/digest off")) == ["Подписок не было."]


async def test_digest_arguments_that_cannot_be_read_get_the_usage(tg: Tg, manager: User) -> None:
    user = tg.user(MANAGER_TG)
    for text in ("/digest yearly", "/digest daily 25", "/digest daily nine", "/digest off now"):
        assert "/digest daily|weekly|monthly" in texts_of(await user.say(text))[0], text
    assert await _subscriptions(tg.db) == set()


async def test_sales_are_refused_digests_and_reports_even_with_crafted_buttons(
    tg: Tg, seller: User
) -> None:
    user = tg.user(SELLER_TG, language_code="en")
    for command in ("/digest", "/digest daily 9", "/report"):
        assert "для руководителей" in texts_of(await user.say(command))[0]
    crafted = DigestCb(action="sub", period="daily", hour=9).pack()
    assert answers(await user.press(crafted)) == ["Это действие вам недоступно."]
    calls = await user.press(ReportCb(period="yesterday").pack())
    assert answers(calls) == ["Это действие вам недоступно."]
    assert not [c for c in calls if c.method == "sendDocument"]
    assert await _subscriptions(tg.db) == set()


async def test_report_for_yesterday_sends_the_digest_workbook_with_its_summary(tg: Tg) -> None:
    tg.db.clock.set(NOW)  # 24 Nov, 12:00 in Moscow: yesterday is the scenario's day
    async with tg.db.ctx() as ctx:
        people = await scenario.build(ctx)
        await ctx.session.execute(
            update(User).where(User.id == people.maria.id).values(telegram_user_id=MANAGER_TG)
        )
        await ctx.session.commit()
    user = tg.user(MANAGER_TG)
    picker = sent(await user.say("/report"))[0]
    assert "за какой период" in (picker.text or "")

    calls = await user.tap(picker, "Вчера")
    (document,) = [c for c in calls if c.method == "sendDocument"]
    assert document.status == 200 and document.chat_id == MANAGER_TG
    upload = document.files["document"]
    assert upload.filename == "digest-2026-11-23.xlsx"
    caption = document.params["caption"]
    assert "звонков 6 (вх. 4, исх. 2), пропущено 3, перезвонили за 15 мин 1 (33%)" in caption
    assert "5 000,50 RUB" in caption
    wb = load_workbook(io.BytesIO(upload.content))
    assert wb.sheetnames == SHEETS_RU
    assert wb.properties.title == "Дайджест продаж 23.11.2026"


async def test_report_periods_follow_the_users_zone_and_language(tg: Tg) -> None:
    # Monday 30 Nov 2026, 01:30 in Vladivostok (still Sunday 29 Nov in UTC).
    tg.db.clock.set(datetime.fromisoformat("2026-11-29T15:30:00+00:00"))
    await tg.employee(MANAGER_TG, role="admin", name="Admin", locale="en")
    async with tg.db.sessions() as session:
        await session.execute(
            update(User)
            .where(User.telegram_user_id == MANAGER_TG)
            .values(timezone="Asia/Vladivostok")
        )
        await session.commit()
    user = tg.user(MANAGER_TG, language_code="en")
    picker = sent(await user.say("/report"))[0]
    expected = {
        "Yesterday": "digest-2026-11-29.xlsx",
        "This week": "digest-2026-11-30_2026-12-06.xlsx",  # the whole week, cut at now
        "Last week": "digest-2026-11-23_2026-11-29.xlsx",
        "This month": "digest-2026-11-01_2026-11-30.xlsx",
        "Last month": "digest-2026-10-01_2026-10-31.xlsx",
    }
    for label, filename in expected.items():
        calls = await user.tap(picker, label)
        (document,) = [c for c in calls if c.method == "sendDocument"]
        assert document.files["document"].filename == filename
        assert "Sales digest" in document.params["caption"]
        wb = load_workbook(io.BytesIO(document.files["document"].content))
        assert wb.sheetnames[0] == "Summary"


def test_the_command_menus_offer_export_report_and_digest_in_both_languages() -> None:
    menus = command_menus()
    for locale, manager_word in (("ru", "руководители"), ("en", "managers")):
        described = {c.command: c.description for c in menus[locale]}
        assert {"export", "report", "digest"} <= set(described)
        assert manager_word in described["report"] and manager_word in described["digest"]
