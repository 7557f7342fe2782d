"""The persistent reply keyboard with the daily entries."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

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


def button_texts(key: str) -> set[str]:
    """A reply-keyboard caption in every language (a user may switch with /lang)."""
    return {texts(locale)(key) for locale in LOCALES}


def all_captions() -> set[str]:
    """Every reply-keyboard caption in every language."""
    return {caption for key in MAIN_BUTTONS for caption in button_texts(key)}
