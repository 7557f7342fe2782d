"""Client messages shown to staff, and staff answers that reply to them.

1. `recipients`: the contact's owner (active, with Telegram) — only people who may see the
   contact ever get a client's message; a contact without an active owner is first given to
   the routed salesperson (core.conversations.routing), so someone does.
2. `relay`: one `client_relay` outbox row per recipient and timeline entry. The bot renders
   it as one message where Telegram allows (the header with who wrote, then their text; or a
   copy of their media with the header as its caption) plus an [Open card] button; an album
   waits `ALBUM_WAIT` so all its items have arrived and goes as a header and the album. Every
   staff message it became is recorded (`MessageRelay`, core.conversations.delivery), so a
   reply to any of them answers the client.
3. `conversation_for_reply`: the conversation a staff message replied to, if the replier may
   see its contact (else NotFound, as for any hidden object). A reply that comes before the
   relay is recorded finds it by the message its button names (`conversation_of_message`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import access
from core.common import audit
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import routing
from core.conversations.models import ChatMessage, Conversation, MessageRelay
from core.errors import NotFound
from core.outbox import service as outbox
from core.users.models import User

CLIENT_RELAY = "client_relay"  # outbox kind: a client's message shown to a staff member
ALBUM_WAIT = timedelta(seconds=1)


async def _active(ctx: Ctx, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = await ctx.session.get(User, user_id)
    if user is None or not user.active or user.telegram_user_id is None:
        return None
    return user


async def ensure_owner(ctx: Ctx, contact: Contact) -> User | None:
    """The contact's active owner; a contact without one goes to the routed person (step 1)."""
    owner = await _active(ctx, contact.owner_id)
    if owner is not None:
        return owner
    chosen = await _active(ctx, await routing.pick_owner(ctx))
    if chosen is None:
        return None
    previous = contact.owner_id
    contact.owner_id = chosen.id
    contact.updated_at = ctx.clock.now()
    audit(
        ctx,
        actor=Actor.system("client_routing"),
        entity="contact",
        entity_id=contact.id,
        action="route",
        changes={
            "owner_id": {"from": previous, "to": chosen.id},
            "mode": ctx.config.client_routing,
        },
    )
    return chosen


async def recipients(ctx: Ctx, contact: Contact) -> list[User]:
    """Who is shown this contact's messages: the owner, when they may see the contact."""
    owner = await ensure_owner(ctx, contact)
    if owner is None or not access.may_see_contact(ctx, Actor.of_user(owner), contact):
        return []
    return [owner]


async def relay(
    ctx: Ctx, *, conversation: Conversation, contact: Contact, message: ChatMessage
) -> int:
    """Queue the client's message to the people who may see it (step 2); returns how many."""
    people = await recipients(ctx, contact)
    not_before = ctx.clock.now() + ALBUM_WAIT if message.media_group_id else None
    for user in people:
        await outbox.enqueue(
            ctx,
            kind=CLIENT_RELAY,
            dedupe_key=f"{CLIENT_RELAY}:{message.id}:{user.id}",
            user_id=user.id,
            chat_id=user.telegram_user_id,
            payload={"chat_message_id": message.id, "conversation_id": conversation.id},
            not_before=not_before,
        )
    return len(people)


async def conversation_for_reply(
    ctx: Ctx, *, actor: Actor, staff_chat_id: int, staff_message_id: int
) -> Conversation | None:
    """The conversation whose relayed message this staff message is (step 3); None when it
    is no relay; NotFound when the actor may not see the client."""
    found = await ctx.session.scalar(
        select(MessageRelay.conversation_id).where(
            MessageRelay.staff_chat_id == staff_chat_id,
            MessageRelay.staff_message_id == staff_message_id,
        )
    )
    if found is None:
        return None
    return await _visible(ctx, actor, found)


async def conversation_of_message(ctx: Ctx, *, actor: Actor, message_id: int) -> Conversation:
    """The conversation of a relayed client message (its relay's button names it: a reply
    that comes before the relay is recorded); NotFound when hidden or unknown."""
    message = await ctx.session.get(ChatMessage, message_id)
    if message is None:
        raise NotFound("this client is not yours to answer")
    return await _visible(ctx, actor, message.conversation_id)


async def _visible(ctx: Ctx, actor: Actor, conversation_id: int) -> Conversation:
    conversation = await ctx.session.get(Conversation, conversation_id)
    contact = await ctx.session.get(Contact, conversation.contact_id) if conversation else None
    if (
        conversation is None
        or contact is None
        or not access.may_see_conversation(ctx, actor, contact)
    ):
        raise NotFound("this client is not yours to answer")
    return conversation
