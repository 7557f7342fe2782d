"""The sales digest as plain data: figures per salesperson and the detail rows behind them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from statistics import median


@dataclass(slots=True)
class Figures:
    """One salesperson's (or the team's) figures for one period."""

    calls_in: int = 0
    calls_out: int = 0
    answered: int = 0
    missed: int = 0
    missed_called_back: int = 0
    callback_seconds: list[int] = field(default_factory=list, repr=False)
    talk_seconds: int = 0
    activities_done: int = 0
    activities_overdue: int = 0
    new_contacts: int = 0
    deals_created: int = 0
    deals_won: int = 0
    deals_lost: int = 0
    amount_won: Decimal = Decimal(0)

    @property
    def called_back_share(self) -> float | None:
        """Missed calls called back, as a share of missed calls (None when nothing was missed)."""
        return self.missed_called_back / self.missed if self.missed else None

    @property
    def median_callback_seconds(self) -> float | None:
        """Median time from a missed call to the call that answered it back."""
        return float(median(self.callback_seconds)) if self.callback_seconds else None

    def add(self, other: Figures) -> None:
        """Add another's figures to these (the team total)."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


# The figures of the Summary sheet in order: (key, kind); kind picks the number format.
SUMMARY_FIGURES: tuple[tuple[str, str], ...] = (
    ("calls_in", "int"),
    ("calls_out", "int"),
    ("answered", "int"),
    ("missed", "int"),
    ("missed_called_back", "int"),
    ("called_back_share", "share"),
    ("median_callback_seconds", "duration"),
    ("talk_seconds", "duration"),
    ("activities_done", "int"),
    ("activities_overdue", "int"),
    ("new_contacts", "int"),
    ("deals_created", "int"),
    ("deals_won", "int"),
    ("deals_lost", "int"),
    ("amount_won", "money"),
)


@dataclass(slots=True)
class PersonSummary:
    """A Summary row: who, this period, the previous period of the same length."""

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


@dataclass(slots=True, frozen=True)
class MissedCallRow:
    started_at: datetime
    salesperson: str
    client_phone: str
    contact: str
    called_back_at: datetime | None
    callback_seconds: int | None


@dataclass(slots=True, frozen=True)
class OverdueActivityRow:
    due_at: datetime
    owner: str
    kind: str
    title: str
    contact: str
    done_at: datetime | None  # None: still open


@dataclass(slots=True, frozen=True)
class PipelineRow:
    stage: str
    count: int
    amount: Decimal
    currency: str


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
