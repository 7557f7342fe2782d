"""The fake Bot API server behaves like Telegram where the real aiogram Bot can tell."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.runtime import create_bot
from tests.bot.conftest import close_bot
from tests.fakes.telegram_api import FakeTelegram

CHAT = 777


def keyboard(label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=f"x:{label}")]]
    )


async def test_get_me_names_the_configured_bot(tg_bot: Bot, fake_tg: FakeTelegram) -> None:
    me = await tg_bot.get_me()

    assert (me.id, me.username, me.is_bot) == (123456, "perezvon_test_bot", True)
    assert [c.method for c in fake_tg.calls] == ["getMe"]


async def test_a_wrong_token_is_unauthorized(fake_tg: FakeTelegram) -> None:
    bot = create_bot(token="999:WRONG", api_url=fake_tg.url)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await close_bot(bot)


async def test_messages_get_increasing_ids_and_decoded_markup(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    first = await tg_bot.send_message(CHAT, "<b>one</b>", reply_markup=keyboard("a"))
    second = await tg_bot.send_message(CHAT, "two")

    assert second.message_id > first.message_id
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump(exclude_none=True) == keyboard("a").model_dump(
        exclude_none=True
    )
    call = fake_tg.sent("sendMessage")[0]
    assert call.params["chat_id"] == CHAT
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "x:a"


async def test_edits_change_the_stored_message_and_an_identical_edit_is_refused(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    sent = await tg_bot.send_message(CHAT, "card", reply_markup=keyboard("a"))

    await tg_bot.edit_message_text("card v2", chat_id=CHAT, message_id=sent.message_id)
    await tg_bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await tg_bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("b")
        )

    assert fake_tg.message(CHAT, sent.message_id) == {
        "text": "card v2",
        "reply_markup": keyboard("b").model_dump(exclude_none=True),
    }


async def test_too_long_and_empty_texts_are_bad_requests(tg_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="too long"):
        await tg_bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="empty"):
        await tg_bot.send_message(CHAT, "  ")


async def test_a_document_larger_than_aiohttps_default_body_limit_arrives_whole(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    content = bytes(range(256)) * 8192  # 2 MiB

    message = await tg_bot.send_document(
        CHAT, BufferedInputFile(content, filename="digest.xlsx"), caption="Digest"
    )

    assert message.document is not None and message.document.file_name == "digest.xlsx"
    call = fake_tg.sent("sendDocument")[0]
    assert call.files["document"].filename == "digest.xlsx"
    assert call.files["document"].content == content
    assert call.params["caption"] == "Digest"


async def test_commands_are_kept_per_scope_and_language(tg_bot: Bot, fake_tg: FakeTelegram) -> None:
    await tg_bot.set_my_commands(
        [BotCommand(command="today", description="Сегодня")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    await tg_bot.set_my_commands([BotCommand(command="today", description="Today")])

    russian = await tg_bot.get_my_commands(
        scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    default = await tg_bot.get_my_commands()
    assert [c.description for c in russian] == ["Сегодня"]
    assert [c.description for c in default] == ["Today"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, TelegramForbiddenError),
        (500, TelegramServerError),
        (400, TelegramBadRequest),
    ],
)
async def test_queued_failures_raise_the_matching_aiogram_error_once(
    tg_bot: Bot, fake_tg: FakeTelegram, status: int, error: type[Exception]
) -> None:
    fake_tg.fail("sendMessage", status)

    with pytest.raises(error):
        await tg_bot.send_message(CHAT, "hi")
    await tg_bot.send_message(CHAT, "hi")

    assert [c.status for c in fake_tg.calls] == [status, 200]


async def test_429_carries_retry_after_and_failures_can_target_one_chat(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    fake_tg.fail("sendMessage", 429, retry_after=7, chat_id=CHAT)

    await tg_bot.send_message(CHAT + 1, "other chat is fine")
    with pytest.raises(TelegramRetryAfter) as raised:
        await tg_bot.send_message(CHAT, "hi")

    assert raised.value.retry_after == 7


async def test_offline_refuses_connections_until_back_online(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    await fake_tg.go_offline()
    with pytest.raises(TelegramNetworkError):
        await tg_bot.send_message(CHAT, "lost?")
    await fake_tg.go_online()

    await tg_bot.send_message(CHAT, "back")
    assert [c.text for c in fake_tg.sent()] == ["back"]


async def test_get_updates_long_polls_and_wakes_on_a_new_update(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    started = time.monotonic()
    empty = await tg_bot.get_updates(timeout=1)
    assert empty == []
    assert time.monotonic() - started >= 0.9

    poll = asyncio.create_task(tg_bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    update_id = await fake_tg.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "text": "hi",
            }
        }
    )
    updates = await asyncio.wait_for(poll, 2)

    assert [u.update_id for u in updates] == [update_id]
    assert updates[0].message is not None and updates[0].message.text == "hi"
    assert await tg_bot.get_updates(offset=update_id + 1, timeout=0) == []


async def test_get_updates_conflicts_while_a_webhook_is_set(
    tg_bot: Bot, fake_tg: FakeTelegram
) -> None:
    await tg_bot.set_webhook("https://example.invalid/telegram/webhook", secret_token="s3cret")
    assert fake_tg.webhook == {
        "url": "https://example.invalid/telegram/webhook",
        "secret_token": "s3cret",
    }

    with pytest.raises(Exception, match="webhook is active"):
        await tg_bot.get_updates(timeout=0)
    await tg_bot.delete_webhook()
    assert await tg_bot.get_updates(timeout=0) == []
