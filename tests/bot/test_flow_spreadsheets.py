"""Contacts in and out as spreadsheets in the bot: import with a preview, /export for everyone.

An import never runs in the update: the handler stores the file as a background job and
answers at once; the scheduler's job reads it and the preview, the outcome and the rejected
rows come through the outbox (issue 15, defect 1).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from aiogram import Bot
from aiogram.types import BufferedInputFile
from openpyxl import load_workbook
from sqlalchemy import select

from app.scheduler_component import import_codec
from bot.callbacks import ImportCb
from bot.deps import BotDeps
from bot.notifications import render
from core.config import CoreConfig
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.jobs.models import BackgroundJob
from core.outbox import service as outbox
from core.users.models import User
from scheduler.jobs import Jobs
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, button_data, sent, texts_of
from tests.conftest import Db
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes, xlsx_bytes
from tests.factories import make_contact
from tests.fakes.telegram_api import Call

MANAGER_TG = 9401
SELLER_TG = 9402
manager = employee(MANAGER_TG, role="manager", name="Anna")
seller = employee(SELLER_TG)


async def _count(db: Db) -> int:
    return await db.count(Contact)


async def _jobs(db: Db) -> list[BackgroundJob]:
    async with db.sessions() as session:
        return list(await session.scalars(select(BackgroundJob).order_by(BackgroundJob.id)))


def documents(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendDocument" and c.status == 200]


def scheduler_jobs(deps: BotDeps, codec_config: CoreConfig | None = None) -> Jobs:
    """The scheduler's jobs as `perezvon run` wires them (the exports codec for imports)."""
    config = codec_config or deps.config
    return Jobs(
        sessions=deps.sessions, config=config, clock=deps.clock, import_codec=import_codec(config)
    )


async def deliver(bot: Bot, deps: BotDeps) -> None:
    """Send what the outbox holds, rendered as the delivery renders it."""
    async with deps.sessions() as session:
        ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
        for notification in await outbox.claim(ctx, limit=100):
            rendered = await render(session, deps, notification)
            assert rendered is not None, notification.kind
            if rendered.document is not None:
                document = BufferedInputFile(rendered.document, rendered.filename or "file")
                await bot.send_document(rendered.chat_id, document, caption=rendered.text)
            else:
                await bot.send_message(
                    rendered.chat_id, rendered.text, reply_markup=rendered.reply_markup
                )
            await outbox.mark_sent(ctx, notification_id=notification.id)


Settle = Callable[..., Awaitable[list[Call]]]


@pytest.fixture
def settle(tg: Tg) -> Settle:
    """Run the due background jobs (as the scheduler's tick does), then deliver the outbox;
    returns the calls to Telegram that made."""

    async def run(jobs: Jobs | None = None) -> list[Call]:
        before = len(tg.fake.calls)
        await (jobs or scheduler_jobs(tg.deps)).background()
        await deliver(tg.bot, tg.deps)
        return tg.fake.calls[before:]

    return run


async def test_a_manager_previews_then_applies_an_xlsx_and_gets_the_rejected_rows(
    tg: Tg, settle: Settle, manager: User
) -> None:
    user = tg.user(MANAGER_TG)
    document = tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "клиенты.xlsx")
    calls = await user.send(document=document)
    # The update only downloads and stores the file, and answers at once.
    assert [c.method for c in calls if c.method in ("getFile", "downloadFile")] == [
        "getFile",
        "downloadFile",
    ]
    assert texts_of(calls) == ["⏳ Проверяю «клиенты.xlsx»… Напишу, когда будет готово."]
    (job,) = await _jobs(tg.db)
    assert (job.kind, job.status, job.attempts, job.user_id) == (
        "import_preview",
        "queued",
        0,
        manager.id,
    )

    preview = sent(await settle())[0]
    text = preview.text or ""
    assert "«клиенты.xlsx»: строк 5" in text
    assert "Новых: 2 · обновится: 0 · дублей: 1 · отклонено: 2" in text
    assert "Если контакт уже есть: пропустить" in text
    assert await _count(tg.db) == 0  # a dry run writes nothing
    apply_button = button_data(preview, "Применить")

    await user.tap(preview, "Применить")
    assert user.current(preview).text == "⏳ Импортирую «клиенты.xlsx»… Напишу, когда закончу."
    assert user.current(preview).params["reply_markup"] is None
    # A second Apply (a double tap) before the job ran is stale and queues nothing.
    assert answers(await user.press(apply_button)) == ["Эта кнопка устарела."]
    assert await _count(tg.db) == 0

    calls = await settle()
    assert texts_of(calls) == [
        "✅ Импорт «клиенты.xlsx» выполнен.\nНовых: 2 · обновится: 0 · дублей: 1 · отклонено: 2"
    ]
    (rejected,) = documents(calls)
    assert rejected.files["document"].filename == "rejected.xlsx"
    assert "Отклонённые строки (3)" in rejected.params["caption"]  # 2 rejected, 1 repeat
    sheet = load_workbook(io.BytesIO(rejected.files["document"].content)).active
    assert sheet is not None
    problems = [str(row[1]) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(problems) == 3 and any("E5" in p for p in problems)
    assert "повтор строки 2 (тот же телефон или ID)" in problems
    assert await _count(tg.db) == 2

    # The chain is over: the stored file is gone, the job done, Apply stale, nothing more runs.
    (job,) = await _jobs(tg.db)
    assert (job.kind, job.status, job.data) == ("import_apply", "done", None)
    assert answers(await user.press(apply_button)) == ["Эта кнопка устарела."]
    assert await settle() == []
    assert await _count(tg.db) == 2


async def test_policy_buttons_preview_again_and_cancel_writes_nothing(
    tg: Tg, settle: Settle, manager: User
) -> None:
    async with tg.db.ctx() as ctx:
        await make_contact(ctx, "Иван", actor=Actor.of_user(manager), phones=["+79161112233"])
    user = tg.user(MANAGER_TG, language_code="en")
    data = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="cp1251")
    await user.send(document=tg.fake.add_file(data, "clients.csv"))
    preview = sent(await settle())[0]
    assert "Новых: 1 · обновится: 0 · дублей: 2" in (preview.text or "")
    first_apply = button_data(preview, "Применить")

    await user.tap(preview, "перезаписать")
    assert user.current(preview).text == (
        "⏳ Проверяю «clients.csv» заново: если контакт уже есть — перезаписать. "
        "Напишу, когда будет готово."
    )
    assert answers(await user.press(first_apply)) == ["Эта кнопка устарела."]  # being checked
    again = sent(await settle())[0]
    current = again.text or ""
    assert "Новых: 1 · обновится: 1" in current and "✅ перезаписать" in str(
        again.params["reply_markup"]
    )
    await user.tap(again, "Отмена")
    assert user.current(again).text == "Импорт отменён, ничего не изменено."
    assert await _count(tg.db) == 1
    for stale in (first_apply, button_data(again, "Применить"), button_data(again, "Отмена")):
        assert answers(await user.press(stale)) == ["Эта кнопка устарела."]
    assert await settle() == []
    assert await _count(tg.db) == 1
    (job,) = await _jobs(tg.db)
    assert job.data is None  # canceled: the file is not kept


async def test_only_the_latest_preview_can_be_applied(
    tg: Tg, settle: Settle, manager: User
) -> None:
    user = tg.user(MANAGER_TG)
    first = tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU[:1]), "one.xlsx")
    await user.send(document=first)
    old = sent(await settle())[0]
    second = tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU[:2]), "two.xlsx")
    await user.send(document=second)
    new = sent(await settle())[0]
    assert answers(await user.tap(old, "Применить")) == ["Эта кнопка устарела."]
    assert answers(await user.tap(old, "Отмена")) == ["Эта кнопка устарела."]
    assert await _count(tg.db) == 0
    await user.tap(new, "Применить")
    assert "«two.xlsx» выполнен" in texts_of(await settle())[0]
    assert await _count(tg.db) == 2


async def test_an_import_with_the_fill_policy_is_applied_once(
    tg: Tg, settle: Settle, manager: User
) -> None:
    user = tg.user(MANAGER_TG)
    data = xlsx_bytes(HEADER_RU, ROWS_RU)

    async def fill_and_apply(preview: Call) -> list[Call]:
        """Switch `preview` to the fill policy and apply the preview that comes back."""
        await user.tap(preview, "дополнить")
        filled = sent(await settle())[0]
        await user.tap(filled, "Применить")
        return await settle()

    await user.send(document=tg.fake.add_file(data, "a.xlsx"))
    await fill_and_apply(sent(await settle())[0])
    assert await _count(tg.db) == 2
    await user.send(document=tg.fake.add_file(data, "a.xlsx"))
    again = sent(await settle())[0]
    assert "Новых: 0 · обновится: 0 · дублей: 3" in (again.text or "")
    assert "уже импортирован" in texts_of(await fill_and_apply(again))[0]
    assert await _count(tg.db) == 2


async def test_oversized_broken_and_foreign_files_are_refused_with_a_reason(
    tg: Tg, settle: Settle, manager: User
) -> None:
    user = tg.user(MANAGER_TG)
    tg.deps.config = replace(tg.deps.config, import_max_bytes=1024 * 1024)
    big = tg.fake.add_file(b"x" * 2_000_000, "big.csv")
    calls = await user.send(document=big)
    assert texts_of(calls) == [
        "Файл слишком большой: 1.9 МБ, можно до 1 МБ. Разбейте его на части."
    ]
    assert not [c for c in calls if c.method == "getFile"]  # refused before downloading

    # Our limit above Telegram's 20 MB (a self-hosted server allows more): Telegram refuses.
    tg.deps.config = replace(tg.deps.config, import_max_bytes=50 * 1024 * 1024)
    huge = tg.fake.add_file(b"x" * (21 * 1024 * 1024), "huge.csv")
    calls = await user.send(document=huge)
    assert [c.status for c in calls if c.method == "getFile"] == [400]
    assert texts_of(calls) == [
        "Файл слишком большой: 21.0 МБ, можно до 20 МБ. Разбейте его на части."
    ]
    assert await _jobs(tg.db) == []
    tg.deps.config = replace(tg.deps.config, import_max_bytes=20 * 1024 * 1024)
    broken = tg.fake.add_file(b"PK\x03\x04 not really a zip", "book.xlsx")
    await user.send(document=broken)
    reply = texts_of(await settle())
    assert reply == ["Не могу импортировать «book.xlsx»: the file is not a readable .xlsx workbook"]
    await user.send(document=tg.fake.add_file(b"  ", "empty.csv"))
    assert texts_of(await settle()) == ["Не могу импортировать «empty.csv»: the file is empty"]
    photo = tg.fake.add_file(b"\x89PNG", "photo.png")
    # Not a spreadsheet, and no card open: it is told how to keep it on a card.
    assert "ответом на карточку" in texts_of(await user.send(document=photo))[0]
    assert await _count(tg.db) == 0
    assert [(j.status, j.data) for j in await _jobs(tg.db)] == [("failed", None)] * 2


async def test_an_unexpected_error_in_the_job_apologises_and_marks_it_failed(
    tg: Tg, settle: Settle, manager: User, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = scheduler_jobs(tg.deps)

    def broken_reader(_data: bytes, _filename: str) -> None:
        raise MemoryError("the reader ran out of memory")

    jobs._import_codec = replace(import_codec(tg.deps.config), read=broken_reader)  # type: ignore[arg-type]
    user = tg.user(MANAGER_TG)
    await user.send(document=tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "a.xlsx"))
    (job,) = await _jobs(tg.db)
    with caplog.at_level(logging.ERROR):
        calls = await settle(jobs)
    assert texts_of(calls) == [
        "😔 Не получилось обработать «a.xlsx» — простите. Отправьте файл ещё раз чуть позже; "
        f"если не выйдет, сообщите администратору (задача {job.id})."
    ]
    assert f"background job {job.id} (import_preview) failed" in caplog.text
    (job,) = await _jobs(tg.db)
    assert (job.status, job.data) == ("failed", None)
    assert job.last_error == "MemoryError: the reader ran out of memory"
    assert await settle() == []  # failed for good: not run again


async def test_a_salesperson_cannot_import_and_is_told_why(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    document = tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "clients.xlsx")
    calls = await user.send(document=document)
    assert texts_of(calls) == ["Импорт контактов из таблиц — для руководителей и администраторов."]
    assert not [c for c in calls if c.method == "getFile"]
    for crafted in ("0" * 12, "1", "abc", "9" * 40):
        data = ImportCb(action="apply", key=crafted, policy="skip").pack()
        assert answers(await user.press(data)) == ["Эта кнопка устарела."]
    assert await _count(tg.db) == 0


async def test_another_users_buttons_are_stale_for_me(
    tg: Tg, settle: Settle, manager: User
) -> None:
    await tg.employee(9403, role="manager", name="Boris")
    anna = tg.user(MANAGER_TG)
    await anna.send(document=tg.fake.add_file(xlsx_bytes(HEADER_RU, ROWS_RU), "a.xlsx"))
    preview = sent(await settle())[0]
    boris = tg.user(9403)
    assert answers(await boris.press(button_data(preview, "Применить"))) == ["Эта кнопка устарела."]
    assert answers(await boris.press(button_data(preview, "Отмена"))) == ["Эта кнопка устарела."]
    await anna.tap(preview, "Применить")
    await settle()
    assert await _count(tg.db) == 2


async def test_export_sends_only_the_contacts_the_user_may_see(
    tg: Tg, manager: User, seller: User
) -> None:
    async with tg.db.ctx() as ctx:
        await make_contact(
            ctx, "=HYPERLINK(1)", actor=Actor.of_user(seller), phones=["+79161234567"]
        )
        await make_contact(
            ctx, "Чужой клиент", actor=Actor.of_user(manager), phones=["+79167654321"]
        )
    seller_chat = tg.user(SELLER_TG)
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

    manager_chat = tg.user(MANAGER_TG)
    (everything,) = documents(await manager_chat.say("/export"))
    assert everything.params["caption"] == "Контактов: 2"


async def test_export_with_nothing_visible_says_so(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    assert texts_of(await user.say("/export")) == ["Вам пока не видно ни одного контакта."]
