"""Calls: apply normalized PBX events to the Call aggregate, and the missed-call lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import phonenumbers
from sqlalchemy import ColumnElement, and_, exists, or_, select

from core import access
from core.activities.models import Activity
from core.calls.missed import OpenCallbacks, after_transition
from core.calls.models import Call, TelephonyEvent
from core.common import Page, check_page, get_or_not_found, given_filters, page_of
from core.contacts import service as contact_service
from core.contacts.models import Contact, ContactPhone
from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound
from core.events import CallEvent
from core.phones import Phone, try_normalize
from core.use_case import use_case
from core.users.models import User, UserExtension
from core.users.service import find_by_extension

T = TypeVar("T")
TIMED_OUT = "timeout"  # disposition of an end we assumed because the PBX never sent one
ANSWERED_TIMEOUT = timedelta(hours=4)
_NOT_NUMBERS = ("anonymous", "unknown", "private", "restricted", "client:", "sip:")
OUTCOMES = (
    "reached",
    "interested",
    "not_interested",
    "callback",
    "deal",
    "no_answer",
    "wrong_number",
    "other",
)


def classify_number(ctx: Ctx, raw: str | None) -> Phone | None:
    """The client's phone if it is a real external number; None for ours, internal, anonymous."""
    if not raw:
        return None
    lowered = raw.strip().lower()
    if lowered.startswith(_NOT_NUMBERS) or "@" in lowered:
        return None
    phone = try_normalize(raw, region=ctx.config.default_region)
    if phone is None or phone.e164 is None:
        return None
    if phone.e164 in ctx.config.own_numbers:
        return None
    return phone


@dataclass
class CallBatch:
    """Look-ups shared by the events of one unit of work (a processor batch).

    Each map holds what the database said for the keys in `prepare_batch`, plus what this
    unit of work created since; a key missing from a map is looked up on demand.
    """

    calls: dict[tuple[str, str], Call | None] = field(default_factory=dict)
    users: dict[str, User | None] = field(default_factory=dict)  # active user by extension
    contacts: dict[str, Contact | None] = field(default_factory=dict)  # live contact by E.164
    callbacks: OpenCallbacks = field(default_factory=dict)  # open callback task by E.164


async def prepare_batch(ctx: Ctx, events: Sequence[CallEvent]) -> CallBatch:
    """Load the calls, employees and contacts a batch of events touches, a query each."""
    batch = CallBatch()
    call_ids: dict[str, set[str]] = {}
    for event in events:
        call_ids.setdefault(event.provider, set()).add(event.provider_call_id)
    bind = ctx.session.bind
    lock = bind is not None and bind.dialect.name == "postgresql"
    for provider in sorted(call_ids):  # one lock order for every processor (PostgreSQL)
        ids = call_ids[provider]
        for chunk in _chunks(sorted(ids)):
            batch.calls.update(dict.fromkeys((provider, i) for i in chunk))
            # `provider = ? AND provider_call_id IN (…)`, not `(provider, provider_call_id)
            # IN (…)`: SQLite answers the row-value form by scanning every call ever logged
            # (80 % of the processor's time at 130k calls), this one from the unique index.
            query = select(Call).where(Call.provider == provider, Call.provider_call_id.in_(chunk))
            if lock:
                # Several processors on PostgreSQL: one call's events apply one batch at a time.
                query = query.order_by(Call.id).with_for_update()
            found = await ctx.session.scalars(query)
            batch.calls.update({(c.provider, c.provider_call_id): c for c in found})
    extensions = list({e.extension for e in events if e.extension})
    for some_extensions in _chunks(extensions):
        batch.users.update(dict.fromkeys(some_extensions))
        employees = await ctx.session.execute(
            select(UserExtension.extension, User)
            .join(User, User.id == UserExtension.user_id)
            .where(UserExtension.extension.in_(some_extensions), User.active.is_(True))
        )
        batch.users.update(dict(employees.tuples().all()))
    numbers = list({p.e164 for e in events if (p := classify_number(ctx, e.client_number))})
    for some_numbers in _chunks([n for n in numbers if n is not None]):
        batch.contacts.update(dict.fromkeys(some_numbers))
        owners = await ctx.session.execute(
            select(ContactPhone.e164, Contact)
            .join(Contact, Contact.id == ContactPhone.contact_id)
            .where(
                ContactPhone.e164.in_(some_numbers),
                ContactPhone.is_live.is_(True),
                Contact.deleted_at.is_(None),
            )
        )
        batch.contacts.update(dict(owners.tuples().all()))
        batch.callbacks.update(dict.fromkeys(some_numbers))
        tasks = await ctx.session.scalars(
            select(Activity).where(
                Activity.kind == "callback",
                Activity.status == "planned",
                Activity.callback_phone.in_(some_numbers),
            )
        )
        batch.callbacks.update({task.callback_phone: task for task in tasks if task.callback_phone})
    return batch


def _chunks(items: list[T], size: int = 400) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _get_or_create(ctx: Ctx, event: CallEvent, batch: CallBatch) -> Call:
    key = (event.provider, event.provider_call_id)
    if key in batch.calls:
        call = batch.calls[key]
    else:
        call = await ctx.session.scalar(
            select(Call).where(
                Call.provider == event.provider, Call.provider_call_id == event.provider_call_id
            )
        )
    if call is not None:
        batch.calls[key] = call
        return call
    now = ctx.clock.now()
    call = Call(
        provider=event.provider,
        provider_call_id=event.provider_call_id,
        direction=event.direction or "in",
        status="ringing",
        started_at=event.started_at or event.occurred_at,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(call)
    batch.calls[key] = call
    return call


def _fill_identity(ctx: Ctx, call: Call, event: CallEvent) -> None:
    if event.direction and (call.direction != event.direction) and not call.final:
        call.direction = event.direction
    if event.client_number and not call.client_raw:
        call.client_raw = event.client_number[:128]
        phone = classify_number(ctx, event.client_number)
        call.client_e164 = phone.e164 if phone else None
    if event.our_number and not call.our_phone:
        call.our_phone = event.our_number[:64]
    # The earliest known time wins: events may arrive in any order.
    started = event.started_at or (event.occurred_at if event.kind == "ringing" else None)
    if started and started < call.started_at:
        call.started_at = started


async def _set_employee(
    ctx: Ctx, call: Call, extension: str | None, batch: CallBatch, *, override: bool
) -> None:
    if not extension or (call.extension and not override and call.user_id is not None):
        return
    if extension not in batch.users:
        batch.users[extension] = await find_by_extension(ctx, extension=extension)
    user = batch.users[extension]
    if call.extension and not override and user is None:
        # Group ringing: a leg at an unmapped extension does not displace the first one.
        return
    call.extension = extension[:64]
    if user is not None:
        call.user_id = user.id


def _apply_state(call: Call, event: CallEvent) -> None:
    """Move the state machine; it only goes forward, except the provider's final record."""
    ended_before = call.ended_at is not None
    if event.kind == "answered":
        answered = event.answered_at or event.occurred_at
        call.answered_at = min(call.answered_at, answered) if call.answered_at else answered
        if call.status in ("ringing", "missed") and not call.final:
            call.status = "answered"
    elif event.kind == "ended" and not call.final and _is_leg_only(call, event):
        # One employee's leg ended (group ringing, transfer) while the call goes on.
        pass
    elif event.kind == "ended" and not call.final:
        if event.answered_at and call.answered_at is None:
            call.answered_at = event.answered_at
        if not ended_before or call.disposition == TIMED_OUT:
            # A real end also replaces the end we assumed when the call went quiet.
            call.ended_at = event.ended_at or event.occurred_at
            call.status = event.status or ("answered" if call.answered_at else "missed")
            call.disposition = None
        elif event.status == "answered" and call.status != "answered":
            call.status = "answered"
        call.talk_seconds = (
            event.talk_seconds if event.talk_seconds is not None else call.talk_seconds
        )
        call.ring_seconds = (
            event.ring_seconds if event.ring_seconds is not None else call.ring_seconds
        )
    elif event.kind == "final":
        call.final = True
        call.ended_at = event.ended_at or call.ended_at or event.occurred_at
        if event.answered_at:
            call.answered_at = event.answered_at
        if event.status:
            call.status = event.status
        elif call.status == "ringing":
            call.status = "answered" if call.answered_at else "missed"
        if event.talk_seconds is not None:
            call.talk_seconds = event.talk_seconds
        if event.ring_seconds is not None:
            call.ring_seconds = event.ring_seconds
    if event.recording:
        call.recording = event.recording[:1024]
    if event.disposition:
        call.disposition = event.disposition[:64]
    _keep_in_order(call)
    if call.ended_at is not None:
        _derive_durations(call)


def _keep_in_order(call: Call) -> None:
    """A call cannot start after it was answered or ended (late or reordered events)."""
    for later in (call.answered_at, call.ended_at):
        if later is not None and later < call.started_at:
            call.started_at = later


def _is_leg_only(call: Call, event: CallEvent) -> bool:
    """An `ended` without a status from a named leg that is not the one talking."""
    if event.status is not None or not event.extension or call.ended_at is not None:
        return False
    if call.answered_at is None:
        return True
    return bool(call.extension) and event.extension != call.extension


Timeline = tuple[datetime, datetime | None, datetime | None]  # started, answered, ended


def _ring_between(started: datetime, answered: datetime | None, ended: datetime) -> int:
    return max(int(((answered or ended) - started).total_seconds()), 0)


def _talk_between(answered: datetime | None, ended: datetime) -> int:
    return max(int((ended - answered).total_seconds()), 0) if answered else 0


def _derive_durations(call: Call) -> None:
    assert call.ended_at is not None
    if call.talk_seconds is None:
        call.talk_seconds = _talk_between(call.answered_at, call.ended_at)
    if call.ring_seconds is None:
        call.ring_seconds = _ring_between(call.started_at, call.answered_at, call.ended_at)


def _rederive_durations(call: Call, event: CallEvent, before: Timeline) -> None:
    """A late event moved the start or the answer of an ended call: durations that were
    derived from the old times (not given by the provider) follow the new ones."""
    started, answered, ended = before
    if ended is None or call.ended_at is None:
        return
    if (call.started_at, call.answered_at, call.ended_at) == before:
        return
    if event.ring_seconds is None and call.ring_seconds == _ring_between(started, answered, ended):
        call.ring_seconds = _ring_between(call.started_at, call.answered_at, call.ended_at)
    if event.talk_seconds is None and call.talk_seconds == _talk_between(answered, ended):
        call.talk_seconds = _talk_between(call.answered_at, call.ended_at)


async def _match_contact(ctx: Ctx, call: Call, batch: CallBatch) -> Contact | None:
    if call.contact_id is not None:
        return await ctx.session.get(Contact, call.contact_id)
    if call.client_e164 is None or call.direction == "internal":
        return None
    looked_up = call.client_e164 in batch.contacts
    if looked_up:
        contact = batch.contacts[call.client_e164]
    else:
        contact = await contact_service.find_by_e164(ctx, e164=call.client_e164)
    if contact is None:
        if call.direction == "out" and not ctx.config.create_contacts_for_outbound:
            return None
        name = phonenumbers.format_number(
            phonenumbers.parse(call.client_e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        contact = await contact_service.add_contact(
            ctx,
            actor=Actor.system("pbx"),
            name=name,
            phones=[call.client_e164],
            owner_id=call.user_id,
            source="call",
            phones_seen_free=looked_up,
        )
        batch.contacts[call.client_e164] = contact
    call.contact_id = contact.id
    return contact


async def apply_to_call(ctx: Ctx, *, event: CallEvent, batch: CallBatch | None = None) -> Call:
    """Apply one normalized PBX event: upsert the call, match the contact, run the lifecycle.

    A step in the caller's unit of work (never commits; `apply_event` commits it alone). With
    a `batch` from `prepare_batch` the inbox applies many events in one transaction with a
    handful of queries.
    """
    batch = batch if batch is not None else CallBatch()
    call = await _get_or_create(ctx, event, batch)
    was_answered = call.status == "answered"
    was_ended = call.ended_at is not None
    was_at = call.user_id
    before: Timeline = (call.started_at, call.answered_at, call.ended_at)
    _fill_identity(ctx, call, event)
    # Who answered wins over who the call rang at first.
    await _set_employee(ctx, call, event.extension, batch, override=event.kind == "answered")
    _apply_state(call, event)
    _rederive_durations(call, event, before)
    call.updated_at = ctx.clock.now()
    # A new call is not flushed here: missed_calls flushes when a task or notification needs
    # its id; otherwise the batch's commit inserts all its new calls together.
    contact = await _match_contact(ctx, call, batch)
    if (
        contact is not None
        and contact.owner_id is None
        and call.user_id
        and contact.source == "call"
    ):
        contact.owner_id = call.user_id
    await after_transition(
        ctx,
        call,
        contact,
        event,
        was_answered=was_answered,
        was_ended=was_ended,
        was_at=was_at,
        callbacks=batch.callbacks,
    )
    return call


apply_event = use_case(apply_to_call)


async def expire_stale_ringing(ctx: Ctx) -> int:
    """Close calls whose end never came: unanswered ones after the ringing timeout (missed),
    answered ones after ANSWERED_TIMEOUT. A call with events still waiting in the inbox is
    left alone: its end may be among them. One transaction for them all."""
    now = ctx.clock.now()
    rang_out = now - timedelta(seconds=ctx.config.ringing_timeout_seconds)
    talked_out = now - ANSWERED_TIMEOUT
    waiting = exists().where(
        TelephonyEvent.provider == Call.provider,
        TelephonyEvent.call_key == Call.provider_call_id,
        TelephonyEvent.processed_at.is_(None),
    )
    stale = list(
        await ctx.session.scalars(
            select(Call)
            .where(
                Call.ended_at.is_(None),
                or_(
                    and_(Call.answered_at.is_(None), Call.started_at < rang_out),
                    and_(Call.answered_at.is_not(None), Call.started_at < talked_out),
                ),
                ~waiting,
            )
            .limit(500)
        )
    )
    ends = [
        CallEvent(
            provider=call.provider,
            provider_call_id=call.provider_call_id,
            kind="ended",
            occurred_at=now,
            ended_at=call.updated_at,
            disposition=TIMED_OUT,
        )
        for call in stale
    ]
    batch = await prepare_batch(ctx, ends)
    for event in ends:
        await apply_to_call(ctx, event=event, batch=batch)
    await ctx.session.commit()
    return len(stale)


async def record_outcome(
    ctx: Ctx, *, actor: Actor, call_id: int, outcome: str | None = None, summary: str | None = None
) -> Call:
    """The salesperson's outcome and summary for a call (the post-call prompt)."""
    call = await get_call(ctx, actor=actor, call_id=call_id)
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise InvalidInput(
                f"outcome must be one of {', '.join(OUTCOMES)}",
                field="outcome",
                code="outcome-unknown",
            )
        call.outcome = outcome
    if summary is not None:
        call.summary = summary.strip()[:5000] or None
    call.updated_at = ctx.clock.now()
    await ctx.session.commit()
    return call


async def get_call(ctx: Ctx, *, actor: Actor, call_id: int) -> Call:
    call = await get_or_not_found(ctx, Call, call_id, "call")
    contact = await ctx.session.get(Contact, call.contact_id) if call.contact_id else None
    if not access.may_see_call(ctx, actor, call, contact):
        raise NotFound(f"call {call_id} not found")
    return call


async def contact_of(ctx: Ctx, *, call: Call) -> Contact | None:
    """The contact of a call the actor was given (deleted too: the call still names it)."""
    return await ctx.session.get(Contact, call.contact_id) if call.contact_id else None


async def list_calls(
    ctx: Ctx,
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    contact_id: int | None = None,
    user_id: int | None = None,
    statuses: Sequence[str] = (),
    direction: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Call]:
    """Calls newest first, filtered; sales people see their own calls and their contacts'."""
    check_page(limit, offset)
    where: list[ColumnElement[bool]] = []
    where.append(access.call_clause(ctx, actor))
    if since is not None:
        where.append(Call.started_at >= since)
    if until is not None:
        where.append(Call.started_at < until)
    where += given_filters(
        equal=[(Call.contact_id, contact_id), (Call.user_id, user_id), (Call.direction, direction)],
        among=[(Call.status, statuses)],
    )
    newest_first = (Call.started_at.desc(), Call.id.desc())
    return await page_of(ctx, Call, where, order_by=newest_first, limit=limit, offset=offset)
