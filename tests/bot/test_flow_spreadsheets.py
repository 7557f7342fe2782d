"""Contacts in and out as spreadsheets in the bot: import with a preview, /export for everyone."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ImportCb
from bot.deps import BotDeps
from core.clock import FakeClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.models.contacts import Contact
from core.models.users import User
from core.services import contacts
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, answers, button_data, make_user, sent, texts_of
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes, xlsx_bytes
from tests.fakes.telegram_api import Call, FakeTelegram

MANAGER_TG = 9401
SELLER_TG = 9402


@pytest.fixture
async def manager(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> User:
    return await make_user(
        sessions, config, clock, telegram_id=MANAGER_TG, role="manager", name="Anna"
    )


@pytest.fixture
async def seller(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> User:
    return await make_user(sessions, config, clock, telegram_id=SELLER_TG, name="Пётр")


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)


def documents(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendDocument" and c.status == 200]


async def test_a_manager_previews_then_applies_an_xlsx_and_gets_the_rejected_rows(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    manager: User,
) -> None:
    user = TgUser(feed, fake_tg, MANAGER_TG)
    document = fake_tg.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "клиенты.xlsx")
    calls = await user.send(document=document)
    assert [c.method for c in calls if c.method in ("getFile", "downloadFile")] == [
        "getFile",
        "downloadFile",
    ]
    preview = sent(calls)[0]
    text = preview.text or ""
    assert "«клиенты.xlsx»: строк 5" in text
    assert "Новых: 2 · обновится: 0 · дублей: 1 · отклонено: 2" in text
    assert "Если контакт уже есть: пропустить" in text
    assert await _count(sessions) == 0  # a dry run writes nothing
    apply_button = button_data(preview, "Применить")

    calls = await user.tap(preview, "Применить")
    assert "Новых: 2 · обновится: 0 · дублей: 1 · отклонено: 2" in (
        user.current(preview).text or ""
    )
    assert "выполнен" in (user.current(preview).text or "")
    (rejected,) = documents(calls)
    assert rejected.files["document"].filename == "rejected.xlsx"
    assert "Отклонённые строки (2)" in rejected.params["caption"]
    sheet = load_workbook(io.BytesIO(rejected.files["document"].content)).active
    assert sheet is not None
    problems = [str(row[1]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(problems) == 2 and any("E5" in p for p in problems)
    assert await _count(sessions) == 2

    # The buttons are gone; a second Apply (a double tap) is stale and changes nothing.
    assert user.current(preview).params["reply_markup"] is None
    assert answers(await user.press(apply_button)) == ["Эта кнопка устарела."]
    assert await _count(sessions) == 2


async def test_policy_buttons_change_the_preview_and_cancel_writes_nothing(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    manager: User,
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await contacts.create_contact(
            ctx, actor=Actor.of_user(manager), name="Иван", phones=["+79161112233"]
        )
    user = TgUser(feed, fake_tg, MANAGER_TG, language_code="en")
    data = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="cp1251")
    preview = sent(await user.send(document=fake_tg.add_file(data, "clients.csv")))[0]
    assert "Новых: 1 · обновится: 0 · дублей: 2" in (preview.text or "")
    apply_button = button_data(preview, "Применить")

    await user.tap(preview, "перезаписать")
    current = user.current(preview).text or ""
    assert "Новых: 1 · обновится: 1" in current and "перезаписать" in current
    await user.tap(preview, "Отмена")
    assert user.current(preview).text == "Импорт отменён, ничего не изменено."
    assert await _count(sessions) == 1
    assert answers(await user.press(apply_button)) == ["Эта кнопка устарела."]
    assert await _count(sessions) == 1


async def test_only_the_latest_preview_can_be_applied(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    manager: User,
) -> None:
    user = TgUser(feed, fake_tg, MANAGER_TG)
    first = fake_tg.add_file(xlsx_bytes(HEADER_RU, ROWS_RU[:1]), "one.xlsx")
    old = sent(await user.send(document=first))[0]
    second = fake_tg.add_file(xlsx_bytes(HEADER_RU, ROWS_RU[:2]), "two.xlsx")
    new = sent(await user.send(document=second))[0]
    assert answers(await user.tap(old, "Применить")) == ["Эта кнопка устарела."]
    assert answers(await user.tap(old, "Отмена")) == ["Эта кнопка устарела."]
    assert await _count(sessions) == 0
    await user.tap(new, "Применить")
    assert "«two.xlsx» выполнен" in (user.current(new).text or "")
    assert await _count(sessions) == 2


async def test_an_import_with_the_fill_policy_is_applied_once(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    manager: User,
) -> None:
    user = TgUser(feed, fake_tg, MANAGER_TG)
    data = xlsx_bytes(HEADER_RU, ROWS_RU)
    preview = sent(await user.send(document=fake_tg.add_file(data, "a.xlsx")))[0]
    await user.tap(preview, "дополнить")
    await user.tap(preview, "Применить")
    assert await _count(sessions) == 2
    again = sent(await user.send(document=fake_tg.add_file(data, "a.xlsx")))[0]
    assert "Новых: 0 · обновится: 0 · дублей: 3" in (again.text or "")
    await user.tap(again, "дополнить")
    await user.tap(again, "Применить")
    assert "уже импортирован" in (user.current(again).text or "")
    assert await _count(sessions) == 2


async def test_oversized_broken_and_foreign_files_are_refused_with_a_reason(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    bot_deps: BotDeps,
    manager: User,
) -> None:
    user = TgUser(feed, fake_tg, MANAGER_TG)
    bot_deps.config = replace(bot_deps.config, import_max_bytes=1024 * 1024)
    big = fake_tg.add_file(b"x" * 2_000_000, "big.csv")
    calls = await user.send(document=big)
    assert texts_of(calls) == [
        "Файл слишком большой: 1.9 МБ, можно до 1 МБ. Разбейте его на части."
    ]
    assert not [c for c in calls if c.method == "getFile"]  # refused before downloading

    # Our limit above Telegram's 20 MB (a self-hosted server allows more): Telegram refuses.
    bot_deps.config = replace(bot_deps.config, import_max_bytes=50 * 1024 * 1024)
    huge = fake_tg.add_file(b"x" * (21 * 1024 * 1024), "huge.csv")
    calls = await user.send(document=huge)
    assert [c.status for c in calls if c.method == "getFile"] == [400]
    assert texts_of(calls) == [
        "Файл слишком большой: 21.0 МБ, можно до 20 МБ. Разбейте его на части."
    ]
    bot_deps.config = replace(bot_deps.config, import_max_bytes=20 * 1024 * 1024)
    broken = fake_tg.add_file(b"PK\x03\x04 not really a zip", "book.xlsx")
    reply = texts_of(await user.send(document=broken))
    assert reply == ["Не могу импортировать «book.xlsx»: the file is not a readable .xlsx workbook"]
    empty = texts_of(await user.send(document=fake_tg.add_file(b"  ", "empty.csv")))
    assert empty == ["Не могу импортировать «empty.csv»: the file is empty"]
    photo = fake_tg.add_file(b"\x89PNG", "photo.png")
    assert "Файлы и стикеры не сохраняю" in texts_of(await user.send(document=photo))[0]
    assert await _count(sessions) == 0


async def test_a_salesperson_cannot_import_and_is_told_why(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    seller: User,
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    document = fake_tg.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "clients.xlsx")
    calls = await user.send(document=document)
    assert texts_of(calls) == ["Импорт контактов из таблиц — для руководителей и администраторов."]
    assert not [c for c in calls if c.method == "getFile"]
    crafted = ImportCb(action="apply", key="0" * 12).pack()
    assert answers(await user.press(crafted)) == ["Эта кнопка устарела."]
    assert await _count(sessions) == 0


async def test_export_sends_only_the_contacts_the_user_may_see(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    manager: User,
    seller: User,
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="=HYPERLINK(1)", phones=["+79161234567"]
        )
        await contacts.create_contact(
            ctx, actor=Actor.of_user(manager), name="Чужой клиент", phones=["+79167654321"]
        )
    seller_chat = TgUser(feed, fake_tg, SELLER_TG)
    (document,) = documents(await seller_chat.say("/export"))
    assert document.files["document"].filename == "contacts.xlsx"
    assert document.params["caption"] == "Контактов: 1"
    sheet = load_workbook(io.BytesIO(document.files["document"].content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows())
    assert [c.value for c in header[1:3]] == ["ФИО", "Телефоны"] and len(rows) == 1
    name = rows[0][1]
    assert name.value == "=HYPERLINK(1)"
    assert name.data_type == "s" and name.quotePrefix  # text, not a formula
    assert "+79161234567" in str(rows[0][2].value)

    manager_chat = TgUser(feed, fake_tg, MANAGER_TG)
    (everything,) = documents(await manager_chat.say("/export"))
    assert everything.params["caption"] == "Контактов: 2"


async def test_export_with_nothing_visible_says_so(
    feed: Feed, fake_tg: FakeTelegram, seller: User
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    assert texts_of(await user.say("/export")) == ["Вам пока не видно ни одного контакта."]
