"""Client opt-in to greetings: a per-contact deep-link token, consent with its time, /stop.

1. A salesperson who may see the contact asks for its token (`invite_token`); the bot turns it
   into `https://t.me/<bot>?start=c_<token>`.
2. The client opens the link: `accept` stores the client's chat id, `marketing_consent` and
   `consent_at` on the contact (once per contact; opening it again is a no-op).
3. The client sends /stop: `revoke` clears the consent for every contact bound to that chat.
The scheduler reads `telegram_chat_id`, `marketing_consent` and `consent_at` to greet.
"""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import select

from core.context import Actor, Ctx
from core.errors import Conflict, NotFound
from core.models.contacts import Contact
from core.services.common import audit
from core.services.contacts import get_contact

TOKEN_PREFIX = "c_"


async def invite_token(ctx: Ctx, *, actor: Actor, contact_id: int) -> str:
    """The contact's opt-in token (made on first use); the actor must be able to see it."""
    contact = await get_contact(ctx, actor=actor, contact_id=contact_id)
    if contact.greeting_token is None:
        contact.greeting_token = secrets.token_urlsafe(16)[:22]
        audit(
            ctx,
            actor=actor,
            entity="contact",
            entity_id=contact.id,
            action="consent_invite",
            changes={},
        )
        await ctx.session.commit()
    return contact.greeting_token


async def accept(ctx: Ctx, *, token: str, chat_id: int) -> Contact:
    """Record the client's consent and chat; an unknown token is NotFound."""
    token = token.strip()
    contact = await ctx.session.scalar(
        select(Contact).where(Contact.greeting_token == token, Contact.deleted_at.is_(None))
    )
    if contact is None or contact.greeting_token is None:
        raise NotFound("this invitation link is not valid")
    if not hmac.compare_digest(contact.greeting_token.encode(), token.encode()):
        raise NotFound("this invitation link is not valid")
    if contact.telegram_chat_id not in (None, chat_id) and contact.marketing_consent:
        raise Conflict("this invitation was already accepted from another account")
    if contact.marketing_consent and contact.telegram_chat_id == chat_id:
        return contact
    now = ctx.clock.now()
    contact.telegram_chat_id = chat_id
    contact.marketing_consent = True
    contact.consent_at = now
    contact.updated_at = now
    audit(
        ctx,
        actor=Actor.system(f"telegram:{chat_id}"),
        entity="contact",
        entity_id=contact.id,
        action="consent",
        changes={"chat_id": chat_id},
    )
    await ctx.session.commit()
    return contact


async def revoke(ctx: Ctx, *, chat_id: int) -> int:
    """Withdraw consent for every contact bound to this chat; returns how many changed."""
    contacts = list(
        await ctx.session.scalars(
            select(Contact).where(
                Contact.telegram_chat_id == chat_id, Contact.marketing_consent.is_(True)
            )
        )
    )
    now = ctx.clock.now()
    for contact in contacts:
        contact.marketing_consent = False
        contact.consent_at = None
        contact.updated_at = now
        audit(
            ctx,
            actor=Actor.system(f"telegram:{chat_id}"),
            entity="contact",
            entity_id=contact.id,
            action="consent_revoke",
            changes={},
        )
    await ctx.session.commit()
    return len(contacts)
