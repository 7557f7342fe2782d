"""Telegram Business: a salesperson's own chats with clients, logged on the clients' timelines.

A salesperson with Telegram Business connects the company bot to their account; Telegram then
shows the bot every message of the chats they chose, both ways. Nothing is ever sent on their
behalf: this module only records.

1. Messages: `log_message` keeps a message of an `active` connection's private chat
   (business_connections.py says which are). Who wrote is `from.id == the account's id` (out)
   or the chat's own id (in); any other sender is a crafted update and ignored. The client is
   matched by Telegram user id (core.conversations.clients); someone new becomes a contact
   owned by the salesperson, who is asked (through the outbox) whether to keep logging that
   chat. A redelivered message is logged once.
2. Edits keep the earlier text in `history`; deletions stamp `deleted_at`. Messages of a
   refused, disabled or unknown connection, or of an excluded chat (business_chats.py), are
   never stored.
3. `log_message`, `log_edit` and `log_deletion` commit at their end; `message_unit`,
   `edit_unit` and `deletion_unit` are the same work without the commit, for the group commit
   of core/conversations/business_writer.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from core.context import Ctx
from core.conversations import clients
from core.conversations.models import (
    MESSAGE_KINDS,
    BusinessConnection,
    ChatMessage,
    Conversation,
)
from core.outbox import service as outbox

log = logging.getLogger(__name__)

CHANNEL = "business"
MAX_TEXT = clients.TEXT_LIMIT  # characters kept (Telegram sends at most 4,096)
NAME_LIMIT = 300

Logged = Literal["logged", "duplicate", "ignored", "unknown_connection"]
T = TypeVar("T")
# Session.info keys: what this session found or added (a group commit's batch asks again and
# again; the identity map keeps objects only while someone holds them).
SEEN_CHATS = "business_chats"
PENDING = "business_pending"
CONNECTIONS = "business_connections"
# Set by the group commit (business_writer) on a batch's session: a message is added without
# asking first whether the chat has it. A redelivery then fails the batch at its commit on
# uq_chat_messages_telegram, and the writer applies the batch again one by one, asking.
BATCHED = "business_batched"


@dataclass(frozen=True)
class ChatIn:
    """The private chat of a business message: the client's own id and names."""

    id: int
    type: str = "private"
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class MessageIn:
    """One business message (new or edited), as the adapter read it; `kind` is one of
    MESSAGE_KINDS, `text` the text or caption."""

    message_id: int
    chat: ChatIn
    from_id: int | None
    sent_at: datetime
    kind: str = "text"
    text: str | None = None
    edited_at: datetime | None = None
    media_group_id: str | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# -- messages ----------------------------------------------------------------------------------


async def log_message(ctx: Ctx, *, connection_id: str, message: MessageIn) -> Logged:
    """Keep one message of an active connection's private chat on the client's timeline.

    "unknown_connection" asks the adapter to fetch the connection from Telegram first; a
    redelivered message is a "duplicate"; anything not to be kept is "ignored" (with a line).
    """
    return await in_own_unit(ctx, lambda: message_unit(ctx, connection_id, message))


async def log_edit(ctx: Ctx, *, connection_id: str, message: MessageIn) -> Logged:
    """An edited message: the entry takes the new text and keeps the earlier one in
    `history`; an edit of a message never logged is logged as it reads now."""
    return await in_own_unit(ctx, lambda: edit_unit(ctx, connection_id, message))


async def log_deletion(
    ctx: Ctx, *, connection_id: str, chat: ChatIn, message_ids: list[int]
) -> int:
    """Messages the salesperson or the client deleted are marked deleted (text kept);
    returns how many entries were marked."""
    return await in_own_unit(ctx, lambda: deletion_unit(ctx, connection_id, chat, message_ids))


class ChatRace(Exception):
    """A concurrent update opened the same new chat while this one made a contact for it:
    roll back (dropping that contact) and apply the update again."""


async def in_own_unit(ctx: Ctx, unit: Callable[[], Awaitable[T]]) -> T:
    """Run one of the units below and commit it (a lost race is rolled back and run again)."""
    for _ in range(3):
        try:
            result = await unit()
            await ctx.session.commit()
        except (ChatRace, IntegrityError):  # another instance logged the same thing first
            await ctx.session.rollback()
            for key in (SEEN_CHATS, PENDING, CONNECTIONS):  # may hold what was rolled back
                ctx.session.info.pop(key, None)
            continue
        return result
    raise RuntimeError("a new business chat kept racing with its twin")


async def message_unit(ctx: Ctx, connection_id: str, message: MessageIn) -> Logged:
    """`log_message` without the commit: several can share one transaction (group commit)."""
    outcome = await _log_once(ctx, connection_id, message)
    if outcome is None:
        raise ChatRace
    return outcome


async def _connection(ctx: Ctx, connection_id: str) -> BusinessConnection | None:
    known: dict[str, BusinessConnection] = ctx.session.info.setdefault(CONNECTIONS, {})
    found = known.get(connection_id)
    if found is None:
        found = await ctx.session.get(BusinessConnection, connection_id)
        if found is not None:
            known[connection_id] = found
    return found


async def _log_once(ctx: Ctx, connection_id: str, message: MessageIn) -> Logged | None:
    """One try; None when a concurrent update opened the same new chat first (try again)."""
    connection = await _connection(ctx, connection_id)
    if connection is None:
        return "unknown_connection"
    direction = _direction(connection, message)
    if direction is None:
        return "ignored"
    conversation = await _conversation(ctx, connection_id, message.chat.id)
    if conversation is not None and conversation.excluded:
        return "ignored"
    first = conversation is None
    if conversation is None:
        conversation = await _open_conversation(ctx, connection, message.chat)
        if conversation is None:
            return None  # the caller rolls back the contact made for nothing
    if not await _keep(ctx, conversation, connection, direction, message):
        return "duplicate"
    conversation.updated_at = ctx.clock.now()
    if first and connection.user_id is not None:
        await outbox.enqueue(
            ctx,
            kind="business_new_chat",
            dedupe_key=f"business_new_chat:{conversation.id}",
            payload={"conversation_id": conversation.id},
            user_id=connection.user_id,
        )
    return "logged"


def _direction(connection: BusinessConnection, message: MessageIn) -> str | None:
    """ "out" (the salesperson wrote), "in" (the client), None when not to be kept."""
    if connection.status != "active" or connection.user_id is None:
        log.info("business message ignored: its connection is %s", connection.status)
        return None
    chat = message.chat
    if chat.type != "private" or chat.id == connection.telegram_user_id:
        log.info("business message ignored: not a private chat with a client (%s)", chat.type)
        return None
    if message.from_id == connection.telegram_user_id:
        return "out"
    if message.from_id == chat.id:
        return "in"
    log.warning("business message ignored: its sender is neither the account nor the client")
    return None


async def _conversation(ctx: Ctx, connection_id: str, chat_id: int) -> Conversation | None:
    """The chat's conversation; remembered for the rest of the session (a group commit's
    batch asks for the same few chats again and again)."""
    known: dict[tuple[str, int], Conversation] = ctx.session.info.setdefault(SEEN_CHATS, {})
    found = known.get((connection_id, chat_id))
    if found is None:
        found = await clients.find_conversation(
            ctx, chat_id=chat_id, channel=CHANNEL, business_connection_id=connection_id
        )
        if found is not None:
            known[(connection_id, chat_id)] = found
    return found


async def _open_conversation(
    ctx: Ctx, connection: BusinessConnection, chat: ChatIn
) -> Conversation | None:
    """The conversation of a chat seen for the first time, and its client's contact (matched
    by Telegram user id, else new and owned by the salesperson). None when a concurrent update
    opened it first while a contact was made here: the caller rolls back and tries again."""
    person = clients.TelegramPerson(
        user_id=chat.id,
        first_name=chat.first_name or "",
        last_name=chat.last_name,
        username=chat.username,
    )
    contact, contact_created = await clients.contact_for_telegram_user(
        ctx, person=person, owner_id=connection.user_id
    )
    conversation, created = await clients.open_conversation(
        ctx,
        contact=contact,
        chat_id=chat.id,
        telegram_user_id=chat.id,
        channel=CHANNEL,
        business_connection_id=connection.id,
        user_id=connection.user_id,
    )
    if contact_created and not created:
        return None
    ctx.session.info.setdefault(SEEN_CHATS, {})[(connection.id, chat.id)] = conversation
    return conversation


async def _keep(
    ctx: Ctx,
    conversation: Conversation,
    connection: BusinessConnection,
    direction: str,
    message: MessageIn,
) -> bool:
    """Put the message on the timeline; False when this chat already has it."""
    extra = dict(message.extra)
    if message.text is not None and len(message.text) > MAX_TEXT:
        extra["clipped_from"] = len(message.text)
    if message.media_group_id is None:
        return await _insert(ctx, conversation, connection, direction, message, extra)
    # An album: its items join one entry (clients.log_incoming), then the entry is turned
    # round when the salesperson sent it.
    last_in = conversation.last_in_at
    logged = await clients.log_incoming(
        ctx,
        conversation=conversation,
        message=clients.IncomingMessage(
            telegram_message_id=message.message_id,
            sent_at=message.sent_at,
            media_group_id=message.media_group_id,
            extra=extra,
            **(clients.content_of(message) | {"kind": _kind(message)}),
        ),
    )
    if logged.duplicate:
        return False
    if logged.new_entry and message.edited_at is not None:
        logged.message.edited_at = message.edited_at
    if direction == "out" and logged.new_entry:
        # The same record as a client's message, written by the salesperson.
        entry = logged.message
        entry.direction, entry.status, entry.author_user_id = "out", "sent", connection.user_id
        conversation.last_in_at = last_in
        conversation.last_out_at = _later(conversation.last_out_at, message.sent_at)
    return True


def _kind(message: MessageIn) -> str:
    return message.kind if message.kind in MESSAGE_KINDS else "other"


async def _insert(
    ctx: Ctx,
    conversation: Conversation,
    connection: BusinessConnection,
    direction: str,
    message: MessageIn,
    extra: dict[str, Any],
) -> bool:
    """One message, one statement: inserted unless the chat has it already (a redelivery)."""
    pending: set[tuple[int, int]] = ctx.session.info.setdefault(PENDING, set())
    key = (conversation.id, message.message_id)
    if key in pending:
        return False
    batched = ctx.session.info.get(BATCHED, False)
    if not batched and await _logged_before(ctx, conversation.id, message.message_id):
        return False
    text = message.text[:MAX_TEXT] if message.text is not None else None
    # Added, not inserted: a group commit's batch writes its messages in one statement.
    ctx.session.add(
        ChatMessage(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            channel=CHANNEL,
            direction=direction,
            author_user_id=connection.user_id if direction == "out" else None,
            telegram_message_id=message.message_id,
            kind=_kind(message),
            text=text,
            file_id=message.file_id,
            file_unique_id=message.file_unique_id,
            file_name=message.file_name[:255] if message.file_name else None,
            mime_type=message.mime_type[:128] if message.mime_type else None,
            file_size=message.file_size,
            extra=extra,
            history=[],
            status="received" if direction == "in" else "sent",
            sent_at=message.sent_at,
            edited_at=message.edited_at,
            created_at=ctx.clock.now(),
        )
    )
    pending.add(key)
    if direction == "in":
        conversation.last_in_at = _later(conversation.last_in_at, message.sent_at)
    else:
        conversation.last_out_at = _later(conversation.last_out_at, message.sent_at)
    return True


# Built once: building the expression per message (`Column == value`) was a tenth of the
# Business log's CPU; with bound parameters the statement is made and compiled once.
_LOGGED_BEFORE = select(ChatMessage.id).where(
    ChatMessage.conversation_id == bindparam("conversation_id"),
    ChatMessage.telegram_message_id == bindparam("message_id"),
)


async def _logged_before(ctx: Ctx, conversation_id: int, message_id: int) -> bool:
    found = await ctx.session.scalar(
        _LOGGED_BEFORE, {"conversation_id": conversation_id, "message_id": message_id}
    )
    return found is not None


def _later(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


async def edit_unit(ctx: Ctx, connection_id: str, message: MessageIn) -> Logged:
    """`log_edit` without the commit."""
    await ctx.session.flush()  # the message may be waiting in this batch
    connection = await _connection(ctx, connection_id)
    if connection is None:
        return "unknown_connection"
    if _direction(connection, message) is None:
        return "ignored"
    conversation = await _conversation(ctx, connection_id, message.chat.id)
    if conversation is not None and conversation.excluded:
        return "ignored"
    stored = None
    if conversation is not None:
        stored = await clients.log_edit(
            ctx,
            conversation=conversation,
            telegram_message_id=message.message_id,
            text_value=message.text,
            edited_at=message.edited_at or ctx.clock.now(),
        )
    if stored is None:
        return await message_unit(ctx, connection_id, message)
    return "logged"


async def deletion_unit(ctx: Ctx, connection_id: str, chat: ChatIn, message_ids: list[int]) -> int:
    """`log_deletion` without the commit."""
    await ctx.session.flush()  # the messages may be waiting in this batch
    connection = await _connection(ctx, connection_id)
    if connection is None or connection.status != "active" or not message_ids:
        if connection is None:
            log.info("deleted business messages ignored: unknown connection")
        return 0
    conversation = await _conversation(ctx, connection_id, chat.id)
    if conversation is None or conversation.excluded:
        return 0
    result = await ctx.session.execute(
        update(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.telegram_message_id.in_(message_ids[:1000]),
            ChatMessage.deleted_at.is_(None),
        )
        .values(deleted_at=ctx.clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
