"""Stale deals for the digest: open at the period's end, untouched for a while, nothing planned.

1. A deal is touched when it is created or changes stage, by activities done on it or its
   contact, and by calls and notes with its contact; all before the period's end.
2. It is stale when its last touch is STALE_DAYS or more before the end (or it was never
   touched) and no activity of the deal or of its contact was open at the end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, not_, or_, select

from core.activities.models import Activity
from core.calls.models import Call
from core.context import Ctx
from core.notes.models import Note
from core.reports.deals import DealsAt
from core.reports.dto import StaleDeal
from core.reports.rows import _aware, done_at

STALE_DAYS = 14


async def _latest(ctx: Ctx, key: Any, moment: Any, as_of: datetime) -> dict[int, datetime]:
    """The latest `moment` before `as_of` per `key`."""
    rows = await ctx.session.execute(
        select(key, func.max(moment)).where(key.is_not(None), moment < as_of).group_by(key)
    )
    return {k: v for k, v in ((k, _aware(v)) for k, v in rows.tuples()) if v is not None}


async def _planned(ctx: Ctx, as_of: datetime) -> tuple[set[int], set[int]]:
    """Contacts and deals with an activity open at `as_of` (created before it, not closed)."""
    closed_before = or_(
        and_(Activity.status == "done", done_at() < as_of),
        and_(Activity.status == "canceled", Activity.updated_at < as_of),
    )
    rows = await ctx.session.execute(
        select(Activity.contact_id, Activity.deal_id)
        .where(Activity.created_at < as_of, not_(closed_before))
        .distinct()
    )
    contacts: set[int] = set()
    deals: set[int] = set()
    for contact_id, deal_id in rows.tuples():
        if contact_id is not None:
            contacts.add(contact_id)
        if deal_id is not None:
            deals.add(deal_id)
    return contacts, deals


async def stale_deals(
    ctx: Ctx, state: DealsAt, *, as_of: datetime, names: dict[int, str]
) -> list[StaleDeal]:
    """Open deals at `as_of` untouched for STALE_DAYS with nothing planned, largest first."""
    open_deals = {i: d for i, d in state.deals.items() if state.outcome(d.stage) == "open"}
    if not open_deals:
        return []
    by_contact = [
        await _latest(ctx, Call.contact_id, Call.started_at, as_of),
        await _latest(ctx, Note.contact_id, Note.created_at, as_of),
        await _latest(ctx, Activity.contact_id, done_at(), as_of),
    ]
    by_deal = await _latest(ctx, Activity.deal_id, done_at(), as_of)
    busy_contacts, busy_deals = await _planned(ctx, as_of)
    limit = as_of - timedelta(days=STALE_DAYS)
    stage_names = {s.code: s.name for s in state.stages}
    found: list[StaleDeal] = []
    for deal_id, deal in open_deals.items():
        contact = deal.contact_id
        if deal_id in busy_deals or (contact is not None and contact in busy_contacts):
            continue
        touches = [_aware(deal.created_at), deal.entered, by_deal.get(deal_id)]
        if contact is not None:
            touches += [latest.get(contact) for latest in by_contact]
        last = max((t for t in touches if t is not None), default=None)
        if last is not None and last > limit:
            continue
        owner = names.get(deal.owner_id, "") if deal.owner_id is not None else ""
        amount = Decimal(deal.amount_minor) / 100
        stage = stage_names.get(deal.stage, deal.stage)
        found.append(StaleDeal(deal.title, owner, stage, amount, deal.currency, last))
    return sorted(found, key=lambda d: (-d.amount, d.title))
