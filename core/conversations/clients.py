"""Who a Telegram client is, their conversation, and what they wrote (any channel).

Shared by the company bot (`channel="bot"`) and Business chats (`channel="business"`); the
adapters fill the aiogram-free dataclasses below and call these in their unit of work (none
of them commits).
1. `contact_for_telegram_user`: the live contact with this Telegram user id; else (a phone
   shared) the contact owning that E.164 number, which then keeps the Telegram id; else a new
   contact named from the Telegram name, source "bot". A merged contact leads to the one it
   was merged into.
2. `open_conversation`: one conversation per channel, connection and chat (a concurrent twin
   finds the same row); a closed one (the client had blocked the bot) opens again when the
   client writes.
3. `log_incoming`: one timeline entry per Telegram message (a redelivered update is a no-op);
   the items of an album (`media_group_id`) join the first item's entry in `extra["items"]`.
   `log_edit` keeps the earlier text in `history`.
4. `adopt_phone`: the client shared their own phone. If another contact owns it, the
   conversation, its messages and reply tasks move there and the contact made from the
   Telegram name (nothing else on it) is folded into it (`merged_into_id`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.activities.models import Activity
from core.common import audit
from core.contacts import service as contact_service
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage, Conversation
from core.phones import try_normalize

TEXT_LIMIT = 20_000  # longer client texts are cut (Telegram allows 4,096; a safety net)
MERGE_HOPS = 5


@dataclass(frozen=True)
class TelegramPerson:
    """The Telegram user behind a client chat, as the update names them."""

    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name or "") if p.strip())
        name = " ".join(name.split())
        if name:
            return name[:300]
        return f"@{self.username}" if self.username else f"Telegram {self.user_id}"

    @property
    def language(self) -> str:
        """ru or en: Russian for Russian-speaking clients (and Ukrainian, Belarusian, Kazakh)."""
        code = (self.language_code or "").lower()[:2]
        return "ru" if code in ("ru", "uk", "be", "kk") or not code else "en"


# Telegram's reference to a message's file, as a media object (photo, voice…) names it.
FILE_FIELDS = ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
# What a message says, whichever object carries it (IncomingMessage, business.MessageIn).
CONTENT_FIELDS = ("kind", "text", *FILE_FIELDS)


def file_of(media: object) -> dict[str, Any]:
    """The file reference of a Telegram media object (None for what it lacks, or no media)."""
    return {name: getattr(media, name, None) for name in FILE_FIELDS}


def content_of(message: Any) -> dict[str, Any]:
    """A message's kind, text or caption and Telegram's file reference, as keyword arguments."""
    return {name: getattr(message, name) for name in CONTENT_FIELDS}


@dataclass
class IncomingMessage:
    """One client message as stored: kind, text or caption, Telegram's file reference."""

    telegram_message_id: int | None
    sent_at: datetime
    kind: str = "text"
    text: str | None = None
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    media_group_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Logged:
    """What `log_incoming` did: the timeline entry, and whether it is a new entry (False for a
    redelivered update or a later item of an album already on the timeline)."""

    message: ChatMessage
    new_entry: bool
    duplicate: bool = False


def _insert(ctx: Ctx) -> Any:
    bind = ctx.session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def live_contact(ctx: Ctx, contact: Contact | None) -> Contact | None:
    """The contact itself, or the one it was merged into; None when deleted for good."""
    for _ in range(MERGE_HOPS):
        if contact is None:
            return None
        if contact.deleted_at is None:
            return contact
        if contact.merged_into_id is None:
            return None
        contact = await ctx.session.get(Contact, contact.merged_into_id)
    return None


async def contact_by_telegram_user(ctx: Ctx, *, telegram_user_id: int) -> Contact | None:
    """The live contact this Telegram user is (oldest first when several say so)."""
    found = await ctx.session.scalar(
        select(Contact)
        .where(Contact.telegram_user_id == telegram_user_id)
        .order_by(Contact.deleted_at.is_not(None), Contact.id)
        .limit(1)
    )
    return await live_contact(ctx, found)


async def contact_for_telegram_user(
    ctx: Ctx,
    *,
    person: TelegramPerson,
    phone: str | None = None,
    owner_id: int | None = None,
    source: str = "bot",
) -> tuple[Contact, bool]:
    """The contact for this Telegram user (step 1) and whether it was created now.

    `owner_id` owns a contact created here (the routed salesperson). Does not commit."""
    contact = await contact_by_telegram_user(ctx, telegram_user_id=person.user_id)
    if contact is not None:
        return contact, False
    parsed = try_normalize(phone, region=ctx.config.default_region) if phone else None
    if parsed is not None and parsed.e164 is not None:
        known = await contact_service.find_by_e164(ctx, e164=parsed.e164)
        if known is not None:
            known.telegram_user_id = person.user_id
            known.updated_at = ctx.clock.now()
            return known, False
    created = await contact_service.add_contact(
        ctx,
        actor=Actor.system(f"telegram:{person.user_id}"),
        name=person.full_name,
        phones=[parsed.e164] if parsed is not None and parsed.e164 else [],
        owner_id=owner_id,
        source=source,
    )
    created.telegram_user_id = person.user_id
    return created, True


async def find_conversation(
    ctx: Ctx, *, chat_id: int, channel: str = "bot", business_connection_id: str = ""
) -> Conversation | None:
    """The conversation of this chat on this channel, if there is one."""
    found: Conversation | None = await ctx.session.scalar(
        _CONVERSATION_OF_CHAT,
        {"channel": channel, "connection": business_connection_id, "chat_id": chat_id},
    )
    return found


# Built once (asked for every client and Business message): see business._LOGGED_BEFORE.
_CONVERSATION_OF_CHAT = select(Conversation).where(
    Conversation.channel == bindparam("channel"),
    Conversation.business_connection_id == bindparam("connection"),
    Conversation.chat_id == bindparam("chat_id"),
)


async def open_conversation(
    ctx: Ctx,
    *,
    contact: Contact,
    chat_id: int,
    telegram_user_id: int | None,
    channel: str = "bot",
    business_connection_id: str = "",
    user_id: int | None = None,
    language: str | None = None,
    source: str | None = None,
) -> tuple[Conversation, bool]:
    """The conversation of this chat (step 2), created if new; and whether it was created."""
    existing = await find_conversation(
        ctx, chat_id=chat_id, channel=channel, business_connection_id=business_connection_id
    )
    if existing is not None:
        if existing.status == "closed":
            existing.status, existing.closed_reason = "open", None
            existing.updated_at = ctx.clock.now()
        return existing, False
    now = ctx.clock.now()
    await ctx.session.execute(
        _insert(ctx)(Conversation)
        .values(
            contact_id=contact.id,
            channel=channel,
            business_connection_id=business_connection_id,
            chat_id=chat_id,
            telegram_user_id=telegram_user_id,
            user_id=user_id,
            status="open",
            excluded=False,
            language=language,
            source=source,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "business_connection_id", "chat_id"])
    )
    created = await find_conversation(
        ctx, chat_id=chat_id, channel=channel, business_connection_id=business_connection_id
    )
    assert created is not None
    return created, created.created_at == now and created.contact_id == contact.id


def _row(conversation: Conversation, message: IncomingMessage, now: datetime) -> dict[str, Any]:
    text_value = message.text[:TEXT_LIMIT] if message.text is not None else None
    return {
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
        "channel": conversation.channel,
        "direction": "in",
        "telegram_message_id": message.telegram_message_id,
        "media_group_id": message.media_group_id,
        "kind": message.kind[:16],
        "text": text_value,
        "file_id": message.file_id,
        "file_unique_id": message.file_unique_id,
        "file_name": message.file_name[:255] if message.file_name else None,
        "mime_type": message.mime_type[:128] if message.mime_type else None,
        "file_size": message.file_size,
        "extra": message.extra,
        "history": [],
        "status": "received",
        "sent_at": message.sent_at,
        "created_at": now,
    }


def _album_item(message: IncomingMessage) -> dict[str, Any]:
    return {
        "message_id": message.telegram_message_id,
        "kind": message.kind,
        "file_id": message.file_id,
        "file_unique_id": message.file_unique_id,
        "file_name": message.file_name,
        "mime_type": message.mime_type,
        "file_size": message.file_size,
    }


async def by_telegram_id(ctx: Ctx, conversation_id: int, message_id: int) -> ChatMessage | None:
    found: ChatMessage | None = await ctx.session.scalar(
        select(ChatMessage).where(
            ChatMessage.conversation_id == conversation_id,
            ChatMessage.telegram_message_id == message_id,
        )
    )
    return found


async def _album_entry(ctx: Ctx, conversation_id: int, group: str) -> ChatMessage | None:
    found: ChatMessage | None = await ctx.session.scalar(
        select(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation_id,
            ChatMessage.media_group_id == group,
            ChatMessage.direction == "in",
        )
        .order_by(ChatMessage.id)
        .limit(1)
    )
    return found


async def _join_album(ctx: Ctx, entry: ChatMessage, message: IncomingMessage) -> bool:
    """Add an album item to its entry; False when it is already there."""
    items = list((entry.extra or {}).get("items") or [])
    if any(item.get("message_id") == message.telegram_message_id for item in items):
        return False
    if entry.telegram_message_id == message.telegram_message_id:
        return False
    items.append(_album_item(message))
    entry.extra = {**(entry.extra or {}), "items": items}
    if not entry.text and message.text:
        entry.text = message.text[:TEXT_LIMIT]
    return True


async def known_entry(
    ctx: Ctx, *, conversation: Conversation, message: IncomingMessage
) -> Logged | None:
    """A client message already on the timeline (step 3): redelivered, or a further item of
    an album (joined to its entry here); None for a new one (`log_incoming` keeps it)."""
    tg_id = message.telegram_message_id
    if tg_id is not None:
        known = await by_telegram_id(ctx, conversation.id, tg_id)
        if known is not None:
            return Logged(known, new_entry=False, duplicate=True)
    if message.media_group_id:
        entry = await _album_entry(ctx, conversation.id, message.media_group_id)
        if entry is not None:
            joined = await _join_album(ctx, entry, message)
            return Logged(entry, new_entry=False, duplicate=not joined)
    return None


async def log_incoming(ctx: Ctx, *, conversation: Conversation, message: IncomingMessage) -> Logged:
    """Keep a new client message on the timeline (step 3; `known_entry` said it is new); does
    not commit. A concurrent twin that logged it first makes it a duplicate."""
    tg_id = message.telegram_message_id
    now = ctx.clock.now()
    row = _row(conversation, message, now)
    if message.media_group_id:
        row["extra"] = {**message.extra, "items": [_album_item(message)]}
    statement = _insert(ctx)(ChatMessage).values(**row)
    if tg_id is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["conversation_id", "telegram_message_id"],
            index_where=text("telegram_message_id IS NOT NULL"),
        )
    # The row comes back as the ORM object in the same statement (no second read).
    stored: ChatMessage | None = await ctx.session.scalar(
        statement.returning(ChatMessage), execution_options={"populate_existing": True}
    )
    if stored is None:  # a concurrent twin logged it first
        assert tg_id is not None
        twin = await by_telegram_id(ctx, conversation.id, tg_id)
        assert twin is not None
        return Logged(twin, new_entry=False, duplicate=True)
    # When we got it (our clock), not Telegram's date: the SLA counts from our side.
    conversation.last_in_at = now
    conversation.updated_at = now
    return Logged(stored, new_entry=True)


async def log_edit(
    ctx: Ctx,
    *,
    conversation: Conversation,
    telegram_message_id: int,
    text_value: str | None,
    edited_at: datetime,
) -> ChatMessage | None:
    """A client edited a message: the new text, the earlier one kept in `history`."""
    stored = await by_telegram_id(ctx, conversation.id, telegram_message_id)
    if stored is None or stored.text == text_value:
        return stored
    previous = stored.edited_at or stored.sent_at
    stored.history = [
        *(stored.history or []),
        {"text": stored.text, "edited_at": previous.isoformat()},
    ]
    stored.text = text_value[:TEXT_LIMIT] if text_value is not None else None
    stored.edited_at = edited_at
    return stored


async def adopt_phone(
    ctx: Ctx, *, conversation: Conversation, e164: str, telegram_user_id: int
) -> Contact:
    """The client shared their own phone (step 4); returns the conversation's contact now."""
    current = await ctx.session.get(Contact, conversation.contact_id)
    assert current is not None
    known = await contact_service.find_by_e164(ctx, e164=e164)
    now = ctx.clock.now()
    if known is None or known.id == current.id:
        if known is None:
            await _add_phone(ctx, current, e164)
        return current
    known.telegram_user_id = telegram_user_id
    known.updated_at = now
    for model in (ChatMessage, Activity):
        await ctx.session.execute(
            update(model)
            .where(model.conversation_id == conversation.id)
            .values(contact_id=known.id)
            .execution_options(synchronize_session=False)
        )
    conversation.contact_id = known.id
    conversation.updated_at = now
    if current.source == "bot" and not current.phones and current.deleted_at is None:
        current.deleted_at = now
        current.merged_into_id = known.id
        current.telegram_user_id = None
    audit(
        ctx,
        actor=Actor.system(f"telegram:{telegram_user_id}"),
        entity="contact",
        entity_id=known.id,
        action="telegram_matched",
        changes={"conversation_id": conversation.id, "from_contact": current.id},
    )
    return known


async def _add_phone(ctx: Ctx, contact: Contact, e164: str) -> None:
    """Give the contact the client's own phone (checked free just before)."""
    live = [p.e164 for p in contact.phones if p.is_live]
    parsed = contact_service.parse_phones(ctx, [*live, e164])
    await contact_service._replace_phones(ctx, contact, parsed)
    await contact_service._refresh_search_text(ctx, contact)
    contact.updated_at = ctx.clock.now()
