"""Deals: a configurable pipeline, stage-change history, won/lost with amount or reason."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import access
from core.common import Page, audit, check_page, given_filters, page_of
from core.contacts.models import Company, Contact
from core.context import Actor, Ctx
from core.conversations import orders
from core.deals.models import Deal, DealStageChange, PipelineStage
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.use_case import use_case
from core.users.models import User

CURRENCIES = ("RUB", "USD", "EUR", "KZT", "BYN", "UZS", "CNY")


async def stages(ctx: Ctx) -> list[PipelineStage]:
    """Active pipeline stages in order."""
    rows = await ctx.session.scalars(
        select(PipelineStage).where(PipelineStage.active.is_(True)).order_by(PipelineStage.position)
    )
    return list(rows)


async def _stage(ctx: Ctx, code: str) -> PipelineStage:
    stage = await ctx.session.scalar(
        select(PipelineStage).where(PipelineStage.code == code, PipelineStage.active.is_(True))
    )
    if stage is None:
        known = ", ".join(s.code for s in await stages(ctx))
        raise InvalidInput(
            f"unknown stage {code!r}; stages: {known}", field="stage", code="stage-unknown"
        )
    return stage


# What people write after a number: a multiplier («450 тыс», «1,5 млн», «450k»), and the
# currency, which the deal already has («450 000 ₽», «450000 руб.»).
_MULTIPLIERS = {
    "тыс": 1000,
    "тысяч": 1000,
    "тысячи": 1000,
    "тысяча": 1000,
    "т": 1000,
    "k": 1000,
    "к": 1000,
    "млн": 1_000_000,
    "миллион": 1_000_000,
    "миллиона": 1_000_000,
    "миллионов": 1_000_000,
    "m": 1_000_000,
    "м": 1_000_000,
}
_AMOUNT = re.compile(
    r"^(?P<number>[0-9][0-9 ]*(?:[.,][0-9]+)?)\s*"
    r"(?:(?P<multiplier>[^\W\d_]+)\.?\s*)?"
    r"(?:₽|руб(?:лей|ля|ль)?\.?|р\.?|rub|\$|€|usd|eur)?$"
)


def parse_amount(value: Any) -> Decimal | None:
    """An amount as people type it: «150000», «150 000,50», «450 тыс», «1,5 млн», «450k»,
    «450 000 ₽», «450000 руб.»; InvalidInput for anything else."""
    if value is None or value == "":
        return None
    text = str(value).replace("\u00a0", " ").replace("\u202f", " ").strip().casefold()
    match = _AMOUNT.match(text)
    word = match.group("multiplier") if match else None
    if word in ("руб", "рублей", "рубля", "рубль", "р", "rub", "usd", "eur"):
        word = None  # a currency written as a word, not a multiplier
    multiplier = _MULTIPLIERS.get(word) if word else 1
    if match is None or multiplier is None:
        raise InvalidInput(
            f"amount {value!r} is not a number", field="amount", code="amount-invalid"
        )
    try:
        amount = Decimal(match.group("number").replace(" ", "").replace(",", ".")) * multiplier
    except InvalidOperation as exc:
        raise InvalidInput(
            f"amount {value!r} is not a number", field="amount", code="amount-invalid"
        ) from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e13"):
        raise InvalidInput(
            "amount must be between 0 and 10^13", field="amount", code="amount-range"
        )
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def _check_refs(
    ctx: Ctx, *, owner_id: int | None = None, company_id: int | None = None
) -> None:
    """Referenced rows must exist: a bad id is the caller's mistake, not a database error."""
    if owner_id is not None and await ctx.session.get(User, owner_id) is None:
        raise InvalidInput(f"user {owner_id} not found", field="owner_id", code="user-not-found")
    if company_id is not None:
        company = await ctx.session.get(Company, company_id)
        if company is None or company.deleted_at is not None:
            raise InvalidInput(f"company {company_id} not found", field="company_id")


async def _outcome(ctx: Ctx, code: str) -> str | None:
    """open, won or lost for a stage code (retired stages included)."""
    outcome: str | None = await ctx.session.scalar(
        select(PipelineStage.outcome).where(PipelineStage.code == code)
    )
    return outcome


async def _load(ctx: Ctx, actor: Actor, deal_id: int) -> Deal:
    return access.visible_deal(ctx, actor, await ctx.session.get(Deal, deal_id), deal_id)


async def _create(
    ctx: Ctx,
    *,
    actor: Actor,
    title: str,
    contact_id: int | None = None,
    company_id: int | None = None,
    stage: str | None = None,
    amount: Any = None,
    currency: str = "RUB",
    expected_close: date | None = None,
    owner_id: int | None = None,
    external_id: str | None = None,
    lost_reason: str | None = None,
) -> Deal:
    """Open a deal at the first stage (or the given one; won needs an amount, lost a reason).

    An empty `external_id` means none; a known one is a Conflict naming its deal."""
    external_id = (external_id or "").strip() or None
    if not title.strip():
        raise InvalidInput("title must not be empty", field="title", code="title-empty")
    if not access.may_assign(actor, owner_id):
        raise PermissionDenied(
            "only a manager can give a deal to someone else", code="assign-manager-only"
        )
    if currency not in CURRENCIES:
        raise InvalidInput(f"currency must be one of {', '.join(CURRENCIES)}", field="currency")
    await _check_refs(ctx, owner_id=owner_id, company_id=company_id)
    if contact_id is not None:
        contact = await ctx.session.get(Contact, contact_id)
        if (
            contact is None
            or contact.deleted_at is not None
            or not access.may_see_contact(ctx, actor, contact)
        ):
            raise InvalidInput(
                f"contact {contact_id} not found", field="contact_id", code="contact-not-found"
            )
        company_id = company_id or contact.company_id
        if owner_id is None and actor.user_id is None:
            # Pushed by an integration: the deal belongs to whoever owns the client.
            owner_id = contact.owner_id
    if external_id and await ctx.session.scalar(
        select(Deal).where(Deal.external_id == external_id)
    ):
        existing = await ctx.session.scalar(select(Deal.id).where(Deal.external_id == external_id))
        raise Conflict(f"deal with external id {external_id!r} exists", existing_id=existing)
    first = (await stages(ctx))[0]
    target = await _stage(ctx, stage) if stage else first
    parsed_amount = parse_amount(amount)
    if target.outcome == "won" and parsed_amount is None:
        raise InvalidInput("a won deal needs an amount", field="amount", code="won-needs-amount")
    if target.outcome == "lost" and not (lost_reason and lost_reason.strip()):
        raise InvalidInput(
            "a lost deal needs a reason", field="lost_reason", code="lost-needs-reason"
        )
    now = ctx.clock.now()
    deal = Deal(
        title=title.strip()[:300],
        contact_id=contact_id,
        company_id=company_id,
        owner_id=owner_id if owner_id is not None else actor.user_id,
        stage=target.code,
        currency=currency,
        expected_close=expected_close,
        external_id=external_id,
        created_at=now,
        updated_at=now,
        closed_at=now if target.outcome != "open" else None,
        lost_reason=lost_reason.strip() if target.outcome == "lost" and lost_reason else None,
    )
    deal.amount = parsed_amount
    ctx.session.add(deal)
    try:
        await ctx.session.flush()
    except IntegrityError:  # the same external id pushed twice at once: the other one won
        await ctx.session.rollback()
        existing = await ctx.session.scalar(select(Deal.id).where(Deal.external_id == external_id))
        if existing is None:
            raise
        raise Conflict(
            f"deal with external id {external_id!r} exists", existing_id=existing
        ) from None
    ctx.session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage=None,
            to_stage=target.code,
            changed_by_id=actor.user_id,
            changed_at=now,
        )
    )
    audit(
        ctx,
        actor=actor,
        entity="deal",
        entity_id=deal.id,
        action="create",
        changes={"title": deal.title, "stage": deal.stage, "amount": deal.amount},
    )
    return deal


create = use_case(_create)


async def _move(
    ctx: Ctx,
    *,
    actor: Actor,
    deal_id: int,
    stage: str,
    amount: Any = None,
    lost_reason: str | None = None,
) -> Deal:
    """Move a deal to a stage; won needs (or keeps) an amount, lost needs a reason."""
    deal = await _load(ctx, actor, deal_id)
    target = await _stage(ctx, stage)
    if deal.closed_at is not None:
        raise InvalidInput(
            f"deal {deal.id} is closed ({deal.stage})", field="stage", code="deal-closed"
        )
    if target.code == deal.stage:
        return deal
    if amount is not None:
        deal.amount = parse_amount(amount)
    if target.outcome == "won" and deal.amount is None:
        raise InvalidInput("a won deal needs an amount", field="amount", code="won-needs-amount")
    if target.outcome == "lost":
        if not (lost_reason and lost_reason.strip()):
            raise InvalidInput(
                "a lost deal needs a reason", field="lost_reason", code="lost-needs-reason"
            )
        deal.lost_reason = lost_reason.strip()
    now = ctx.clock.now()
    change = DealStageChange(
        deal_id=deal.id,
        from_stage=deal.stage,
        to_stage=target.code,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    ctx.session.add(change)
    audit(
        ctx,
        actor=actor,
        entity="deal",
        entity_id=deal.id,
        action="move",
        changes={"from": deal.stage, "to": target.code, "amount": deal.amount},
    )
    deal.stage = target.code
    deal.updated_at = now
    if target.outcome != "open":
        deal.closed_at = now
    await ctx.session.flush()
    # A client with a conversation hears of a move into a stage marked to notify, once.
    await orders.stage_changed(ctx, deal=deal, change=change)
    return deal


move = use_case(_move)


async def _update(ctx: Ctx, *, actor: Actor, deal_id: int, changes: dict[str, Any]) -> Deal:
    """Edit title, amount, currency, expected close date or owner."""
    deal = await _load(ctx, actor, deal_id)
    allowed = {"title", "amount", "currency", "expected_close", "owner_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    if "title" in changes:
        if not str(changes["title"] or "").strip():
            raise InvalidInput("title must not be empty", field="title", code="title-empty")
        deal.title = str(changes["title"]).strip()[:300]
    if "amount" in changes:
        amount = parse_amount(changes["amount"])
        if amount is None and await _outcome(ctx, deal.stage) == "won":
            raise InvalidInput(
                "a won deal needs an amount", field="amount", code="won-needs-amount"
            )
        deal.amount = amount
    if "currency" in changes:
        if changes["currency"] not in CURRENCIES:
            raise InvalidInput(f"currency must be one of {', '.join(CURRENCIES)}", field="currency")
        deal.currency = changes["currency"]
    if "expected_close" in changes:
        deal.expected_close = changes["expected_close"]
    if "owner_id" in changes:
        if not actor.sees_all:
            raise PermissionDenied(
                "only a manager can give a deal to someone else", code="assign-manager-only"
            )
        await _check_refs(ctx, owner_id=changes["owner_id"])
        deal.owner_id = changes["owner_id"]
    deal.updated_at = ctx.clock.now()
    audit(ctx, actor=actor, entity="deal", entity_id=deal.id, action="update", changes=changes)
    return deal


update = use_case(_update)


async def get(ctx: Ctx, *, actor: Actor, deal_id: int) -> Deal:
    return await _load(ctx, actor, deal_id)


async def history(ctx: Ctx, *, actor: Actor, deal_id: int) -> list[DealStageChange]:
    await _load(ctx, actor, deal_id)
    rows = await ctx.session.scalars(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal_id)
        .order_by(DealStageChange.changed_at, DealStageChange.id)
    )
    return list(rows)


async def list_deals(
    ctx: Ctx,
    *,
    actor: Actor,
    contact_id: int | None = None,
    stage: str | None = None,
    owner_id: int | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page[Deal]:
    check_page(limit, offset)
    where = []
    where.append(access.deal_clause(ctx, actor))
    where += given_filters(
        equal=[(Deal.owner_id, owner_id), (Deal.contact_id, contact_id), (Deal.stage, stage)]
    )
    if open_only:
        where.append(Deal.closed_at.is_(None))
    return await page_of(ctx, Deal, where, order_by=(Deal.id.desc(),), limit=limit, offset=offset)


UPSERT_ATTEMPTS = 3


async def upsert_by_external_id(
    ctx: Ctx, *, actor: Actor, external_id: str, fields: dict[str, Any]
) -> tuple[Deal, bool]:
    """The shop pushes an order: update the deal with this external id, or create it.

    `contact_id`, `company_id` and `stage` shape a new deal; on an existing one `stage`
    moves it (won needs an amount, lost a reason) and the other fields are edited."""
    key = external_id.strip()
    if not key:
        raise InvalidInput("external_id must not be empty", field="external_id")
    for attempt in range(UPSERT_ATTEMPTS):
        deal_id = await ctx.session.scalar(select(Deal.id).where(Deal.external_id == key))
        if deal_id is not None:
            deal = await _update_pushed(ctx, actor, deal_id, fields)
            await ctx.session.commit()  # the move and the edits: one fact
            return deal, False
        if not str(fields.get("title") or "").strip():
            raise InvalidInput("title is needed to create a deal", field="title")
        try:
            deal = await _create(ctx, actor=actor, external_id=key, **fields)
            await ctx.session.commit()
            return deal, True
        except Conflict:
            if attempt == UPSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _update_pushed(ctx: Ctx, actor: Actor, deal_id: int, fields: dict[str, Any]) -> Deal:
    shaping = ("contact_id", "company_id", "stage", "lost_reason")
    changes = {k: v for k, v in fields.items() if k not in shaping}
    deal = await _load(ctx, actor, deal_id)
    stage = fields.get("stage")
    if stage and stage != deal.stage:
        deal = await _move(
            ctx,
            actor=actor,
            deal_id=deal_id,
            stage=stage,
            amount=changes.get("amount"),
            lost_reason=fields.get("lost_reason"),
        )
    if changes:
        deal = await _update(ctx, actor=actor, deal_id=deal_id, changes=changes)
    return deal
