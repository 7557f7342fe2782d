"""Telegram Business updates read into core's plain records (no aiogram type reaches core).

A message becomes one `MessageIn`: its kind (text, photo, document, voice, …, sticker with its
emoji, poll and dice as "other" with their details), its text or caption, the file's Telegram
reference (never the bytes) and, in `extra`, a forward's origin and the message it replies to.
A service message (a pin, a title change, a payment, …) has nothing to keep: None.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from aiogram.types import BusinessConnection, Chat, Message

from core.conversations.business import ChatIn, MessageIn
from core.conversations.business_connections import ConnectionIn
from core.conversations.clients import file_of

# (attribute of the message, kind stored): checked in this order (an animation also carries
# a document, so it comes first).
MEDIA = (
    ("animation", "animation"),
    ("photo", "photo"),
    ("video", "video"),
    ("video_note", "video_note"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("document", "document"),
    ("sticker", "sticker"),
)
EXTRA_LIMIT = 1000  # characters of a poll question or a place's title kept


def connection_in(connection: BusinessConnection) -> ConnectionIn:
    """Telegram's connection as core records it (the rights as Telegram gave them)."""
    if connection.rights is not None:
        rights: dict[str, Any] = connection.rights.model_dump(mode="json", exclude_none=True)
    else:
        rights = {"can_reply": bool(connection.can_reply)}
    return ConnectionIn(
        id=connection.id,
        telegram_user_id=connection.user.id,
        user_chat_id=connection.user_chat_id,
        is_enabled=connection.is_enabled,
        rights=rights,
    )


def chat_in(chat: Chat) -> ChatIn:
    """The chat's id, type and names: core's record has the fields of Telegram's."""
    return ChatIn(**{field.name: getattr(chat, field.name) for field in fields(ChatIn)})


def message_in(message: Message) -> MessageIn | None:
    """The message as core keeps it; None for a service message (nothing a person wrote)."""
    read = _content(message)
    if read is None:
        return None
    kind, text, extra, media = read
    if message.forward_origin is not None:
        extra["forward_origin"] = message.forward_origin.model_dump(mode="json", exclude_none=True)
    if message.reply_to_message is not None:
        extra["reply_to"] = message.reply_to_message.message_id
    return MessageIn(
        message_id=message.message_id,
        chat=chat_in(message.chat),
        from_id=message.from_user.id if message.from_user else None,
        sent_at=_aware(message.date),
        kind=kind,
        text=text,
        edited_at=datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else None,
        media_group_id=message.media_group_id,
        extra=extra,
        **file_of(media),
    )


def _content(message: Message) -> tuple[str, str | None, dict[str, Any], Any] | None:
    """(kind, text or caption, details, the media object) of what a person wrote."""
    if message.text is not None:
        return "text", message.text, {}, None
    for attribute, kind in MEDIA:
        media = getattr(message, attribute)
        if media:
            if isinstance(media, list):  # a photo comes in sizes: keep the largest
                media = media[-1]
            text = media.emoji if kind == "sticker" else message.caption
            return kind, text, {}, media
    if message.location is not None:
        place: dict[str, Any] = {
            "latitude": message.location.latitude,
            "longitude": message.location.longitude,
        }
        if message.venue is not None:
            place["title"] = message.venue.title[:EXTRA_LIMIT]
        return "location", None, {"location": place}, None
    if message.contact is not None:
        shared = message.contact.model_dump(mode="json", exclude_none=True)
        return "contact", message.contact.phone_number, {"contact": shared}, None
    if message.poll is not None:
        options = [option.text[:EXTRA_LIMIT] for option in message.poll.options][:20]
        poll = {"question": message.poll.question[:EXTRA_LIMIT], "options": options}
        return "other", message.poll.question[:EXTRA_LIMIT], {"poll": poll}, None
    if message.dice is not None:
        dice = {"emoji": message.dice.emoji, "value": message.dice.value}
        return "other", message.dice.emoji, {"dice": dice}, None
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
