"""Small helpers the feature routers share: FSM states, asking for input, showing a screen."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
)

from bot.callbacks import DialogCb
from bot.i18n import Texts
from bot.keyboards import all_captions
from bot.views.format import Screen

# Text typed for a flow or a search: not a command and not a reply-keyboard caption.
FREE_TEXT = F.text & ~F.text.startswith("/") & ~F.text.in_(all_captions())


class Flow(StatesGroup):
    """Every multi-step input; the FSM data says what it is about (ids only)."""

    note = State()  # data: contact_id, call_id?
    plan_when = State()  # data: contact_id?, activity_id? (reschedule), title?
    new_contact_name = State()  # data: phone?
    new_contact_phone = State()  # data: name
    edit_value = State()  # data: contact_id, field
    deal_title = State()  # data: contact_id
    deal_amount = State()  # data: deal_id
    deal_reason = State()  # data: deal_id
    extension = State()  # data: user_id
    task_title = State()  # data: activity_id (rename)
    note_edit = State()  # data: note_id


def cancelable(t: Texts, screen: Screen | str) -> Screen:
    """A prompt with a Cancel button under it (bot/handlers/dialogs.py ends the dialog)."""
    if isinstance(screen, str):
        screen = Screen(screen)
    cancel = [
        InlineKeyboardButton(text=t("btn-cancel"), callback_data=DialogCb(action="cancel").pack())
    ]
    rows = list(screen.markup.inline_keyboard) if screen.markup is not None else []
    return Screen(screen.text, InlineKeyboardMarkup(inline_keyboard=[*rows, cancel]))


async def ask(
    target: Message | CallbackQuery,
    t: Texts,
    state: FSMContext,
    step: State,
    data: dict[str, Any],
    prompt: Screen | str,
) -> None:
    """A dialog's next step: the FSM waits in `step` with `data` (ids only, replacing what it
    held), and the prompt goes out as a new message with Cancel under it."""
    await state.set_state(step)
    await state.set_data(data)
    await answer(target, cancelable(t, prompt))


async def show(query: CallbackQuery, screen: Screen) -> None:
    """Replace the pressed message with the screen (or send it when the message is gone)."""
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_text(screen.text, reply_markup=screen.markup)
            return
        except TelegramBadRequest as error:
            if "not modified" in str(error):
                return
            # Too old or not text (a document): say it in a new message instead.
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup)


async def answer(
    target: Message | CallbackQuery,
    screen: Screen,
    keyboard: ReplyKeyboardMarkup | None = None,
) -> None:
    """Send the screen as a new message in the chat of a message or a pressed button."""
    markup = screen.markup if screen.markup is not None else keyboard
    if isinstance(target, Message):
        await target.answer(screen.text, reply_markup=markup)
    elif target.bot is not None:
        await target.bot.send_message(target.from_user.id, screen.text, reply_markup=markup)


def tomorrow_at(now: datetime, timezone: str, hour: int) -> datetime:
    """Tomorrow at `hour`:00 in the zone, as aware UTC."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))
