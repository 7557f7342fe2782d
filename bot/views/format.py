"""Formatting helpers shared by the views: escaping, times in a zone, phones, trimming."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

TEXT_LIMIT = 4096
BUTTON_TEXT_LIMIT = 60
CLOSING_ROOM = 40  # room for the closing tags clip() may add
_TAG = re.compile(r"<(/?)(b|i|u|s|code|pre|a)\b[^>]*>")


@dataclass(frozen=True)
class Screen:
    """A message to send or to edit in place."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def esc(value: object) -> str:
    """User data, escaped for HTML parse mode."""
    return html.escape(str(value), quote=False)


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
    """Keep an HTML message within Telegram's limit, still valid HTML.

    Cuts at a line break when one is near, never inside an entity (`&amp;`) or a tag, and
    closes the tags the cut left open.
    """
    if len(text) <= limit:
        return text
    room = limit - 1 - CLOSING_ROOM
    cut = text.rfind("\n", 0, room)
    head = text[: cut if cut >= room // 2 else room]
    if head.rfind("&") > head.rfind(";"):
        head = head[: head.rfind("&")]
    if head.rfind("<") > head.rfind(">"):
        head = head[: head.rfind("<")]
    open_tags: list[str] = []
    for closing, name in _TAG.findall(head):
        if not closing:
            open_tags.append(name)
        elif name in open_tags:
            open_tags.reverse()
            open_tags.remove(name)
            open_tags.reverse()
    return head + "…" + "".join(f"</{name}>" for name in reversed(open_tags))


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
