"""Telegram Business: a salesperson's own chats with clients, logged on the clients' timelines.

A salesperson with Telegram Business connects the company bot to their account; Telegram then
shows the bot every message of the chats they chose, both ways. Nothing is ever sent on their
behalf: this module only records.

1. Connection: `record_connection` stores Telegram's `business_connection`. An account that
   belongs to an active staff member (by Telegram user id) is `active`; any other account is
   `refused` (user_id NULL) and logged; `is_enabled=false` makes it `disabled`. A connection id
   is bound to the account it was first seen with: an update that gives a known id to another
   account is ignored.
2. Messages: `log_message` keeps a message of an `active` connection's private chat. Who wrote
   is `from.id == the account's id` (out) or the chat's own id (in); any other sender is a
   crafted update and ignored. The client is matched by Telegram user id; someone new becomes
   a contact owned by the salesperson, and the salesperson is asked (through the outbox)
   whether to keep logging that chat. A redelivered message is logged once.
3. Edits keep the earlier text in `history`; deletions stamp `deleted_at`. Messages of a
   refused, disabled or unknown connection, or of an excluded chat, are never stored.
4. Exclusion: the salesperson excludes one of their chats (`set_excluded`); what was logged
   from it is deleted, and nothing more is kept until they include it again.
Each function is one unit of work: it commits at its end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core import access
from core.context import Actor, Ctx
from core.errors import NotFound
from core.models.contacts import Contact
from core.models.conversations import BusinessConnection, ChatMessage, Conversation
from core.models.users import User
from core.services import outbox
from core.services.common import audit
from core.services.contacts import build_search_text

log = logging.getLogger(__name__)

CHANNEL = "business"
MAX_TEXT = 16_000  # characters kept of a text (Telegram sends at most 4,096; more is crafted)
NAME_LIMIT = 300
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

Logged = Literal["logged", "duplicate", "ignored", "unknown_connection"]
ConnectionState = Literal["active", "refused", "disabled"]


@dataclass(frozen=True)
class ConnectionIn:
    """Telegram's `business_connection`, as the adapter read it."""

    id: str
    telegram_user_id: int
    user_chat_id: int
    is_enabled: bool
    rights: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionOutcome:
    status: ConnectionState | Literal["ignored"]
    changed: bool  # the status differs from what was recorded before
    user_id: int | None = None


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


@dataclass(frozen=True)
class BusinessChat:
    """One of a salesperson's logged chats, for the list of chats and its toggles."""

    conversation: Conversation
    contact: Contact


# -- connections -------------------------------------------------------------------------------


async def record_connection(ctx: Ctx, *, connection: ConnectionIn) -> ConnectionOutcome:
    """Store a connection: active for an active staff member, refused for anyone else, disabled
    when Telegram says it is off; the salesperson is told when theirs starts or stops."""
    try:
        return await _record_once(ctx, connection)
    except IntegrityError:
        # The same new connection recorded at once by its update and by a message's fetch.
        await ctx.session.rollback()
        return await _record_once(ctx, connection)


async def _record_once(ctx: Ctx, connection: ConnectionIn) -> ConnectionOutcome:
    row = await ctx.session.get(BusinessConnection, connection.id)
    if row is not None and row.telegram_user_id != connection.telegram_user_id:
        log.warning("business connection update ignored: the connection belongs to another account")
        return ConnectionOutcome("ignored", changed=False, user_id=row.user_id)
    staff = await ctx.session.scalar(
        select(User).where(User.telegram_user_id == connection.telegram_user_id)
    )
    owner = staff if staff is not None and staff.active else None
    status: ConnectionState = (
        "refused" if owner is None else "active" if connection.is_enabled else "disabled"
    )
    now = ctx.clock.now()
    before = row.status if row is not None else None
    if row is None:
        row = BusinessConnection(id=connection.id, connected_at=now)
        ctx.session.add(row)
    row.user_id = owner.id if owner else None
    row.telegram_user_id = connection.telegram_user_id
    row.user_chat_id = connection.user_chat_id
    row.is_enabled = connection.is_enabled
    row.rights = dict(connection.rights)
    row.status = status
    row.updated_at = now
    changed = before != status
    if status == "refused" and changed:
        why = "a deactivated staff member" if staff is not None else "not on the team"
        log.warning(
            "Telegram Business connection refused: Telegram user %s is %s; none of its "
            "messages are kept",
            connection.telegram_user_id,
            why,
        )
    if owner is not None and changed and (status == "active" or before == "active"):
        kind = "business_connected" if status == "active" else "business_disconnected"
        await outbox.enqueue(
            ctx,
            kind=kind,
            dedupe_key=f"{kind}:{connection.id}:{now.isoformat()}",
            payload={"connection_id": connection.id},
            user_id=owner.id,
        )
    await ctx.session.commit()
    return ConnectionOutcome(status, changed=changed, user_id=row.user_id)


async def connection_of(ctx: Ctx, *, user_id: int) -> BusinessConnection | None:
    """The salesperson's latest Business connection (any status), or None."""
    row: BusinessConnection | None = await ctx.session.scalar(
        select(BusinessConnection)
        .where(BusinessConnection.user_id == user_id)
        .order_by(BusinessConnection.updated_at.desc())
        .limit(1)
    )
    return row


# -- messages ----------------------------------------------------------------------------------


async def log_message(ctx: Ctx, *, connection_id: str, message: MessageIn) -> Logged:
    """Keep one message of an active connection's private chat on the client's timeline.

    "unknown_connection" asks the adapter to fetch the connection from Telegram first; a
    redelivered message is a "duplicate"; anything not to be kept is "ignored" (with a line).
    """
    for attempt in (1, 2):
        try:
            return await _log_once(ctx, connection_id, message)
        except IntegrityError:
            # Two updates of a new chat at once: the other one created the conversation.
            await ctx.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _log_once(ctx: Ctx, connection_id: str, message: MessageIn) -> Logged:
    connection = await ctx.session.get(BusinessConnection, connection_id)
    if connection is None:
        return "unknown_connection"
    direction = _direction(connection, message)
    if direction is None:
        await ctx.session.rollback()
        return "ignored"
    conversation = await _conversation(ctx, connection_id, message.chat.id)
    if conversation is not None and conversation.excluded:
        await ctx.session.rollback()
        return "ignored"
    first = conversation is None
    if conversation is None:
        conversation = await _open_conversation(ctx, connection, message.chat)
    logged = await _insert_message(ctx, conversation, connection, direction, message)
    if not logged:
        await ctx.session.rollback()
        return "duplicate"
    if direction == "in":
        conversation.last_in_at = _later(conversation.last_in_at, message.sent_at)
    else:
        conversation.last_out_at = _later(conversation.last_out_at, message.sent_at)
    conversation.updated_at = ctx.clock.now()
    if first and connection.user_id is not None:
        await outbox.enqueue(
            ctx,
            kind="business_new_chat",
            dedupe_key=f"business_new_chat:{conversation.id}",
            payload={"conversation_id": conversation.id},
            user_id=connection.user_id,
        )
    await ctx.session.commit()
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
    found: Conversation | None = await ctx.session.scalar(
        select(Conversation).where(
            Conversation.channel == CHANNEL,
            Conversation.business_connection_id == connection_id,
            Conversation.chat_id == chat_id,
        )
    )
    return found


async def _open_conversation(
    ctx: Ctx, connection: BusinessConnection, chat: ChatIn
) -> Conversation:
    """The conversation of a chat seen for the first time, and its client's contact."""
    assert connection.user_id is not None
    contact = await _client_contact(ctx, connection.user_id, chat)
    now = ctx.clock.now()
    conversation = Conversation(
        contact_id=contact.id,
        channel=CHANNEL,
        business_connection_id=connection.id,
        chat_id=chat.id,
        telegram_user_id=chat.id,
        user_id=connection.user_id,
        status="open",
        excluded=False,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(conversation)
    await ctx.session.flush()
    return conversation


async def _client_contact(ctx: Ctx, salesperson_id: int, chat: ChatIn) -> Contact:
    """The live contact with this Telegram user id, else a new one owned by the salesperson."""
    found: Contact | None = await ctx.session.scalar(
        select(Contact)
        .where(Contact.telegram_user_id == chat.id, Contact.deleted_at.is_(None))
        .order_by(Contact.id)
        .limit(1)
    )
    if found is not None:
        return found
    now = ctx.clock.now()
    contact = Contact(
        name=_client_name(chat),
        owner_id=salesperson_id,
        telegram_user_id=chat.id,
        source="bot",  # Telegram: the same source as the company bot's clients
        tags=[],
        marketing_consent=False,
        created_at=now,
        updated_at=now,
    )
    contact.search_text = build_search_text(contact, None)
    ctx.session.add(contact)
    await ctx.session.flush()
    audit(
        ctx,
        actor=Actor.system("telegram-business"),
        entity="contact",
        entity_id=contact.id,
        action="create",
        changes={"name": contact.name, "source": "bot", "owner_id": salesperson_id},
    )
    return contact


def _client_name(chat: ChatIn) -> str:
    parts = [p.strip() for p in (chat.first_name, chat.last_name) if p and p.strip()]
    name = " ".join(parts) or (f"@{chat.username}" if chat.username else f"Telegram {chat.id}")
    return name[:NAME_LIMIT]


async def _insert_message(
    ctx: Ctx,
    conversation: Conversation,
    connection: BusinessConnection,
    direction: str,
    message: MessageIn,
) -> bool:
    """Insert the message unless this chat already has it; True when it was new."""
    text, extra = message.text, dict(message.extra)
    if text is not None and len(text) > MAX_TEXT:
        text, extra["clipped_from"] = text[:MAX_TEXT], len(text)
    values = {
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel": CHANNEL,
        "direction": direction,
        "author_user_id": connection.user_id if direction == "out" else None,
        "telegram_message_id": message.message_id,
        "media_group_id": message.media_group_id,
        "kind": message.kind if message.kind in MESSAGE_KINDS else "other",
        "text": text,
        "file_id": message.file_id,
        "file_unique_id": message.file_unique_id,
        "file_name": (message.file_name or "")[:255] or None,
        "mime_type": (message.mime_type or "")[:128] or None,
        "file_size": message.file_size,
        "extra": extra,
        "history": [],
        "status": "received" if direction == "in" else "sent",
        "sent_at": message.sent_at,
        "edited_at": message.edited_at,
        "created_at": ctx.clock.now(),
    }
    dialect = ctx.session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_fn(ChatMessage)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["conversation_id", "telegram_message_id"],
            index_where=ChatMessage.telegram_message_id.is_not(None),
        )
    )
    result = await ctx.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


def _later(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


async def log_edit(ctx: Ctx, *, connection_id: str, message: MessageIn) -> Logged:
    """An edited message: the entry takes the new text and keeps the earlier one in
    `history`; an edit of a message never logged is logged as it reads now."""
    connection = await ctx.session.get(BusinessConnection, connection_id)
    if connection is None:
        return "unknown_connection"
    if _direction(connection, message) is None:
        return "ignored"
    conversation = await _conversation(ctx, connection_id, message.chat.id)
    if conversation is None or conversation.excluded:
        if conversation is not None:
            return "ignored"
        return await log_message(ctx, connection_id=connection_id, message=message)
    entry = await ctx.session.scalar(
        select(ChatMessage).where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.telegram_message_id == message.message_id,
        )
    )
    if entry is None:
        return await log_message(ctx, connection_id=connection_id, message=message)
    text = message.text[:MAX_TEXT] if message.text is not None else None
    if text == entry.text:
        await ctx.session.rollback()
        return "duplicate"
    edited_at = message.edited_at or ctx.clock.now()
    earlier = entry.edited_at or entry.sent_at
    entry.history = [*entry.history, {"text": entry.text, "edited_at": earlier.isoformat()}]
    entry.text = text
    entry.edited_at = edited_at
    await ctx.session.commit()
    return "logged"


async def log_deletion(
    ctx: Ctx, *, connection_id: str, chat: ChatIn, message_ids: list[int]
) -> int:
    """Messages the salesperson or the client deleted are marked deleted (text kept);
    returns how many entries were marked."""
    connection = await ctx.session.get(BusinessConnection, connection_id)
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
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


# -- the salesperson's choices -------------------------------------------------------------------


async def set_excluded(
    ctx: Ctx, *, actor: Actor, conversation_id: int, excluded: bool
) -> BusinessChat:
    """Exclude one of the actor's own Business chats from logging (what was logged from it is
    deleted) or include it again. Someone else's chat is NotFound."""
    conversation = await ctx.session.get(Conversation, conversation_id)
    if (
        conversation is None
        or conversation.channel != CHANNEL
        or conversation.user_id is None
        or conversation.user_id != actor.user_id
    ):
        raise NotFound("business chat not found", code="business-chat-not-found")
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if contact is None:
        raise NotFound("business chat not found", code="business-chat-not-found")
    if conversation.excluded != excluded:
        conversation.excluded = excluded
        conversation.updated_at = ctx.clock.now()
        if excluded:
            await ctx.session.execute(
                delete(ChatMessage).where(ChatMessage.conversation_id == conversation.id)
            )
        audit(
            ctx,
            actor=actor,
            entity="conversation",
            entity_id=conversation.id,
            action="exclude" if excluded else "include",
            changes={"contact_id": contact.id},
        )
        await ctx.session.commit()
    return BusinessChat(conversation, contact)


async def my_chats(ctx: Ctx, *, actor: Actor, limit: int = 20) -> list[BusinessChat]:
    """The actor's own Business chats, the most recent first."""
    rows = await ctx.session.execute(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.channel == CHANNEL, Conversation.user_id == actor.user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [BusinessChat(conversation, contact) for conversation, contact in rows.tuples()]


async def chat_log(
    ctx: Ctx, *, actor: Actor, contact_id: int, limit: int = 20
) -> list[ChatMessage]:
    """A contact's Business messages, newest first, for whoever may see those conversations
    (as for calls: the salesperson whose chat it is, or whoever sees the contact)."""
    contact = await ctx.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound("contact not found")
    entries = await ctx.session.scalars(
        select(ChatMessage)
        .join(Conversation, Conversation.id == ChatMessage.conversation_id)
        .where(
            ChatMessage.contact_id == contact_id,
            ChatMessage.channel == CHANNEL,
            access.conversation_clause(ctx, actor),
        )
        .order_by(ChatMessage.sent_at.desc(), ChatMessage.id.desc())
        .limit(limit)
    )
    return list(entries)


async def conversation_for_notice(
    ctx: Ctx, *, conversation_id: int
) -> tuple[Conversation, Contact] | None:
    """A chat and its client for the "new chat logged" notice; None once excluded or gone."""
    conversation = await ctx.session.get(Conversation, conversation_id)
    if conversation is None or conversation.excluded:
        return None
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if contact is None or contact.deleted_at is not None:
        return None
    return conversation, contact
