"""The sales digest as plain data: figures per salesperson and the detail rows behind them.

What each figure means is written once, in `core/reports/service.py`'s docstring, and the
workbook prints the same definitions on its Summary sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from statistics import median
from typing import Literal

PeriodKind = Literal["day", "week", "month", "custom"]
# How a missed call ended, as of the report's cut-off (see core/reports/service.py).
CallbackOutcome = Literal["in_target", "later", "client", "never"]


@dataclass(slots=True)
class Figures:
    """One salesperson's (or the team's) figures for one period."""

    calls_in: int = 0
    calls_out: int = 0
    answered_in: int = 0
    answered_out: int = 0
    missed: int = 0  # inbound calls not answered (missed, busy, failed)
    called_back_in_target: int = 0
    called_back_later: int = 0
    client_called_again: int = 0  # we never reached them, but their next call was answered
    not_called_back: int = 0
    callback_seconds: list[int] = field(default_factory=list, repr=False)
    talk_seconds: int = 0
    activities_done: int = 0
    activities_done_late: int = 0
    activities_overdue: int = 0  # still open past due at the end of the period
    new_contacts: int = 0
    deals_created: int = 0
    deals_won: int = 0
    amount_won: Decimal = Decimal(0)
    deals_lost: int = 0
    amount_lost: Decimal = Decimal(0)
    open_deals: int = 0  # in an open stage at the end of the period
    open_amount: Decimal = Decimal(0)

    @property
    def answered_share(self) -> float | None:
        """Inbound calls answered, as a share of inbound calls (None when none came in)."""
        return self.answered_in / self.calls_in if self.calls_in else None

    @property
    def called_back_share(self) -> float | None:
        """Missed calls we called back within the target, as a share of missed calls."""
        return self.called_back_in_target / self.missed if self.missed else None

    @property
    def median_callback_seconds(self) -> float | None:
        """Median time from a missed call's end to our answered call back (in target or later)."""
        return float(median(self.callback_seconds)) if self.callback_seconds else None

    @property
    def average_won(self) -> Decimal | None:
        """Average amount of a deal won (the main currency)."""
        return (
            (self.amount_won / self.deals_won).quantize(Decimal("0.01")) if self.deals_won else None
        )

    @property
    def calls(self) -> int:
        return self.calls_in + self.calls_out

    def add(self, other: Figures) -> None:
        """Add another's figures to these (the team total)."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass(slots=True)
class PersonSummary:
    """A Summary row: who, this period, the previous (comparable) period."""

    user_id: int | None
    name: str
    current: Figures
    previous: Figures


@dataclass(slots=True, frozen=True)
class CallRow:
    started_at: datetime
    direction: str
    status: str
    salesperson: str
    client_phone: str
    contact: str
    ring_seconds: int | None
    talk_seconds: int | None
    outcome: str
    summary: str
    recording: str | None = None  # the PBX's reference or link


@dataclass(slots=True, frozen=True)
class MissedCallRow:
    started_at: datetime
    salesperson: str
    client_phone: str
    contact: str
    called_back_at: datetime | None  # our answered call back, in target or later
    callback_seconds: int | None
    result: str  # a CallbackOutcome
    client_called_at: datetime | None  # their next answered call, when we had not called


@dataclass(slots=True, frozen=True)
class OverdueActivityRow:
    """An activity still open past due at the end of the period, or done late in it."""

    due_at: datetime
    owner: str
    kind: str
    title: str
    contact: str
    done_at: datetime | None  # None: still open at the end of the period
    late_seconds: int  # done - due, or the period's end - due when still open


@dataclass(slots=True, frozen=True)
class PipelineRow:
    """Deals in a stage at the end of the period (open stages), or closed in it (won, lost)."""

    stage: str
    count: int
    amount: Decimal
    currency: str
    outcome: str = "open"


@dataclass(slots=True, frozen=True)
class FunnelStep:
    """How many deals of the period reached a stage, and the share of the stage before."""

    stage: str
    reached: int
    conversion: float | None  # None for the first stage, or when none reached the one before
    days_in_stage: float | None = None  # on average, of the deals that left it in the period


@dataclass(slots=True, frozen=True)
class LossReason:
    reason: str
    count: int
    amount: Decimal  # the main currency


@dataclass(slots=True, frozen=True)
class SourceRow:
    """Deals by where their client came from (the contact's source)."""

    source: str  # call, bot, import, api, manual; "" without a contact
    created: int
    won: int
    amount_won: Decimal  # the main currency


@dataclass(slots=True, frozen=True)
class StaleDeal:
    """A deal open at the period's end with no touch for a while and nothing planned."""

    title: str
    owner: str
    stage: str
    amount: Decimal
    currency: str
    last_touch: datetime | None  # the last call, note, activity or stage change before the end


@dataclass(slots=True)
class Forecast:
    """Open deals expected to close before `until`, weighted by their stage's win rate."""

    until: datetime
    deals: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    overdue: int = 0  # open deals whose expected close date has passed


@dataclass(slots=True, frozen=True)
class PlanRow:
    """A salesperson's monthly targets (core/targets) and what they reached by the cut-off."""

    user_id: int
    name: str
    targets: dict[str, Decimal]  # metric -> target (won_amount in the main currency)
    actual: dict[str, Decimal]  # metric -> the month's figure from its first day to "as of"


@dataclass(slots=True)
class Digest:
    """Everything the digest workbook shows; times are aware UTC, rendered in the reader's zone."""

    start: datetime
    end: datetime
    previous_start: datetime
    generated_at: datetime
    timezone: str
    currency: str
    people: list[PersonSummary]
    total: PersonSummary
    calls: list[CallRow]
    missed_calls: list[MissedCallRow]
    overdue_activities: list[OverdueActivityRow]
    pipeline: list[PipelineRow]
    previous_end: datetime | None = None
    as_of: datetime | None = None  # the figures' cut-off: the end, or now while it runs
    previous_as_of: datetime | None = None  # the same point of the previous period
    kind: PeriodKind = "custom"
    callback_target_minutes: int = 15
    funnel: list[FunnelStep] = field(default_factory=list)
    loss_reasons: list[LossReason] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    stale_deals: list[StaleDeal] = field(default_factory=list)
    stale_days: int = 14
    forecast: Forecast | None = None
    plan_month: date | None = None  # the month whose targets `plan` shows (None: none set)
    plan: list[PlanRow] = field(default_factory=list)
    plan_elapsed: float = 1.0  # the share of that month gone by at the cut-off

    @property
    def running(self) -> bool:
        """The period had not ended when the digest was built."""
        return self.as_of is not None and self.as_of < self.end
