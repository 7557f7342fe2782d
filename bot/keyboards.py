"""The persistent reply keyboard with the daily entries."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.i18n import LOCALES, Texts, texts

MAIN_BUTTONS = ("kb-today", "kb-new-contact", "kb-my-deals")


def main_keyboard(t: Texts) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("kb-today")), KeyboardButton(text=t("kb-my-deals"))],
            [KeyboardButton(text=t("kb-new-contact"))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


def client_keyboard(t: Texts, *, phone: bool = True) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """A client's reply keyboard in the company bot: share their phone (until they did).

    The one place for a client's buttons: other features add theirs here."""
    rows: list[list[KeyboardButton]] = []
    if phone:
        rows.append([KeyboardButton(text=t("client-share-phone"), request_contact=True)])
    # Orders (bot/handlers/orders.py): the client's open orders, and a request to the team.
    rows.append(
        [KeyboardButton(text=t("client-btn-orders")), KeyboardButton(text=t("client-btn-request"))]
    )
    if not rows:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True)


def button_texts(key: str) -> set[str]:
    """A reply-keyboard caption in every language (a user may switch with /lang)."""
    return {texts(locale)(key) for locale in LOCALES}


def all_captions() -> set[str]:
    """Every reply-keyboard caption in every language."""
    return {caption for key in MAIN_BUTTONS for caption in button_texts(key)}
