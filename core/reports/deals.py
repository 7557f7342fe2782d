"""Deals as they stood at a moment, rebuilt from their stage history, for the digest.

1. The deals created before the cut-off are read with all their stage changes.
2. A deal's stage at the cut-off is the target of its last change before it; when its changes
   all came later, the stage the first of them left; without any history (data older than
   the history), its current stage, unless it closed after the cut-off: then it was open,
   and is counted in the first stage.
3. Won and lost are terminal, so a deal closed in the period is won or lost by its current
   stage; its amount, currency, owner and loss reason are today's (no history is kept).
4. The funnel counts the deals open at the cut-off or closed in the period; a deal reached
   every stage up to the furthest it has been in (a won deal reached them all). Time in a
   stage is averaged over the deals that left it in the period (entered by the history).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from core.contacts.models import Contact
from core.context import Ctx
from core.deals.models import Deal, DealStageChange, PipelineStage
from core.reports.dto import (
    Figures,
    Forecast,
    FunnelStep,
    LossReason,
    PipelineRow,
    SourceRow,
)
from core.reports.rows import _aware, stream


@dataclass(slots=True)
class _Deal:
    owner_id: int | None
    current: str  # its stage today
    amount_minor: int
    currency: str
    created_at: datetime
    closed_at: datetime | None
    lost_reason: str | None
    source: str | None
    contact_id: int | None
    title: str
    expected_close: date | None
    stage: str = ""  # at the cut-off (the last change before it)
    left: str | None = None  # the stage its first change after the cut-off left
    furthest: int = -1  # the furthest open stage (its index) reached by the cut-off
    entered: datetime | None = None  # when it entered `stage`


@dataclass(slots=True)
class DealsAt:
    """What the deals that matter to a period looked like at its cut-off."""

    stages: list[PipelineStage]
    deals: dict[int, _Deal]
    outcomes: dict[str, str]
    # Seconds each deal that left a stage in [start, as_of) had spent in it, by stage.
    time_in_stage: dict[str, list[float]]

    def outcome(self, code: str) -> str:
        return self.outcomes.get(code, "open")


async def deals_at(ctx: Ctx, *, start: datetime, as_of: datetime) -> DealsAt:
    """The deals created before `as_of` and not closed before `start`, each with its stage at
    `as_of` (see the module doc); read in batches, one small record per deal."""
    stages = list(await ctx.session.scalars(select(PipelineStage).order_by(PipelineStage.position)))
    codes = {s.code: s.code for s in stages}  # one string per stage, not one per row
    position = {s.code: index for index, s in enumerate(s for s in stages if s.outcome == "open")}
    first_open = next(iter(position), "")
    relevant = and_(Deal.created_at < as_of, or_(Deal.closed_at.is_(None), Deal.closed_at >= start))
    deals: dict[int, _Deal] = {}
    query = (
        select(
            Deal.id,
            Deal.owner_id,
            Deal.stage,
            Deal.amount_minor,
            Deal.currency,
            Deal.created_at,
            Deal.closed_at,
            Deal.lost_reason,
            Contact.source,
            Deal.contact_id,
            Deal.title,
            Deal.expected_close,
        )
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .where(relevant)
    )
    sources: dict[str, str] = {}
    async for row in stream(ctx, query):
        deal_id, owner, stage, amount, currency, created, closed, reason, source, *rest = row
        deals[deal_id] = _Deal(
            owner,
            codes.get(stage, stage),
            amount or 0,
            currency,
            created,
            closed,
            reason,
            sources.setdefault(source, source) if source else None,
            *rest,
        )
    changes = (
        select(
            DealStageChange.deal_id,
            DealStageChange.changed_at,
            DealStageChange.from_stage,
            DealStageChange.to_stage,
        )
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(relevant)
        .order_by(DealStageChange.deal_id, DealStageChange.changed_at, DealStageChange.id)
    )
    seen_later: set[int] = set()
    time_in_stage: dict[str, list[float]] = defaultdict(list)
    async for deal_id, changed_at, before, after in stream(ctx, changes):
        deal = deals[deal_id]
        moment = _aware(changed_at) or as_of
        if moment < as_of:
            if deal.entered is not None and moment >= start:
                time_in_stage[deal.stage].append((moment - deal.entered).total_seconds())
            deal.stage, deal.entered = codes.get(after, after), moment
            deal.furthest = max(deal.furthest, position.get(after, -1))
        elif deal_id not in seen_later:
            seen_later.add(deal_id)
            deal.left = codes.get(before, before) if before else None
    for deal in deals.values():
        if not deal.stage:
            closed = _aware(deal.closed_at)
            if deal.left:
                deal.stage = deal.left
            elif closed is None or closed < as_of:
                deal.stage = deal.current
            else:
                deal.stage = first_open
        deal.furthest = max(deal.furthest, position.get(deal.stage, -1))
    return DealsAt(stages, deals, {s.code: s.outcome for s in stages}, time_in_stage)


def add_figures(
    state: DealsAt,
    *,
    start: datetime,
    as_of: datetime,
    currency: str,
    of: Callable[[int | None], Figures],
) -> None:
    """Deals created, won, lost in [start, as_of) and open at `as_of`, per owner."""
    for deal in state.deals.values():
        figures = of(deal.owner_id)
        amount = Decimal(deal.amount_minor) / 100 if deal.currency == currency else Decimal(0)
        if _aware(deal.created_at) >= start:  # type: ignore[operator]
            figures.deals_created += 1
        outcome = state.outcome(deal.stage)
        if outcome == "open":
            figures.open_deals += 1
            figures.open_amount += amount
        elif _closed_in(deal, start, as_of):
            if outcome == "won":
                figures.deals_won += 1
                figures.amount_won += amount
            else:
                figures.deals_lost += 1
                figures.amount_lost += amount


def _closed_in(deal: _Deal, start: datetime, as_of: datetime) -> bool:
    closed = _aware(deal.closed_at)
    return closed is not None and start <= closed < as_of


def pipeline(state: DealsAt, *, start: datetime, as_of: datetime) -> list[PipelineRow]:
    """Open stages at `as_of`, then won and lost in [start, as_of), by stage and currency."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for deal in state.deals.values():
        stage = deal.stage
        if state.outcome(stage) == "open" or _closed_in(deal, start, as_of):
            total = totals[(stage, deal.currency)]
            total[0] += 1
            total[1] += deal.amount_minor
    rows = []
    for step in state.stages:
        for (code, currency), (count, amount) in sorted(totals.items()):
            if code == step.code:
                rows.append(
                    PipelineRow(step.name, count, Decimal(amount) / 100, currency, step.outcome)
                )
    return rows


def funnel(state: DealsAt, *, start: datetime, as_of: datetime) -> list[FunnelStep]:
    """Stage-to-stage conversion of the deals worked in the period (see the module doc)."""
    open_stages = [s for s in state.stages if s.outcome == "open"]
    furthest: list[int] = []
    won = 0
    for deal in state.deals.values():
        outcome = state.outcome(deal.stage)
        if outcome != "open" and not _closed_in(deal, start, as_of):
            continue
        if outcome == "won":
            won += 1
            furthest.append(len(open_stages) - 1)
        else:
            furthest.append(max(deal.furthest, 0))  # a deal lost at once entered the first
    steps: list[FunnelStep] = []
    previous: int | None = None
    names = [s.name for s in open_stages]
    won_name = next((s.name for s in state.stages if s.outcome == "won"), "won")
    counts = [sum(1 for f in furthest if f >= index) for index in range(len(open_stages))]
    days = [_average_days(state.time_in_stage.get(s.code, [])) for s in open_stages]
    for name, count, in_stage in [*zip(names, counts, days, strict=True), (won_name, won, None)]:
        conversion = count / previous if previous else None
        steps.append(FunnelStep(name, count, conversion, in_stage))
        previous = count
    return steps


def _average_days(seconds: list[float]) -> float | None:
    return round(sum(seconds) / len(seconds) / 86400, 1) if seconds else None


def loss_reasons(
    state: DealsAt, *, start: datetime, as_of: datetime, currency: str
) -> list[LossReason]:
    """Deals lost in [start, as_of) by their reason, the most frequent first."""
    counts: dict[str, list[Decimal]] = defaultdict(list)
    for deal in state.deals.values():
        if state.outcome(deal.stage) == "lost" and _closed_in(deal, start, as_of):
            amount = deal.amount_minor if deal.currency == currency else 0
            counts[(deal.lost_reason or "").strip()].append(Decimal(amount) / 100)
    return sorted(
        (
            LossReason(reason, len(amounts), sum(amounts, Decimal(0)))
            for reason, amounts in counts.items()
        ),
        key=lambda r: (-r.count, r.reason),
    )


def by_source(
    state: DealsAt, *, start: datetime, as_of: datetime, currency: str
) -> list[SourceRow]:
    """Deals created and won in [start, as_of) by their client's source, the most won first."""
    rows: dict[str, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
    for deal in state.deals.values():
        row = rows[deal.source or ""]
        created = _aware(deal.created_at)
        if created is not None and created >= start:
            row[0] += 1
        if state.outcome(deal.stage) == "won" and _closed_in(deal, start, as_of):
            row[1] += 1
            if deal.currency == currency:
                row[2] += Decimal(deal.amount_minor) / 100
    found = [
        SourceRow(source, *values) for source, values in rows.items() if values[0] or values[1]
    ]
    return sorted(found, key=lambda r: (-r.amount_won, -r.won, -r.created, r.source))


def forecast(
    state: DealsAt,
    steps: list[FunnelStep],
    *,
    as_of: datetime,
    length: timedelta,
    currency: str,
) -> Forecast:
    """Open deals expected to close in the next `length` after `as_of`, their amount, and that
    amount weighted by the share of the period's deals won from their stage."""
    open_codes = [s.code for s in state.stages if s.outcome == "open"]
    won = steps[-1].reached if steps else 0
    win_rate = {
        code: (won / step.reached if step.reached else 0.0)
        for code, step in zip(open_codes, steps, strict=False)
    }
    first, last = as_of.date(), (as_of + length).date()
    result = Forecast(until=as_of + length)
    for deal in state.deals.values():
        if state.outcome(deal.stage) != "open" or deal.expected_close is None:
            continue
        if deal.expected_close < first:
            result.overdue += 1
        elif deal.expected_close < last:
            amount = Decimal(deal.amount_minor) / 100 if deal.currency == currency else Decimal(0)
            result.deals += 1
            result.amount += amount
            result.weighted += (amount * Decimal(str(win_rate.get(deal.stage, 0.0)))).quantize(
                Decimal("0.01")
            )
    return result
