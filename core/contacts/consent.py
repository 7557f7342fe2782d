"""Client consent to greetings: it belongs to the client, and the client's "stop" is final.

1. Invite: a salesperson who may see the contact issues its opt-in link (`invite_token`;
   the bot turns it into `https://t.me/<bot>?start=c_<token>`). Every issue makes a new
   token and stamps `greeting_token_at`, so the previous link dies (rotation). A link lives
   `greeting_link_days` (setting PEREZVON_GREETING_LINK_DAYS) and is used once.
2. Accept: the client opens a live link (`accept`): in one conditional UPDATE the link is
   spent (token cleared) and this chat is bound, with consent on from source "telegram", its
   time, and any earlier stop cleared — the client's own action is the only one that may
   re-open a stop. A spent, rotated, expired or unknown link is `LinkDead`, one answer for
   all (no detail, no contact's name); so a link can never move to a second chat, and two
   chats racing for one link cannot both win.
3. Stop: `/stop` (`revoke`) turns consent off for every contact bound to the chat, stamps
   `consent_stopped_at`, kills any pending link and unbinds the chat, with an audit line;
   greetings already queued for the chat are skipped. Nothing reaches that chat for those
   contacts until the client opens a NEW link.
4. Recorded elsewhere (`record`, called by contact create/patch/upsert, i.e. the REST API):
   `marketing_consent: false` always withdraws; `true` needs the source (stored as
   "api:<source>" for an API key, "<actor>:<source>" otherwise) and takes an optional past
   time; it is a Conflict once the client has stopped, and a no-op when consent is already
   on (the first record stands, so a nightly sync does not rewrite it). Such consent has no
   chat: the owner's "greet today" list greets the client, as for everyone else.
5. Greeting in the chat (`greets_in_chat`, `greets_in_chat_clause`): consent on, from the
   client's own link, a bound chat, no stop. Rows written before the source was recorded
   count when their consent has its time: only the link ever set it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from core import access
from core.common import audit
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, NotFound
from core.outbox.models import Notification

TOKEN_PREFIX = "c_"
TELEGRAM = "telegram"  # consent_source of consent given through the client's own link
SOURCE_MAX = 100  # the column holds 120 with the "api:" prefix
CLOCK_SKEW = timedelta(minutes=5)  # a consent time this far ahead of ours is still "now"


class LinkDead(NotFound):
    """The opt-in link is unknown, spent, rotated or expired (one answer: no detail)."""


async def invite_token(ctx: Ctx, *, actor: Actor, contact_id: int) -> str:
    """A new opt-in token for the contact (the previous link dies); the actor must see it."""
    contact = access.visible_contact(
        ctx, actor, await ctx.session.get(Contact, contact_id), contact_id
    )
    rotated = contact.greeting_token is not None
    contact.greeting_token = secrets.token_urlsafe(16)[:22]
    contact.greeting_token_at = ctx.clock.now()
    audit(
        ctx,
        actor=actor,
        entity="contact",
        entity_id=contact.id,
        action="consent_invite",
        changes={"rotated": rotated, "days": ctx.config.greeting_link_days},
    )
    await ctx.session.commit()
    return contact.greeting_token


async def accept(ctx: Ctx, *, token: str, chat_id: int) -> Contact:
    """Spend a live link: bind this chat and record the client's consent; else LinkDead."""
    token = token.strip()
    now = ctx.clock.now()
    if not token:
        raise LinkDead("this invitation link is not valid")
    issued_after = now - timedelta(days=ctx.config.greeting_link_days)
    # One statement claims the link: a concurrent twin (another chat) finds it spent.
    claimed = await ctx.session.scalar(
        update(Contact)
        .where(
            Contact.greeting_token == token,
            Contact.greeting_token_at >= issued_after,
            Contact.deleted_at.is_(None),
        )
        .values(
            greeting_token=None,
            greeting_token_at=None,
            telegram_chat_id=chat_id,
            marketing_consent=True,
            consent_source=TELEGRAM,
            consent_at=now,
            consent_stopped_at=None,
            updated_at=now,
        )
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        await ctx.session.commit()  # nothing matched; ends the transaction
        raise LinkDead("this invitation link is not valid")
    audit(
        ctx,
        actor=Actor.system(f"telegram:{chat_id}"),
        entity="contact",
        entity_id=claimed,
        action="consent",
        changes={"chat_id": chat_id, "source": TELEGRAM},
    )
    await ctx.session.commit()
    contact = await ctx.session.get(Contact, claimed, populate_existing=True)
    assert contact is not None
    return contact


async def is_subscribed(ctx: Ctx, *, chat_id: int) -> bool:
    """Whether this chat gets greetings for some contact (its own link, no stop)."""
    found = await ctx.session.scalar(
        select(Contact.id)
        .where(Contact.telegram_chat_id == chat_id, greets_in_chat_clause())
        .limit(1)
    )
    await ctx.session.commit()  # ends the read
    return found is not None


async def revoke(ctx: Ctx, *, chat_id: int) -> int:
    """The client's /stop: final for every contact bound to this chat; returns how many."""
    contacts = list(
        await ctx.session.scalars(select(Contact).where(Contact.telegram_chat_id == chat_id))
    )
    now = ctx.clock.now()
    for contact in contacts:
        had = {"consent": contact.marketing_consent, "source": contact.consent_source}
        contact.marketing_consent = False
        contact.consent_at = None
        contact.consent_source = None
        contact.consent_stopped_at = now
        contact.greeting_token = None  # a link issued but not yet opened dies too
        contact.greeting_token_at = None
        contact.telegram_chat_id = None
        contact.updated_at = now
        audit(
            ctx,
            actor=Actor.system(f"telegram:{chat_id}"),
            entity="contact",
            entity_id=contact.id,
            action="consent_stop",
            changes={"chat_id": chat_id, **had},
        )
    # A greeting queued before the stop (Telegram was down, or the job ran a moment ago)
    # must not go out after it.
    await ctx.session.execute(
        update(Notification)
        .where(
            Notification.chat_id == chat_id,
            Notification.kind == "greeting",
            Notification.status == "pending",
        )
        .values(status="skipped", claimed_until=None, last_error="the client sent /stop")
        .execution_options(synchronize_session=False)
    )
    await ctx.session.commit()
    return len(contacts)


def record(
    ctx: Ctx,
    contact: Contact,
    *,
    actor: Actor,
    consent: bool | None,
    source: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Apply consent given or withdrawn outside the bot (step 4); returns the audit diff."""
    source = (source or "").strip() or None
    if consent is not True:
        for name, value in (("consent_source", source), ("consent_at", at)):
            if value is not None:
                raise InvalidInput(f"{name} goes with marketing_consent: true", field=name)
    if consent is None:
        return {}
    if consent is False:
        if not contact.marketing_consent:
            return {}
        contact.marketing_consent = False
        contact.consent_at = None
        contact.consent_source = None
        return {"marketing_consent": False}
    if source is None:
        raise InvalidInput(
            "marketing_consent: true needs consent_source: where the client agreed "
            '(e.g. "shop checkout")',
            field="consent_source",
        )
    if len(source) > SOURCE_MAX:
        raise InvalidInput(
            f"consent_source is at most {SOURCE_MAX} characters", field="consent_source"
        )
    now = ctx.clock.now()
    if at is not None and (at.tzinfo is None or at > now + CLOCK_SKEW):
        raise InvalidInput("consent_at must be a past time with its offset", field="consent_at")
    if contact.consent_stopped_at is not None:
        raise Conflict(
            "the client unsubscribed (/stop) at "
            f"{contact.consent_stopped_at.isoformat(timespec='seconds')}; only the client "
            "can subscribe again, through a new link from the bot",
            code="consent-stopped",
        )
    if contact.marketing_consent:
        return {}  # already on: the first record stands
    prefix = "api" if actor.api_key_id is not None else actor.label
    contact.marketing_consent = True
    contact.consent_source = f"{prefix}:{source}"
    contact.consent_at = min(at, now) if at is not None else now
    return {"marketing_consent": True, "consent_source": contact.consent_source}


def merge(target: Contact, source: Contact) -> None:
    """Merging contacts keeps one consent record, and a stop on either side holds."""
    if not target.marketing_consent and source.marketing_consent:
        target.marketing_consent = True
        target.consent_source = source.consent_source
        target.consent_at = source.consent_at
        target.telegram_chat_id = source.telegram_chat_id
    stops = [s for s in (target.consent_stopped_at, source.consent_stopped_at) if s is not None]
    if stops:
        target.consent_stopped_at = max(stops)
        if target.consent_at is None or target.consent_at <= target.consent_stopped_at:
            target.marketing_consent = False
            target.consent_at = None
            target.consent_source = None
            target.telegram_chat_id = None
    source.greeting_token = None
    source.greeting_token_at = None


def greets_in_chat(contact: Contact) -> bool:
    """The bot may greet this contact in its chat (step 5)."""
    return bool(
        contact.marketing_consent
        and contact.telegram_chat_id is not None
        and contact.consent_stopped_at is None
        and (
            contact.consent_source == TELEGRAM
            or (contact.consent_source is None and contact.consent_at is not None)
        )
    )


def greets_in_chat_clause() -> ColumnElement[bool]:
    """`greets_in_chat` in SQL."""
    return and_(
        Contact.marketing_consent.is_(True),
        Contact.telegram_chat_id.is_not(None),
        Contact.consent_stopped_at.is_(None),
        or_(
            Contact.consent_source == TELEGRAM,
            and_(Contact.consent_source.is_(None), Contact.consent_at.is_not(None)),
        ),
    )
