"""Shared test factories: people, contacts, calls, deals, tasks and inbox rows, made through
the core services (so a factory's row is one the product could have made), with defaults a
test overrides only where the behaviour it pins depends on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.activities import service as activities
from core.calls import service as calls
from core.clock import Clock
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations import clients
from core.deals import service as deals
from core.events import CallEvent
from core.models import Activity, Call, Contact, Conversation, Deal, TelephonyEvent, User
from core.users import service as users
from tests.fakes.clock import FakeClock

SYSTEM = Actor.system("test")
PROVIDER = "test"  # the provider of the calls made here


async def make_user(
    ctx: Ctx,
    name: str = "Анна",
    role: str = "sales",
    tg: int | None = None,
    *,
    extensions: Sequence[str] = (),
    timezone: str | None = None,
    locale: str | None = None,
) -> User:
    """An employee (Telegram id `tg`, answering at `extensions`)."""
    return await users.create_user(
        ctx,
        actor=SYSTEM,
        name=name,
        role=role,
        telegram_user_id=tg,
        extensions=list(extensions),
        timezone=timezone,
        locale=locale,
    )


async def make_actor(
    ctx: Ctx, name: str = "Анна", role: str = "sales", tg: int | None = None, **kw: Any
) -> Actor:
    """An employee, as the actor core services take."""
    return Actor.of_user(await make_user(ctx, name, role, tg, **kw))


async def make_contact(
    ctx: Ctx, name: str = "Иван Петров", *, actor: Actor = SYSTEM, **fields: Any
) -> Contact:
    """A contact (`phones`, `owner_id`, `company_name`, … as `contacts.create_contact` takes)."""
    return await contacts.create_contact(ctx, actor=actor, name=name, **fields)


async def make_conversation(
    ctx: Ctx, contact: Contact, chat_id: int, *, telegram_user_id: int | None = None, **fields: Any
) -> Conversation:
    """`contact`'s open chat `chat_id`, opened as a client's first message opens one
    (`channel`, `business_connection_id`, `user_id`, `language`, … as
    `clients.open_conversation` takes)."""
    conversation, _ = await clients.open_conversation(
        ctx, contact=contact, chat_id=chat_id, telegram_user_id=telegram_user_id, **fields
    )
    return conversation


def call_event(clock: Clock, call_id: str, kind: str, **fields: Any) -> CallEvent:
    """A normalized PBX event of the test provider, happening now on `clock`."""
    return CallEvent(
        provider=PROVIDER,
        provider_call_id=call_id,
        kind=kind,  # type: ignore[arg-type]
        occurred_at=clock.now(),
        **fields,
    )


async def make_call(
    ctx: Ctx, clock: FakeClock, call_id: str, kinds: Sequence[str] = ("ringing",), **fields: Any
) -> Call:
    """A call taken through `kinds` (e.g. ringing, answered, ended), each event applied and
    committed as the inbox would; `fields` go on every event (client_number, extension, …)."""
    call = None
    for kind in kinds:
        call = await calls.apply_event(ctx, event=call_event(clock, call_id, kind, **fields))
    assert call is not None, "a call needs at least one event"
    return call


async def make_deal(
    ctx: Ctx, *, actor: Actor = SYSTEM, title: str = "Поставка", **fields: Any
) -> Deal:
    """A deal at the first stage unless `stage` says otherwise."""
    return await deals.create(ctx, actor=actor, title=title, **fields)


async def make_task(
    ctx: Ctx,
    *,
    actor: Actor,
    title: str = "Позвонить",
    due_at: datetime | None = None,
    **fields: Any,
) -> Activity:
    """A planned task of `actor`'s (`kind`, `contact_id`, `deal_id`, … as `activities.plan`)."""
    return await activities.plan(ctx, actor=actor, title=title, due_at=due_at, **fields)


async def make_inbox_row(ctx: Ctx, call_key: str, n: int = 1, body: bytes = b"{}") -> int:
    """A stored webhook of the test provider for call `call_key` (its `n`th), committed."""
    row = TelephonyEvent(
        provider=PROVIDER,
        dedupe_key=f"{PROVIDER}:{call_key}:{n}",
        call_key=call_key,
        body=body,
        headers={},
        received_at=ctx.clock.now(),
    )
    ctx.session.add(row)
    await ctx.session.commit()
    return row.id
