"""Conversations with clients in Telegram: the company bot and salespeople's Business chats.

A `Conversation` is one Telegram chat with one client on one channel:
- `bot`: the client writes to the company bot; their private chat id is `chat_id`.
- `business`: a salesperson's own chat, seen through a Telegram Business connection
  (`business_connection_id`); `user_id` is the salesperson whose account it is.

Every message either way is a `ChatMessage` on the contact's timeline. Media keep Telegram's
file reference (`file_id`, `file_unique_id`), type and size, not the bytes. An edit keeps the
earlier texts in `history`; a deletion sets `deleted_at` and keeps the text until the contact
is forgotten. `MessageRelay` remembers which staff message showed which client message, so
a salesperson's reply to it reaches that client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime, partial_index

ConversationChannel = Literal["bot", "business"]
ConversationStatus = Literal["open", "closed", "blocked"]
MessageDirection = Literal["in", "out"]
# What a chat message is (`ChatMessage.kind`); Telegram's other kinds are stored as "other".
MESSAGE_KINDS = (
    "text",
    "photo",
    "document",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "sticker",
    "location",
    "contact",
    "other",
)


class Conversation(Timestamped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # One conversation per chat and channel (business chats: per connection too).
        Index(
            "uq_conversations_chat",
            "channel",
            "business_connection_id",
            "chat_id",
            unique=True,
        ),
        Index("ix_conversations_contact", "contact_id"),
        Index("ix_conversations_telegram_user", "telegram_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # bot|business
    # "" for the company bot (so the unique index holds on every database), else Telegram's id.
    business_connection_id: Mapped[str] = mapped_column(String(64), default="")
    chat_id: Mapped[int] = mapped_column(BigInteger)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # Business chats: the salesperson whose account it is. Bot chats: unused (the owner is
    # the contact's owner).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|closed|blocked
    closed_reason: Mapped[str | None] = mapped_column(String(64))  # e.g. "bot_blocked"
    # Business chats the salesperson chose not to log: nothing of theirs is kept.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    # Where the client came from: the public link's tag (`start=hello_<tag>`), "greeting", …
    source: Mapped[str | None] = mapped_column(String(64))
    last_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Once per conversation: the out-of-hours auto-reply, the flood notice (per window).
    auto_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flood_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_contact", "contact_id", "sent_at"),
        Index("ix_chat_messages_conversation", "conversation_id", "sent_at"),
        # A Telegram message is logged once (redelivered updates, restarts).
        partial_index(
            "uq_chat_messages_telegram",
            "conversation_id",
            "telegram_message_id",
            where="telegram_message_id IS NOT NULL",
            unique=True,
        ),
        Index("ix_chat_messages_media_group", "conversation_id", "media_group_id"),
        partial_index(
            "uq_chat_messages_idempotency",
            "idempotency_key",
            where="idempotency_key IS NOT NULL",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # bot|business (copied for the timeline)
    direction: Mapped[str] = mapped_column(String(4))  # in (from the client)|out (to the client)
    # Who wrote an outgoing message (the salesperson; NULL for the bot itself or the API).
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "api:<key name>", "auto_reply", "order_status", … when no person wrote it.
    author_label: Mapped[str | None] = mapped_column(String(120))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="text")  # one of MESSAGE_KINDS
    text: Mapped[str | None] = mapped_column(Text)  # the text or the caption
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_unique_id: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    # Kind-specific details (location, shared contact, album items, forward origin, …).
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Earlier texts, oldest first: [{"text": …, "edited_at": iso}].
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Outgoing: pending (in the outbox) | sent | failed; incoming: received.
    status: Mapped[str] = mapped_column(String(16), default="received")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)  # Telegram's date, or when queued
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRelay(Base):
    """A staff member's copy of a client message: a reply to it answers that client. A
    grouped relay (several waiting client messages as one staff message) has one row for
    each client message it shows."""

    __tablename__ = "message_relays"
    __table_args__ = (
        Index(
            "uq_message_relays_staff_message",
            "staff_chat_id",
            "staff_message_id",
            "message_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    staff_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BusinessConnection(Base):
    """A salesperson's Telegram Business account connected to the company bot."""

    __tablename__ = "business_connections"

    # Telegram's `business_connection.id`.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The staff member it belongs to; NULL when the account is not on the team (refused).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    user_chat_id: Mapped[int] = mapped_column(BigInteger)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|refused|disabled
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientRoutingState(Base):
    """Round-robin pointer for new clients (one row; updated under the claim of that row)."""

    __tablename__ = "client_routing_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = [
    "BusinessConnection",
    "ChatMessage",
    "ClientRoutingState",
    "Conversation",
    "MessageRelay",
]


class ClientText(Base):
    """An admin's text for one key (welcome, auto_reply, …) in one language."""

    __tablename__ = "client_texts"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
