"""Monthly sales targets: set by a manager, read by the salesperson, shown in the digest.

1. A target is one figure a salesperson is to reach in a calendar month: the amount of
   deals won (in the digest's main currency), the number of deals won, or outbound calls.
   The figures are the digest's own (core/reports/service.py), so plan and actual agree.
2. Managers, admins and the system set them (`core.access.may_set_targets`); a salesperson
   reads their own. Setting a figure replaces that month's figure; 0 removes it.
3. Each change is audited and committed once; the answer is the person's month as it is now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from core import access
from core.common import audit
from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.targets.models import SalesTarget
from core.users.models import User

# The order the digest, the CLI and the bot show them in.
METRICS = ("won_amount", "deals_won", "calls_out")
MONEY = "won_amount"  # kept in minor units, like deal amounts
MAX_TARGET = Decimal(10) ** 12
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Target:
    user_id: int
    name: str
    month: date  # the first day of the month
    metric: str
    value: Decimal  # money in major units; counts whole


def parse_month(text: str) -> date:
    """A month as people type it: 2026-12, 12.2026 or 12/2026 -> its first day."""
    text = text.strip()
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", text) or re.fullmatch(r"(\d{1,2})[./](\d{4})", text)
    if found:
        first, second = found.groups()
        year, month = (int(first), int(second)) if len(first) == 4 else (int(second), int(first))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return date(year, month, 1)
    raise InvalidInput(
        f"{text!r} is not a month (write 2026-12)",
        field="month",
        code="month-invalid",
        args={"text": text},
    )


def parse_value(metric: str, text: str) -> Decimal:
    """A target as typed: a number (spaces and a decimal comma allowed); counts are whole."""
    if metric not in METRICS:
        raise InvalidInput(
            f"{metric!r} is not a target (one of {', '.join(METRICS)})",
            field="metric",
            code="target-metric-invalid",
            args={"metric": metric, "metrics": ", ".join(METRICS)},
        )
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal(-1)
    whole = metric == MONEY or value == value.to_integral_value()
    if not value.is_finite() or value < 0 or value >= MAX_TARGET or not whole:
        raise InvalidInput(
            f"{text!r} is not a target for {metric} (a number from 0; 0 removes it)",
            field=metric,
            code="target-value-invalid",
            args={"text": text, "metric": metric},
        )
    return value.quantize(CENTS) if metric == MONEY else value.to_integral_value()


def _stored(metric: str, value: Decimal) -> int:
    return int((value * 100).to_integral_value()) if metric == MONEY else int(value)


def _shown(metric: str, stored: int) -> Decimal:
    return (Decimal(stored) / 100).quantize(CENTS) if metric == MONEY else Decimal(stored)


async def set_targets(
    ctx: Ctx, *, actor: Actor, user_id: int, month: date, values: Mapping[str, Decimal]
) -> list[Target]:
    """Set (0: remove) a salesperson's targets for a month; their month's targets after."""
    if not access.may_set_targets(actor):
        raise PermissionDenied(
            "monthly targets are set by managers and admins", code="targets-manager-only"
        )
    if not values:
        raise InvalidInput("give at least one target", field="metric", code="target-none")
    user = await ctx.session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no active user {user_id}", code="user-not-found")
    month = month.replace(day=1)
    found = await ctx.session.scalars(
        select(SalesTarget).where(SalesTarget.user_id == user_id, SalesTarget.month == month)
    )
    existing = {row.metric: row for row in found}
    now = ctx.clock.now()
    for metric, value in values.items():
        value = parse_value(metric, str(value))
        row = existing.get(metric)
        if value == 0:
            if row is not None:
                await ctx.session.delete(row)
            continue
        if row is None:
            row = SalesTarget(user_id=user_id, month=month, metric=metric, target=0)
            ctx.session.add(row)
        row.target, row.set_by_user_id, row.updated_at = _stored(metric, value), actor.user_id, now
    audit(
        ctx,
        actor=actor,
        entity="user",
        entity_id=user_id,
        action="set_targets",
        changes={"month": month.isoformat(), **{k: str(v) for k, v in values.items()}},
    )
    await ctx.session.commit()
    return await list_targets(ctx, actor=actor, month=month, user_id=user_id)


async def list_targets(
    ctx: Ctx, *, actor: Actor, month: date, user_id: int | None = None
) -> list[Target]:
    """The month's targets the actor may read (a salesperson: their own), by name then metric."""
    if user_id is not None and not access.may_see_targets(actor, user_id):
        raise NotFound(f"no targets of user {user_id}")
    query = (
        select(SalesTarget.user_id, User.name, SalesTarget.metric, SalesTarget.target)
        .join(User, User.id == SalesTarget.user_id)
        .where(SalesTarget.month == month.replace(day=1), access.targets_clause(actor))
    )
    if user_id is not None:
        query = query.where(SalesTarget.user_id == user_id)
    rows = [
        Target(uid, name, month.replace(day=1), metric, _shown(metric, value))
        for uid, name, metric, value in (await ctx.session.execute(query)).tuples()
    ]
    rows.sort(key=lambda t: (t.name.casefold(), t.user_id, METRICS.index(t.metric)))
    return rows


async def month_targets(ctx: Ctx, *, month: date) -> dict[int, dict[str, Decimal]]:
    """Every target of a month by user and metric (for the digest, which checks access)."""
    found = await ctx.session.execute(
        select(SalesTarget.user_id, SalesTarget.metric, SalesTarget.target).where(
            SalesTarget.month == month.replace(day=1), SalesTarget.metric.in_(METRICS)
        )
    )
    targets: dict[int, dict[str, Decimal]] = {}
    for uid, metric, value in found.tuples():
        targets.setdefault(uid, {})[metric] = _shown(metric, value)
    return targets


async def find_person(ctx: Ctx, *, text: str) -> User:
    """An active team member as a manager names them: #ID, @username or a name only one
    active member has; several of a name is refused, never guessed."""
    key = text.strip()
    if key.lstrip("#").isdigit():
        user = await ctx.session.get(User, int(key.lstrip("#")))
        if user is None or not user.active:
            raise NotFound(f"no active user {key}", code="user-not-found")
        return user
    active = list(await ctx.session.scalars(select(User).where(User.active.is_(True))))
    if key.startswith("@"):
        handle = key[1:].casefold()
        found = [u for u in active if (u.telegram_username or "").casefold() == handle]
    else:
        found = [u for u in active if u.name.casefold().strip() == key.casefold()]
    if len(found) > 1:
        raise InvalidInput(
            f"{len(found)} users are named {key!r}: write #ID instead",
            field="user",
            code="user-ambiguous",
            args={"name": key},
        )
    if not found:
        raise NotFound(f"no active user {key!r}", code="user-not-found")
    return found[0]
