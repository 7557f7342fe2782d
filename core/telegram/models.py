"""Telegram updates claimed once, whichever instance receives them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class TelegramUpdate(Base):
    """A Telegram update already applied: a redelivered one is dropped (pruned after days)."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_received_at", "received_at"),)

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
