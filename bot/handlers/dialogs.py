"""Ways out of any dialog: Cancel on every prompt, /cancel, «отмена», and a menu button
pressed mid-dialog asks before it drops what was being typed.

1. This router is included first, so «отмена» is never taken as the note or name a prompt
   waits for, and a menu caption mid-dialog is caught before its own handler drops the
   dialog silently.
2. `/cancel`, «отмена» / «cancel» and the Cancel button end whatever dialog is open (the FSM
   state and its data) and say so; with no dialog open they say there is nothing to cancel.
3. A reply-keyboard button pressed while a prompt waits asks «drop it?»: Drop ends the
   dialog (press the button again), Keep leaves the prompt waiting.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message

from bot.callbacks import DialogCb
from bot.handlers.common import Flow, show
from bot.i18n import Texts
from bot.keyboards import all_captions
from bot.views.format import Screen, markup

CANCEL_WORDS = {"отмена", "отменить", "отмени", "cancel"}


def _is_cancel_word(text: str | None) -> bool:
    return bool(text) and str(text).strip().strip(".!").casefold() in CANCEL_WORDS


async def _cancel(state: FSMContext, t: Texts) -> str:
    if await state.get_state() is None:
        return t("dialog-nothing-to-cancel")
    await state.clear()
    return t("dialog-canceled")


async def cancel_command(message: Message, t: Texts, state: FSMContext) -> None:
    """`/cancel` or «отмена»: end the open dialog."""
    await message.answer(await _cancel(state, t))


async def cancel_button(query: CallbackQuery, t: Texts, state: FSMContext) -> None:
    """The Cancel button under a prompt."""
    await show(query, Screen(await _cancel(state, t)))


async def menu_mid_dialog(message: Message, t: Texts) -> None:
    """A menu button while a prompt waits: ask before dropping what was being typed."""
    rows = [
        [
            InlineKeyboardButton(
                text=t("btn-dialog-drop"), callback_data=DialogCb(action="drop").pack()
            ),
            InlineKeyboardButton(
                text=t("btn-dialog-keep"), callback_data=DialogCb(action="keep").pack()
            ),
        ]
    ]
    await message.answer(t("dialog-drop-ask"), reply_markup=markup(rows))


async def drop(query: CallbackQuery, t: Texts, state: FSMContext) -> None:
    await state.clear()
    await show(query, Screen(t("dialog-dropped")))


async def keep(query: CallbackQuery, t: Texts) -> None:
    await show(query, Screen(t("dialog-kept")))


def router() -> Router:
    r = Router(name="dialogs")
    r.message.register(cancel_command, Command("cancel"))
    r.message.register(cancel_command, F.text.func(_is_cancel_word))
    r.message.register(menu_mid_dialog, StateFilter(Flow), F.text.in_(all_captions()))
    r.callback_query.register(cancel_button, DialogCb.filter(F.action == "cancel"))
    r.callback_query.register(drop, DialogCb.filter(F.action == "drop"))
    r.callback_query.register(keep, DialogCb.filter(F.action == "keep"))
    return r
