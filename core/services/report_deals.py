"""Deals as they stood at a moment, rebuilt from their stage history, for the digest.

1. The deals created before the cut-off are read with all their stage changes.
2. A deal's stage at the cut-off is the target of its last change before it; when its changes
   all came later, the stage the first of them left; without any history (data older than
   the history), its current stage, unless it closed after the cut-off: then it was open,
   and is counted in the first stage.
3. Won and lost are terminal, so a deal closed in the period is won or lost by its current
   stage; its amount, currency, owner and loss reason are today's (no history is kept).
4. The funnel counts the deals open at the cut-off or closed in the period; a deal reached
   every stage up to the furthest it has been in (a won deal reached them all).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core.context import Ctx
from core.models.work import Deal, DealStageChange, PipelineStage
from core.reports.dto import Figures, FunnelStep, LossReason, PipelineRow
from core.services.report_rows import _aware


@dataclass(slots=True)
class _Deal:
    owner_id: int | None
    current: str
    amount_minor: int
    currency: str
    created_at: datetime
    closed_at: datetime | None
    lost_reason: str | None
    changes: list[tuple[datetime, str | None, str]] = field(default_factory=list)


@dataclass(slots=True)
class DealsAt:
    """What the deals looked like at a cut-off: stage of each, and the stages it reached."""

    stages: list[PipelineStage]
    deals: dict[int, _Deal]
    stage_at: dict[int, str]
    reached: dict[int, set[str]]

    def outcome(self, code: str) -> str:
        return next((s.outcome for s in self.stages if s.code == code), "open")


async def deals_at(ctx: Ctx, *, as_of: datetime) -> DealsAt:
    """Every deal created before `as_of` with its stage then (see the module doc)."""
    stages = list(await ctx.session.scalars(select(PipelineStage).order_by(PipelineStage.position)))
    first_open = next((s.code for s in stages if s.outcome == "open"), "")
    deals: dict[int, _Deal] = {}
    rows = await ctx.session.execute(
        select(
            Deal.id,
            Deal.owner_id,
            Deal.stage,
            Deal.amount_minor,
            Deal.currency,
            Deal.created_at,
            Deal.closed_at,
            Deal.lost_reason,
        ).where(Deal.created_at < as_of)
    )
    for deal_id, owner, stage, amount, currency, created, closed, reason in rows.tuples():
        deals[deal_id] = _Deal(owner, stage, amount or 0, currency, created, closed, reason)
    changes = await ctx.session.execute(
        select(
            DealStageChange.deal_id,
            DealStageChange.changed_at,
            DealStageChange.from_stage,
            DealStageChange.to_stage,
        )
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(Deal.created_at < as_of)
        .order_by(DealStageChange.deal_id, DealStageChange.changed_at, DealStageChange.id)
    )
    for deal_id, changed_at, before, after in changes.tuples():
        deals[deal_id].changes.append((_aware(changed_at) or as_of, before, after))
    stage_at: dict[int, str] = {}
    reached: dict[int, set[str]] = {}
    for deal_id, deal in deals.items():
        past = [after for changed_at, _, after in deal.changes if changed_at < as_of]
        later = [before for changed_at, before, _ in deal.changes if changed_at >= as_of]
        if past:
            stage = past[-1]
        elif later and later[0]:
            stage = later[0]
        elif deal.closed_at is None or _aware(deal.closed_at) < as_of:  # type: ignore[operator]
            stage = deal.current
        else:
            stage = first_open
        stage_at[deal_id] = stage
        reached[deal_id] = {*past, stage}
    return DealsAt(stages, deals, stage_at, reached)


def add_figures(
    state: DealsAt,
    *,
    start: datetime,
    as_of: datetime,
    currency: str,
    of: Callable[[int | None], Figures],
) -> None:
    """Deals created, won, lost in [start, as_of) and open at `as_of`, per owner."""
    for deal_id, deal in state.deals.items():
        figures = of(deal.owner_id)
        amount = Decimal(deal.amount_minor) / 100 if deal.currency == currency else Decimal(0)
        if _aware(deal.created_at) >= start:  # type: ignore[operator]
            figures.deals_created += 1
        outcome = state.outcome(state.stage_at[deal_id])
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
    for deal_id, deal in state.deals.items():
        stage = state.stage_at[deal_id]
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
    position = {s.code: index for index, s in enumerate(open_stages)}
    furthest: list[int] = []
    won = 0
    for deal_id, deal in state.deals.items():
        outcome = state.outcome(state.stage_at[deal_id])
        if outcome != "open" and not _closed_in(deal, start, as_of):
            continue
        if outcome == "won":
            won += 1
            furthest.append(len(open_stages) - 1)
        else:
            furthest.append(max((position.get(c, 0) for c in state.reached[deal_id]), default=0))
    steps: list[FunnelStep] = []
    previous: int | None = None
    names = [s.name for s in open_stages]
    won_name = next((s.name for s in state.stages if s.outcome == "won"), "won")
    counts = [sum(1 for f in furthest if f >= index) for index in range(len(open_stages))]
    for name, count in [*zip(names, counts, strict=True), (won_name, won)]:
        conversion = count / previous if previous else None
        steps.append(FunnelStep(name, count, conversion))
        previous = count
    return steps


def loss_reasons(
    state: DealsAt, *, start: datetime, as_of: datetime, currency: str
) -> list[LossReason]:
    """Deals lost in [start, as_of) by their reason, the most frequent first."""
    counts: dict[str, list[Decimal]] = defaultdict(list)
    for deal_id, deal in state.deals.items():
        if state.outcome(state.stage_at[deal_id]) == "lost" and _closed_in(deal, start, as_of):
            amount = deal.amount_minor if deal.currency == currency else 0
            counts[(deal.lost_reason or "").strip()].append(Decimal(amount) / 100)
    return sorted(
        (
            LossReason(reason, len(amounts), sum(amounts, Decimal(0)))
            for reason, amounts in counts.items()
        ),
        key=lambda r: (-r.count, r.reason),
    )
