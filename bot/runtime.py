"""Bot runtime: the Bot on the configured API server, FSM storage, polling or webhook mode."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

OFFICIAL_API_URL = "https://api.telegram.org"


def create_bot(*, token: str, api_url: str = OFFICIAL_API_URL) -> Bot:
    """A Bot talking HTML to the official server, a self-hosted Bot API server or a test fake."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    return Bot(
        token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
