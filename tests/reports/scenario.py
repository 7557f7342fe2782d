"""A hand-built day of sales work whose digest figures are known (see the numbers in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals.models import Deal
from core.reports import service as reports
from core.reports.dto import Digest
from core.targets import service as targets
from core.users.models import User

# The period: 23 Nov 2026, a Moscow day; the previous period is 22 Nov.
START = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
END = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOVEMBER = date(2026, 11, 1)

# The digest workbook's sheets in their order, each as (Russian, English).
SHEETS = (
    ("Сводка", "Summary"),
    ("Звонки", "Calls"),
    ("Пропущенные", "Missed calls"),
    ("Пропущенные по часам", "Missed by hour"),
    ("Дела", "Activities"),
    ("Воронка", "Pipeline"),
    ("Застывшие сделки", "Stale deals"),
)
SHEETS_RU = [ru for ru, _ in SHEETS]
SHEETS_EN = [en for _, en in SHEETS]


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Scenario:
    anna: User
    boris: User
    maria: User


async def build(ctx: Ctx) -> Scenario:
    """Users, contacts, calls, activities and deals of the scenario, committed."""
    s = ctx.session
    made = at(1, 0)
    anna = User(name="Anna", role="sales", created_at=made)
    boris = User(name="Boris", role="sales", created_at=made)
    maria = User(name="Maria", role="manager", created_at=made)
    s.add_all([anna, boris, maria])
    await s.flush()
    c1 = contact_row("Ivan =Ivanov", anna.id, at(23, 7))  # a name that looks like a formula
    c2 = contact_row("Petr", boris.id, at(22, 7))
    c3 = contact_row("Olga", None, at(23, 7))
    s.add_all([c1, c2, c3])
    await s.flush()
    n = iter(range(1, 100))

    def call(
        started: datetime,
        direction: str,
        status: str,
        user: User | None,
        contact: Contact,
        phone: str,
        talk: int | None = None,
        ended_after: int = 30,
    ) -> Call:
        answered = started + timedelta(seconds=5) if status == "answered" else None
        return Call(
            provider="generic",
            provider_call_id=f"c{next(n)}",
            direction=direction,
            status=status,
            client_e164=phone,
            user_id=user.id if user else None,
            contact_id=contact.id,
            started_at=started,
            answered_at=answered,
            ended_at=started + timedelta(seconds=ended_after + (talk or 0)),
            ring_seconds=5,
            talk_seconds=talk,
            outcome="interested" if status == "answered" else None,
            created_at=started,
            updated_at=started,
        )

    p1, p2, p3 = "+79161110001", "+79161110002", "+79161110003"
    s.add_all(
        [
            # the period
            call(at(23, 8), "in", "answered", anna, c1, p1, talk=120),
            call(at(23, 9), "in", "missed", None, c1, p1),  # Anna's contact; back in 575 s
            call(at(23, 9, 10), "out", "answered", anna, c1, p1, talk=60),
            call(at(23, 10), "in", "missed", boris, c2, p2, ended_after=20),  # never back
            call(at(23, 11), "in", "missed", None, c3, p3, ended_after=10),  # back next day
            call(at(23, 9, 30), "out", "answered", boris, c2, p2, talk=300),  # before the miss
            call(at(23, 13), "internal", "answered", anna, c1, p1, talk=10),  # not counted
            # after the period, before now: calls c3 back
            call(at(24, 8), "out", "answered", boris, c3, p3, talk=40),
            # the previous period
            call(at(22, 10), "in", "answered", anna, c1, p1, talk=30),
            call(at(22, 11), "in", "missed", anna, c1, p1),  # back at 23 08:00:05
        ]
    )
    s.add_all(
        [
            _activity("Send offer", anna, c1, due=at(23, 10), status="done", done=at(23, 9)),
            _activity("Call about =SUM(A1)", anna, c1, due=at(23, 12), status="planned"),
            _activity("Follow up", boris, c2, due=at(23, 14), status="done", done=at(23, 15)),
            _activity("Next week", boris, c2, due=at(24, 12), status="planned"),
            _activity("Dropped", anna, c1, due=at(23, 11), status="canceled"),
            _activity("Old task", boris, c2, due=at(22, 9), status="done", done=at(22, 10)),
        ]
    )
    s.add_all(
        [
            _deal("Site", anna, c1, "new", Decimal("1000"), "RUB", created=at(23, 9)),
            _deal("Big", anna, c1, "won", Decimal("5000.50"), "RUB", at(22, 9), closed=at(23, 16)),
            _deal("Lost one", boris, c2, "lost", None, "RUB", at(23, 9), closed=at(23, 17)),
            _deal("Audit", boris, c2, "proposal", Decimal("2000"), "RUB", created=at(23, 10)),
            _deal("Export", boris, c2, "proposal", Decimal("300"), "USD", created=at(23, 11)),
        ]
    )
    await s.commit()
    return Scenario(anna=anna, boris=boris, maria=maria)


def contact_row(
    name: str, owner_id: int | None, created: datetime, source: str = "manual"
) -> Contact:
    """A contact row, created (and last changed) at `created`."""
    return Contact(
        name=name, owner_id=owner_id, source=source, created_at=created, updated_at=created
    )


async def day_digest(ctx: Ctx, people: Scenario) -> Digest:
    """Maria's digest of the day (START to END, Moscow), built at the clock's time."""
    return await reports.digest(
        ctx, actor_id=people.maria.id, start=START, end=END, tz="Europe/Moscow"
    )


async def set_targets(ctx: Ctx, people: Scenario) -> None:
    """Maria's targets for November: Anna 10,000 won in 2 deals and 4 outbound calls, Boris
    one outbound call."""
    maria = Actor.of_user(people.maria)
    await targets.set_targets(
        ctx,
        actor=maria,
        user_id=people.anna.id,
        month=NOVEMBER,
        values={"won_amount": Decimal(10000), "deals_won": Decimal(2), "calls_out": Decimal(4)},
    )
    await targets.set_targets(
        ctx, actor=maria, user_id=people.boris.id, month=NOVEMBER, values={"calls_out": 1}
    )


def _activity(
    title: str,
    owner: User,
    contact: Contact,
    *,
    due: datetime,
    status: str,
    done: datetime | None = None,
) -> Activity:
    return Activity(
        kind="task",
        title=title,
        owner_id=owner.id,
        contact_id=contact.id,
        due_at=due,
        status=status,
        done_at=done,
        created_at=at(20, 9),
        updated_at=at(20, 9),
    )


def _deal(
    title: str,
    owner: User,
    contact: Contact,
    stage: str,
    amount: Decimal | None,
    currency: str,
    created: datetime,
    closed: datetime | None = None,
) -> Deal:
    deal = Deal(
        title=title,
        owner_id=owner.id,
        contact_id=contact.id,
        stage=stage,
        currency=currency,
        closed_at=closed,
        created_at=created,
        updated_at=created,
    )
    deal.amount = amount
    return deal
