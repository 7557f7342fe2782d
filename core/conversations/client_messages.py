"""Messages from the company to a client who has a conversation (REST, order-status notices).

1. A client can be written to only through a conversation they opened with the company bot
   (a bot can never start a chat): `reachable_conversation` finds it; without one, a Conflict
   says why (REST answers 409 with that reason).
2. `send_to_contact` records the outgoing `ChatMessage` (status pending) and queues its
   delivery in the outbox (core.conversations.outgoing.send_to_client), in the caller's
   unit of work: the message is on the timeline and goes out after the commit, or neither.
3. An idempotency key makes a retry harmless: a known key returns the message it made and
   queues nothing (the unique index settles two retries racing each other).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.contacts.models import Contact
from core.contacts.service import get_contact_for_work
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage, Conversation
from core.conversations.outgoing import send_to_client
from core.errors import Conflict, InvalidInput, NotFound

TEXT_LIMIT = 4096  # Telegram's limit for one message
IDEMPOTENCY_KEY_LIMIT = 200


async def reachable_conversation(ctx: Ctx, *, contact_id: int) -> Conversation | None:
    """The client's open conversation with the company bot (the latest one), or None."""
    conversation: Conversation | None = await ctx.session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.channel == "bot",
            Conversation.status == "open",
        )
        .order_by(
            func.coalesce(Conversation.last_in_at, Conversation.created_at).desc(),
            Conversation.id.desc(),
        )
        .limit(1)
    )
    return conversation


def _clean_text(text: str) -> str:
    body = (text or "").strip()
    if not body:
        raise InvalidInput("text must not be empty", field="text", code="message-empty")
    if len(body) > TEXT_LIMIT:
        raise InvalidInput(
            f"text is longer than {TEXT_LIMIT} characters", field="text", code="message-too-long"
        )
    return body


async def _known(ctx: Ctx, key: str, contact_id: int) -> ChatMessage | None:
    message = await ctx.session.scalar(
        select(ChatMessage).where(ChatMessage.idempotency_key == key)
    )
    if message is not None and message.contact_id != contact_id:
        raise Conflict(
            "this Idempotency-Key was already used for another contact's message",
            existing_id=message.id,
        )
    return message


async def send_to_contact(
    ctx: Ctx,
    *,
    actor: Actor,
    contact_id: int,
    text: str,
    idempotency_key: str | None = None,
    author_label: str | None = None,
) -> tuple[ChatMessage, bool]:
    """Queue a text to the client (no commit); True when new, False for a known key."""
    body = _clean_text(text)
    key = (idempotency_key or "").strip() or None
    if key is not None:
        if len(key) > IDEMPOTENCY_KEY_LIMIT:
            raise InvalidInput(
                f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_LIMIT} characters",
                field="Idempotency-Key",
            )
        known = await _known(ctx, key, contact_id)
        if known is not None:
            return known, False
    contact = await ctx.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"contact {contact_id} not found")
    conversation = await reachable_conversation(ctx, contact_id=contact_id)
    if conversation is None:
        raise Conflict(
            f"contact {contact_id} has no open conversation: the client has not written to "
            "the company bot, or has blocked it, so there is no chat to send to",
            code="client-no-conversation",
        )
    message = await send_to_client(
        ctx,
        conversation=conversation,
        text=body,
        author_user_id=actor.user_id,
        author_label=author_label or (None if actor.user_id else actor.label),
        idempotency_key=key,
    )
    return message, True


async def post_message(
    ctx: Ctx, *, actor: Actor, contact_id: int, text: str, idempotency_key: str | None = None
) -> tuple[ChatMessage, bool]:
    """Send a text to a client the actor may work on (REST); commits. False: a known key."""
    await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    try:
        message, new = await send_to_contact(
            ctx, actor=actor, contact_id=contact_id, text=text, idempotency_key=idempotency_key
        )
        await ctx.session.commit()
    except IntegrityError:
        # The same key sent twice at once: the other request made the message.
        await ctx.session.rollback()
        known = await _known(ctx, idempotency_key or "", contact_id) if idempotency_key else None
        if known is None:
            raise
        return known, False
    return message, new
