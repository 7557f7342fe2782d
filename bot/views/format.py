"""Formatting helpers shared by the views: escaping, times in a zone, phones, trimming."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Texts
from bot.text_split import split_html, telegram_length

TEXT_LIMIT = 4096
BUTTON_TEXT_LIMIT = 60


@dataclass(frozen=True)
class Screen:
    """A message to send or to edit in place."""

    text: str
    markup: InlineKeyboardMarkup | None = None


CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "CNY": "¥"}


def money(amount: Decimal, currency: str, locale: str = "ru") -> str:
    """An amount as people read it: «450 000 ₽», «150 000,50 ₽» (ru), «150,000.50 $» (en);
    kopecks only when there are some."""
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    if locale == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return f"{text}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


def esc(value: object) -> str:
    """User data, escaped for HTML parse mode."""
    return html.escape(str(value), quote=False)


def day_and_time(t: Texts, value: datetime | None, timezone: str) -> str:
    """A moment restated as people check it, with the weekday: «вт, 8 декабря, 15:00»."""
    if value is None:
        return "—"
    moment = value.astimezone(ZoneInfo(timezone))
    return t(
        "day-and-time",
        weekday=t(f"weekday-{moment.isoweekday()}"),
        day=moment.day,
        month=t(f"month-of-{moment.month}"),
        time=f"{moment:%H:%M}",
    )


def local_time(value: datetime | None, timezone: str, *, with_date: bool = True) -> str:
    if value is None:
        return "—"
    moment = value.astimezone(ZoneInfo(timezone))
    return moment.strftime("%d.%m %H:%M" if with_date else "%H:%M")


def pretty_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def phone_link(e164: str) -> str:
    """A `tel:` link (phones are ASCII digits and '+', nothing to escape but the text)."""
    return f'<a href="tel:{esc(e164)}">{esc(pretty_phone(e164))}</a>'


def button_text(value: str) -> str:
    """A button caption from user data: one line, not too long."""
    line = " ".join(value.split())
    return line if len(line) <= BUTTON_TEXT_LIMIT else line[: BUTTON_TEXT_LIMIT - 1] + "…"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Keep an HTML message within Telegram's limit (counted as Telegram counts it), still
    valid HTML: the first part `split_html` would send, and "…"."""
    if telegram_length(text) <= limit:
        return text
    parts = split_html(text, limit - 1)
    return parts[0] + "…" if parts else text[: limit - 1] + "…"


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
