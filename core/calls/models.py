"""Calls and the telephony inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime

Direction = Literal["in", "out", "internal"]
CallStatus = Literal["ringing", "answered", "missed", "busy", "failed"]


class Call(Timestamped, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("provider", "provider_call_id"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_client_e164_started", "client_e164", "started_at"),
        Index("ix_calls_contact_started", "contact_id", "started_at"),
        Index("ix_calls_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_call_id: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(8), default="in")
    status: Mapped[str] = mapped_column(String(8), default="ringing")
    client_e164: Mapped[str | None] = mapped_column(String(20))
    client_raw: Mapped[str | None] = mapped_column(String(128))
    our_phone: Mapped[str | None] = mapped_column(String(64))
    extension: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    recording: Mapped[str | None] = mapped_column(String(1024))
    disposition: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    callback_of_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    final: Mapped[bool] = mapped_column(default=False)  # the provider's final record was applied


class TelephonyEvent(Base):
    """The inbox: every accepted webhook, stored before the provider gets its 200."""

    __tablename__ = "telephony_events"
    __table_args__ = (
        Index("ix_telephony_events_pending", "processed_at", "id"),
        Index("ix_telephony_events_call", "provider", "call_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    call_key: Mapped[str | None] = mapped_column(String(128))
    event_type: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(255))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
