"""Renders outbox notifications into Telegram messages (HTML, user data escaped)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import BotDeps
from core.models.system import Notification


@dataclass
class Rendered:
    """One message (or document) ready to send."""

    chat_id: int
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    document: bytes | None = None
    filename: str | None = None


async def render(
    session: AsyncSession, deps: BotDeps, notification: Notification
) -> Rendered | None:
    """The message for a notification, or None when there is nobody to send it to."""
    return None
