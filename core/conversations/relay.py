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
3. `reply_targets`: the clients a staff message replied to shows, those the replier may see
   (NotFound when it shows only hidden ones, as for any hidden object). When several client
   messages wait for one staff chat, the outbox sends them as one message (bot/client_chats
   .py), which may show several clients. A reply that comes before the relay is recorded
   finds them by the messages its buttons name (`targets_of_messages`). `choose` keeps the
   client a reply means: the only one, else the one whose name or words the reply quotes
   (Telegram's reply with a quote); more than one left, the bot asks the salesperson whom
   it is for (and `conversation_of_message` finds the one they pick).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
RECENT_FOR_QUOTE = 20  # a client's latest messages a quote is matched against (no relay yet)


@dataclass
class ReplyTarget:
    """A client a relayed staff message shows (step 3)."""

    conversation: Conversation
    contact: Contact
    message_id: int  # a client message of theirs it shows (the first)
    texts: list[str] = field(default_factory=list)  # their words it shows, to match a quote


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
    ctx: Ctx, *, conversation: Conversation, message: ChatMessage, people: list[User]
) -> int:
    """Queue the client's message to `people` (step 2: `recipients`); returns how many."""
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


async def reply_targets(
    ctx: Ctx, *, actor: Actor, staff_chat_id: int, staff_message_id: int
) -> list[ReplyTarget]:
    """Every client the relayed staff message shows, that the actor may see (step 3); empty
    when it is no relay; NotFound when it shows only clients hidden from the actor."""
    rows = (
        await ctx.session.execute(
            select(MessageRelay.conversation_id, MessageRelay.message_id)
            .where(
                MessageRelay.staff_chat_id == staff_chat_id,
                MessageRelay.staff_message_id == staff_message_id,
            )
            .order_by(MessageRelay.id)
        )
    ).all()
    if not rows:
        return []
    shown: dict[int, list[int]] = {}
    for conversation_id, message_id in rows:
        shown.setdefault(conversation_id, []).append(message_id)
    return await _targets(ctx, actor, shown, recent=False)


async def targets_of_messages(
    ctx: Ctx, *, actor: Actor, message_ids: list[int]
) -> list[ReplyTarget]:
    """The clients of relayed client messages named by a relay's buttons (a reply that comes
    before the relay is recorded); NotFound when none is the actor's to see."""
    shown: dict[int, list[int]] = {}
    for message_id in message_ids:
        message = await ctx.session.get(ChatMessage, message_id)
        if message is not None:
            shown.setdefault(message.conversation_id, []).append(message.id)
    if not shown:
        raise NotFound("this client is not yours to answer")
    return await _targets(ctx, actor, shown, recent=True)


async def _targets(
    ctx: Ctx, actor: Actor, shown: dict[int, list[int]], *, recent: bool
) -> list[ReplyTarget]:
    targets: list[ReplyTarget] = []
    for conversation_id, message_ids in shown.items():
        conversation = await ctx.session.get(Conversation, conversation_id)
        contact = await ctx.session.get(Contact, conversation.contact_id) if conversation else None
        if conversation is None or contact is None:
            continue
        if not access.may_see_conversation(ctx, actor, contact):
            continue
        words = select(ChatMessage.text).where(ChatMessage.text.is_not(None))
        if recent:  # the buttons name one message per client: match their latest words
            words = words.where(
                ChatMessage.conversation_id == conversation_id, ChatMessage.direction == "in"
            )
            words = words.order_by(ChatMessage.id.desc()).limit(RECENT_FOR_QUOTE)
        else:
            words = words.where(ChatMessage.id.in_(message_ids))
        texts = [text for text in await ctx.session.scalars(words) if text]
        targets.append(ReplyTarget(conversation, contact, min(message_ids), texts))
    if not targets:
        raise NotFound("this client is not yours to answer")
    return targets


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def choose(targets: list[ReplyTarget], quote: str | None) -> list[ReplyTarget]:
    """The clients a reply means (step 3): the only one; else those whose name or words the
    quoted part holds, or that hold it; else all of them (the bot asks)."""
    if len(targets) <= 1 or not quote or not quote.strip():
        return targets
    wanted = _folded(quote)
    matched = []
    for target in targets:
        words = [_folded(text) for text in target.texts]
        name = _folded(target.contact.name or "")
        if any(wanted in text or (text and text in wanted) for text in words) or (
            name and name in wanted
        ):
            matched.append(target)
    return matched or targets
