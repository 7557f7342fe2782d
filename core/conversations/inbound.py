"""The company bot's use cases for a client: opening the chat and each message they send.

`start` (the client's /start, with an optional public-link source or an opted-in contact)
and `receive` (any message) share the steps; each commits once:
1. The conversation of this chat, or a new one for the contact this Telegram user is
   (core.conversations.clients); a new contact goes to the routed salesperson.
2. An admin blocked the client: nothing is kept or relayed (a log line says so).
3. The client's own phone (a shared contact whose `user_id` is theirs) matches the contact
   owning that number first; someone else's contact card is just a message.
4. The message is kept on the timeline (a redelivered update stops here). The first message
   of a new conversation gets the welcome (in the client's language, with their keyboard:
   share the phone, orders), queued in the outbox before anything else this chat is sent, so
   the handler does not wait for Telegram (the /start welcome is the bot's answer itself).
5. More than `CLIENT_RATE_PER_MINUTE` timeline entries in the last minute: not relayed; the
   client gets one notice a minute at most (`flood_notice_at`).
6. Otherwise it is relayed to the owner (core.conversations.relay).
   For a new entry the reads of steps 5-6 (who gets it, the last minute's count) come
   between step 4's duplicate check and its insert, so the transaction's writes (entry, relay
   row, conversation) are together at its end: on SQLite the first write takes the one write
   lock, held until the commit.
7. Outside `WORKING_HOURS` the client gets the auto-reply once per conversation — again only
   after someone answered (an answer clears `auto_reply_at`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from core.contacts.models import Contact
from core.context import Ctx
from core.conversations import clients, hours, outgoing, relay, retry, texts
from core.conversations.clients import IncomingMessage, TelegramPerson
from core.conversations.models import ChatMessage, Conversation
from core.phones import try_normalize
from core.users.models import User

log = logging.getLogger(__name__)
FLOOD_WINDOW = timedelta(minutes=1)


@dataclass
class Outcome:
    """What happened to a client's start or message (the bot answers from it)."""

    conversation: Conversation
    contact: Contact
    new_conversation: bool
    message: ChatMessage | None = None
    relayed: int = 0
    flooded: bool = False
    auto_replied: bool = False
    ignored: str | None = None  # "blocked", "duplicate"


async def _conversation(
    ctx: Ctx,
    person: TelegramPerson,
    chat_id: int,
    *,
    source: str | None,
    contact_hint: Contact | None,
) -> tuple[Conversation, Contact, bool]:
    """Step 1."""
    conversation = await clients.find_conversation(ctx, chat_id=chat_id)
    if conversation is not None:
        contact = await clients.live_contact(
            ctx, await ctx.session.get(Contact, conversation.contact_id)
        )
        if contact is not None:
            if contact.id != conversation.contact_id:
                conversation.contact_id = contact.id
            if conversation.status == "closed":
                conversation.status, conversation.closed_reason = "open", None
            return conversation, contact, False
    if contact_hint is not None and contact_hint.telegram_user_id is None:
        contact_hint.telegram_user_id = person.user_id
    contact = contact_hint
    if contact is None:
        contact, _created = await clients.contact_for_telegram_user(ctx, person=person)
    await relay.ensure_owner(ctx, contact)
    if conversation is not None:  # its contact was deleted for good: start afresh
        conversation.contact_id = contact.id
        return conversation, contact, False
    conversation, created = await clients.open_conversation(
        ctx,
        contact=contact,
        chat_id=chat_id,
        telegram_user_id=person.user_id,
        language=person.language,
        source=source,
    )
    return conversation, contact, created


async def start(
    ctx: Ctx,
    *,
    person: TelegramPerson,
    chat_id: int,
    source: str | None = None,
    contact: Contact | None = None,
) -> Outcome:
    """The client opened the chat (/start); `contact`: the one their opt-in link named."""
    return await retry.on_sqlite_lock(
        ctx, lambda: _start(ctx, person, chat_id, source=source, contact=contact)
    )


async def _start(
    ctx: Ctx,
    person: TelegramPerson,
    chat_id: int,
    *,
    source: str | None,
    contact: Contact | None,
) -> Outcome:
    conversation, found, created = await _conversation(
        ctx, person, chat_id, source=source, contact_hint=contact
    )
    if source and not conversation.source:
        conversation.source = source
    conversation.language = person.language
    await ctx.session.commit()
    return Outcome(conversation, found, created)


async def _adopt_own_phone(
    ctx: Ctx, person: TelegramPerson, conversation: Conversation, message: IncomingMessage
) -> Contact | None:
    """Step 3: the client's own shared phone matches a known contact."""
    if message.kind != "contact" or message.extra.get("user_id") != person.user_id:
        return None
    parsed = try_normalize(str(message.extra.get("phone") or ""), region=ctx.config.default_region)
    if parsed is None or parsed.e164 is None:
        log.info("client %s shared a phone that is no number", person.user_id)
        return None
    return await clients.adopt_phone(
        ctx, conversation=conversation, e164=parsed.e164, telegram_user_id=person.user_id
    )


async def _entries_last_minute(ctx: Ctx, conversation: Conversation) -> int:
    since = ctx.clock.now() - FLOOD_WINDOW
    count = await ctx.session.scalar(
        select(func.count(ChatMessage.id)).where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.direction == "in",
            ChatMessage.created_at >= since,
        )
    )
    return int(count or 0)


async def _flood_notice(ctx: Ctx, conversation: Conversation) -> None:
    """Step 5: one notice a minute at most."""
    now = ctx.clock.now()
    if (
        conversation.flood_notice_at is not None
        and now - conversation.flood_notice_at < FLOOD_WINDOW
    ):
        return
    conversation.flood_notice_at = now
    await _send_text(ctx, conversation, texts.FLOOD, author_label="flood_notice")


async def _auto_reply(ctx: Ctx, conversation: Conversation) -> bool:
    """Step 7."""
    if conversation.auto_reply_at is not None:
        return False
    now = ctx.clock.now()
    if hours.is_open(ctx.config.working_hours, now, ctx.config.timezone):
        return False
    conversation.auto_reply_at = now
    await _send_text(ctx, conversation, texts.AUTO_REPLY, author_label="auto_reply")
    return True


async def _send_text(
    ctx: Ctx,
    conversation: Conversation,
    key: str,
    *,
    author_label: str,
    extra: dict[str, object] | None = None,
) -> None:
    """Send the client one of the company's texts, in the conversation's language."""
    await outgoing.send_to_client(
        ctx,
        conversation=conversation,
        text=await texts.get(ctx, key=key, locale=conversation.language),
        author_label=author_label,
        extra=extra,
    )


async def receive(
    ctx: Ctx, *, person: TelegramPerson, chat_id: int, message: IncomingMessage
) -> Outcome:
    """A client's message to the company bot (steps 1-7); commits once."""
    return await retry.on_sqlite_lock(ctx, lambda: _receive(ctx, person, chat_id, message))


async def _receive(
    ctx: Ctx, person: TelegramPerson, chat_id: int, message: IncomingMessage
) -> Outcome:
    conversation, contact, created = await _conversation(
        ctx, person, chat_id, source=None, contact_hint=None
    )
    outcome = Outcome(conversation, contact, created)
    if conversation.status == "blocked":
        log.info("conversation %s: message from a blocked client dropped", conversation.id)
        outcome.ignored = "blocked"
        await ctx.session.commit()
        return outcome
    matched = await _adopt_own_phone(ctx, person, conversation, message)
    if matched is not None:
        outcome.contact = contact = matched
    people: list[User] = []
    earlier = 0
    logged = await clients.known_entry(ctx, conversation=conversation, message=message)
    if logged is None:
        # A new entry: read what steps 5-6 need before the first write: on SQLite a write
        # holds the database's one write lock until the commit, so the writes come last.
        people = await relay.recipients(ctx, contact)
        earlier = await _entries_last_minute(ctx, conversation)
        logged = await clients.log_incoming(ctx, conversation=conversation, message=message)
    outcome.message = logged.message
    if not logged.new_entry:
        outcome.ignored = "duplicate" if logged.duplicate else None
        await ctx.session.commit()
        return outcome
    if created:  # before anything else the client is sent (the outbox keeps a chat's order)
        await _send_text(
            ctx, conversation, texts.WELCOME, author_label="welcome", extra={"keyboard": "client"}
        )
    if earlier + 1 > ctx.config.client_rate_per_minute:
        outcome.flooded = True
        await _flood_notice(ctx, conversation)
    else:
        outcome.relayed = await relay.relay(
            ctx, conversation=conversation, message=logged.message, people=people
        )
    outcome.auto_replied = await _auto_reply(ctx, conversation)
    await ctx.session.commit()
    return outcome
