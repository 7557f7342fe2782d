"""Greetings: birthdays and holidays, in each contact's own time zone, once a year.

1. Occasions: a contact's birthday (29 February is greeted on the 28th in other years) and
   the holiday calendar (a Russian default, editable in the settings).
2. Due: the contact's local date is the occasion's and the local hour has reached the
   configured one. The zone is the contact's own, else its phone's region (phonenumbers),
   else the default zone.
3. Once: a `greeting_log` row (contact, occasion, year unique) is inserted first; only the
   rows this instance inserted are greeted, so several instances never greet twice.
4. Channel: a client who opted in through their own link and has not stopped
   (`consent.greets_in_chat`: consent from source "telegram", a bound chat, no /stop) gets
   `greeting` from the bot; for everyone else — including consent recorded by the REST API,
   which has no chat, and a client who sent /stop — the owner gets one `greet_today` list
   with a ready text each. The chat is checked again when the row is written, so a /stop
   committed between the read and the send keeps the greeting out of that chat.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.contacts import consent
from core.contacts.models import Contact
from core.context import Ctx
from core.greetings.models import GreetingLog
from core.greetings.texts import BIRTHDAY, DEFAULT_HOLIDAYS, greeting_text
from core.outbox import service as outbox
from core.users.models import User

_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


@dataclass(frozen=True)
class Holiday:
    month_day: str  # "MM-DD"
    occasion: str  # stored in greeting_log.occasion
    title: str | None = None


RUSSIAN_HOLIDAYS = tuple(Holiday(month_day, code) for month_day, code in DEFAULT_HOLIDAYS)


@dataclass(frozen=True)
class GreetingOptions:
    """How the greetings job behaves (built from the settings by the composition root)."""

    local_hour: int = 10
    holidays: tuple[Holiday, ...] = RUSSIAN_HOLIDAYS
    page_size: int = 500
    list_size: int = 20  # clients per "greet today" message (the bot renders up to 20)


def parse_holidays(spec: str) -> tuple[Holiday, ...]:
    """`01-01, 03-08, 09-01=День знаний` -> holidays; a bad item raises ValueError naming it."""
    known = dict(DEFAULT_HOLIDAYS)
    holidays: list[Holiday] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        month_day, _, title = (piece.strip() for piece in item.partition("="))
        if not _MONTH_DAY.match(month_day):
            raise ValueError(f"{item!r}: a holiday is MM-DD or MM-DD=title")
        try:
            date(2000, int(month_day[:2]), int(month_day[3:]))  # a leap year: 02-29 exists
        except ValueError:
            raise ValueError(f"{item!r}: there is no such day") from None
        code = known.get(month_day) if not title else None
        holidays.append(
            Holiday(month_day, code or f"holiday_{month_day}", (title or None) and title[:100])
        )
    return tuple(holidays)


@functools.lru_cache(maxsize=4096)
def zone_of_number(e164: str) -> str | None:
    """The number's one time zone, if its prefix has exactly one (phonenumbers' geo data)."""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return str(zones[0]) if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_zone(contact: Contact, default: str) -> ZoneInfo:
    """The contact's own zone, else its phone's, else the default."""
    candidates = [contact.timezone, *(zone_of_number(p.e164) for p in contact.phones)]
    for name in candidates:
        zone = _zone(name) if name else None
        if zone is not None:
            return zone
    return ZoneInfo(default)


def _birthday_days(day: date) -> list[str]:
    """Birthdays greeted on this day (29 February on the 28th when the year has none)."""
    days = [day.strftime("%m-%d")]
    if days[0] == "02-28" and not _is_leap(day.year):
        days.append("02-29")
    return days


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _occasions(
    day: date, options: GreetingOptions
) -> list[tuple[str, str | None, ColumnElement[bool]]]:
    found: list[tuple[str, str | None, ColumnElement[bool]]] = [
        (BIRTHDAY, None, Contact.birthday_md.in_(_birthday_days(day)))
    ]
    month_day = day.strftime("%m-%d")
    for holiday in options.holidays:
        if holiday.month_day == month_day:
            found.append((holiday.occasion, holiday.title, true()))
    return found


def _reachable() -> ColumnElement[bool]:
    """Someone can be told: the client opted in, or the owner is on Telegram."""
    owners = select(User.id).where(User.active.is_(True), User.telegram_user_id.is_not(None))
    return or_(consent.greets_in_chat_clause(), Contact.owner_id.in_(owners))


async def send_due(ctx: Ctx, *, options: GreetingOptions = GreetingOptions()) -> int:
    """Greet every contact whose occasion is due now in its zone; returns how many."""
    now = ctx.clock.now()
    # Somewhere on Earth it is one of these dates (UTC-12 … UTC+14).
    days = sorted({(now + timedelta(hours=hours)).date() for hours in (-12, 0, 14)})
    total = 0
    for day in days:
        zones = _zones_due(now, day, options.local_hour)
        if not zones:
            continue  # it is not yet the hour on that date anywhere
        # Contacts with a zone of their own are picked in SQL by it; those without one are
        # few (a phone that tells no single zone) and checked one by one.
        in_zone = or_(Contact.timezone.in_(zones), Contact.timezone.is_(None))
        for occasion, title, condition in _occasions(day, options):
            where = and_(condition, in_zone)
            total += await _greet_day(ctx, now, day, occasion, title, where, options)
    return total


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _zones_due(now: datetime, day: date, hour: int) -> list[str]:
    """The zones where it is now `day`, at or past `hour`."""
    due = []
    for name in _all_zones():
        zone = _zone(name)
        if zone is not None:
            local = now.astimezone(zone)
            if local.date() == day and local.hour >= hour:
                due.append(name)
    return due


async def _greet_day(
    ctx: Ctx,
    now: datetime,
    day: date,
    occasion: str,
    title: str | None,
    condition: ColumnElement[bool],
    options: GreetingOptions,
) -> int:
    greeted = exists().where(
        GreetingLog.contact_id == Contact.id,
        GreetingLog.occasion == occasion,
        GreetingLog.year == day.year,
    )
    last_id, total = 0, 0
    while True:
        page = list(
            await ctx.session.scalars(
                select(Contact)
                .where(
                    Contact.id > last_id,
                    Contact.deleted_at.is_(None),
                    condition,
                    _reachable(),
                    ~greeted,
                )
                .order_by(Contact.id)
                .limit(options.page_size)
            )
        )
        if not page:
            await ctx.session.commit()  # ends the read
            return total
        last_id = page[-1].id
        due = [c for c in page if _is_due(c, now, day, options, ctx.config.timezone)]
        total += await _greet(ctx, due, occasion, title, day.year, options)


def _is_due(
    contact: Contact, now: datetime, day: date, options: GreetingOptions, default: str
) -> bool:
    local = now.astimezone(contact_zone(contact, default))
    return local.date() == day and local.hour >= options.local_hour


async def _still_in_chat(ctx: Ctx, contacts: Sequence[Contact], dialect: str) -> dict[int, int]:
    """Contact -> chat for those greeted in their chat, read again under a row lock: a /stop
    or a new link committed since the page was read wins (on PostgreSQL the lock waits)."""
    wanted = [c.id for c in contacts if consent.greets_in_chat(c)]
    if not wanted:
        return {}
    query = (
        select(Contact.id, Contact.telegram_chat_id)
        .where(Contact.id.in_(wanted), consent.greets_in_chat_clause())
        .order_by(Contact.id)
    )
    if dialect == "postgresql":
        query = query.with_for_update()
    return {
        contact_id: chat_id
        for contact_id, chat_id in (await ctx.session.execute(query)).tuples()
        if chat_id is not None
    }


async def _greet(
    ctx: Ctx,
    contacts: Sequence[Contact],
    occasion: str,
    title: str | None,
    year: int,
    options: GreetingOptions,
) -> int:
    """Log, then message, the contacts this instance is first to log; one commit."""
    if not contacts:
        await ctx.session.commit()
        return 0
    now = ctx.clock.now()
    dialect = ctx.session.bind.dialect.name if ctx.session.bind else "sqlite"
    in_chat = await _still_in_chat(ctx, contacts, dialect)
    rows = [
        {
            "contact_id": c.id,
            "occasion": occasion,
            "year": year,
            "channel": "telegram" if c.id in in_chat else "owner",
            "created_at": now,
        }
        for c in contacts
    ]
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    # Sorted by contact, so two instances inserting the same rows lock them in one order.
    statement = (
        insert_fn(GreetingLog)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(GreetingLog.contact_id)
    )
    mine = set(await ctx.session.scalars(statement))
    by_owner: dict[int, list[dict[str, object]]] = defaultdict(list)
    for contact in contacts:
        if contact.id not in mine:
            continue
        text = greeting_text(ctx.config.locale, occasion, name=contact.name, title=title)
        if contact.id in in_chat:
            await outbox.enqueue(
                ctx,
                kind="greeting",
                dedupe_key=f"greeting:{contact.id}:{occasion}:{year}",
                chat_id=in_chat[contact.id],
                payload={"text": text},
            )
        elif contact.owner_id is not None:
            item = {"contact_id": contact.id, "occasion": occasion, "title": title, "text": text}
            by_owner[contact.owner_id].append(item)
    owners = {
        user.id: user
        for user in await ctx.session.scalars(select(User).where(User.id.in_(list(by_owner))))
    }
    for owner_id, items in by_owner.items():
        owner = owners.get(owner_id)
        if owner is None or not owner.active or owner.telegram_user_id is None:
            continue
        for start in range(0, len(items), options.list_size):
            chunk = items[start : start + options.list_size]
            first = chunk[0]["contact_id"]  # the chunk's key
            await outbox.notify(
                ctx, owner, "greet_today", owner_id, occasion, year, first, payload={"items": chunk}
            )
    await ctx.session.commit()
    return len(mine)
