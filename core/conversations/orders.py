"""A client's orders: what stages clients see, their open orders, status notices, requests.

1. A stage is shown to clients when an admin gave it a client-facing name (ru and/or en);
   `notify_client` on it means "tell the client when their order moves here"
   (`set_stage_view`, the CLI `perezvon stages set`).
2. A client's open orders are the deals of their contact that are not closed and sit in a
   stage with a client-facing name (`client_orders`): other deals are the team's business.
3. When a deal moves (core.deals.service.move, the shop's upsert too) into a stage marked
   to notify, `stage_changed` sends the client one message through the outbox, keyed by the
   DealStageChange's id: the same change never tells twice, a later move back and forth does.
4. "Leave a request" (`leave_request`) opens a deal at the first stage for the contact's
   owner (or the on-duty person) and tells them through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, or_, select

from core.common import audit
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import order_texts
from core.conversations.client_messages import reachable_conversation, send_to_contact
from core.deals.models import Deal, DealStageChange, PipelineStage
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.notes.models import Note
from core.outbox import service as outbox
from core.users import duty
from core.users.models import User

MAX_ORDERS = 20  # a client's list in one message
REQUEST_MAX_CHARS = 2000
CLIENT_NAME_MAX = 100


@dataclass(frozen=True)
class ClientOrder:
    """One open order as its client sees it."""

    deal_id: int
    title: str
    status: str  # the stage's client-facing name in the client's language
    amount: Decimal | None
    currency: str
    updated_at: datetime


def client_stage_name(stage: PipelineStage, locale: str | None) -> str | None:
    """The stage's name for clients in `locale` (the other language when only one is set)."""
    ru, en = stage.client_name_ru, stage.client_name_en
    return (en or ru) if (locale or "ru")[:2] == "en" else (ru or en)


def _client_visible() -> ColumnElement[bool]:
    return or_(PipelineStage.client_name_ru.is_not(None), PipelineStage.client_name_en.is_not(None))


async def client_orders(ctx: Ctx, *, contact_id: int, locale: str | None) -> list[ClientOrder]:
    """The contact's open orders in stages clients see, most recently changed first."""
    rows = await ctx.session.execute(
        select(Deal, PipelineStage)
        .join(PipelineStage, PipelineStage.code == Deal.stage)
        .where(Deal.contact_id == contact_id, Deal.closed_at.is_(None), _client_visible())
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(MAX_ORDERS)
    )
    return [
        ClientOrder(
            deal_id=deal.id,
            title=deal.title,
            status=client_stage_name(stage, locale) or "",
            amount=deal.amount,
            currency=deal.currency,
            updated_at=deal.updated_at,
        )
        for deal, stage in rows
    ]


async def all_stages(ctx: Ctx) -> list[PipelineStage]:
    """Every stage (retired ones too) in pipeline order."""
    rows = await ctx.session.scalars(select(PipelineStage).order_by(PipelineStage.position))
    return list(rows)


def _client_name(value: str | None, field: str) -> str | None:
    name = " ".join((value or "").split())
    if len(name) > CLIENT_NAME_MAX:
        raise InvalidInput(f"{field} is longer than {CLIENT_NAME_MAX} characters", field=field)
    return name or None


async def set_stage_view(
    ctx: Ctx,
    *,
    actor: Actor,
    code: str,
    client_name_ru: str | None = None,
    client_name_en: str | None = None,
    notify_client: bool | None = None,
) -> PipelineStage:
    """Set what clients see for a stage (admins): a name given as "" hides it again; None
    leaves a field as it is."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can change what clients see", code="admin-only")
    stage = await ctx.session.scalar(select(PipelineStage).where(PipelineStage.code == code))
    if stage is None:
        known = ", ".join(s.code for s in await all_stages(ctx))
        raise NotFound(f"no stage {code!r}; stages: {known}")
    if client_name_ru is not None:
        stage.client_name_ru = _client_name(client_name_ru, "client_name_ru")
    if client_name_en is not None:
        stage.client_name_en = _client_name(client_name_en, "client_name_en")
    if notify_client is not None:
        stage.notify_client = notify_client
    if stage.notify_client and client_stage_name(stage, "ru") is None:
        raise InvalidInput(
            f"stage {code!r} has no client-facing name: clients cannot be told about it",
            field="notify_client",
        )
    audit(
        ctx,
        actor=actor,
        entity="pipeline_stage",
        entity_id=stage.id,
        action="client_view",
        changes={
            "client_name_ru": stage.client_name_ru,
            "client_name_en": stage.client_name_en,
            "notify_client": stage.notify_client,
        },
    )
    await ctx.session.commit()
    return stage


CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "CNY": "¥"}


def money(amount: Decimal, currency: str, locale: str | None) -> str:
    """An amount as clients read it: «4 500 ₽», «4 500,50 ₽» (ru), «4,500.50 $» (en)."""
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    if (locale or "ru")[:2] != "en":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return f"{text}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


async def stage_changed(ctx: Ctx, *, deal: Deal, change: DealStageChange) -> bool:
    """Tell the deal's client about a move into a stage marked to notify, once per change.

    Runs in the mover's unit of work (no commit). True when a message was queued."""
    if deal.contact_id is None:
        return False
    stage = await ctx.session.scalar(
        select(PipelineStage).where(PipelineStage.code == change.to_stage)
    )
    if stage is None or not stage.notify_client:
        return False
    contact = await ctx.session.get(Contact, deal.contact_id)
    if contact is None or contact.deleted_at is not None:
        return False  # a deleted client is not written to; the move itself goes on
    conversation = await reachable_conversation(ctx, contact_id=deal.contact_id)
    status = client_stage_name(stage, conversation.language if conversation else None)
    if conversation is None or status is None:
        return False
    locale = conversation.language
    values = {"title": deal.title, "status": status}
    key = "status_changed"
    if deal.amount is not None:
        values["amount"] = money(deal.amount, deal.currency, locale)
        key = "status_changed_amount"
    _message, queued = await send_to_contact(
        ctx,
        actor=Actor.system("order_status"),
        contact_id=deal.contact_id,
        text=order_texts.text(locale, key, **values),
        idempotency_key=f"order-status:{change.id}",
        author_label="order_status",
    )
    return queued


async def _responsible(ctx: Ctx, contact: Contact) -> int | None:
    """The contact's owner when active, else the on-duty person."""
    if contact.owner_id is not None:
        owner = await ctx.session.get(User, contact.owner_id)
        if owner is not None and owner.active:
            return owner.id
    return await duty.on_duty_id(ctx)


async def leave_request(ctx: Ctx, *, contact_id: int, text: str, phone: str | None = None) -> Deal:
    """A client's request: a deal at the first stage for the owner (or on-duty), who is told."""
    body = " ".join((text or "").split())
    if not body:
        raise InvalidInput("the request is empty", field="text", code="request-empty")
    if len(body) > REQUEST_MAX_CHARS:
        raise InvalidInput(
            f"the request is longer than {REQUEST_MAX_CHARS} characters",
            field="text",
            code="request-too-long",
            args={"limit": REQUEST_MAX_CHARS},
        )
    contact = await ctx.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound(f"contact {contact_id} not found")
    first = await ctx.session.scalar(
        select(PipelineStage)
        .where(PipelineStage.active.is_(True))
        .order_by(PipelineStage.position)
        .limit(1)
    )
    if first is None:
        raise NotFound("the pipeline has no stages")
    owner_id = await _responsible(ctx, contact)
    now = ctx.clock.now()
    deal = Deal(
        title=body[:300],
        contact_id=contact.id,
        company_id=contact.company_id,
        owner_id=owner_id,
        stage=first.code,
        currency="RUB",
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(deal)
    await ctx.session.flush()
    ctx.session.add(
        DealStageChange(deal_id=deal.id, from_stage=None, to_stage=first.code, changed_at=now)
    )
    given_phone = (phone or "").strip()[:64] or None
    # The whole request stays on the card (the deal's title holds its first 300 characters).
    ctx.session.add(
        Note(
            contact_id=contact.id,
            deal_id=deal.id,
            text=body + (f"\n\N{TELEPHONE RECEIVER} {given_phone}" if given_phone else ""),
            kind="client_request",
            created_at=now,
        )
    )
    client = Actor.system("client")
    audit(
        ctx,
        actor=client,
        entity="deal",
        entity_id=deal.id,
        action="client_request",
        changes={"contact_id": contact.id, "stage": first.code, "phone_given": bool(phone)},
    )
    if owner_id is not None:
        await outbox.enqueue(
            ctx,
            kind="client_request",
            dedupe_key=f"client-request:{deal.id}",
            payload={
                "deal_id": deal.id,
                "contact_id": contact.id,
                "text": body,
                "phone": given_phone,
            },
            user_id=owner_id,
        )
    await ctx.session.commit()
    return deal
