"""Realistic demo data at any size (`perezvon demo seed`, benchmarks, trying the bot).

Everything is written with SQLAlchemy Core bulk inserts (executemany of plain dicts) in
batches, one transaction per batch: the ORM unit of work would spend minutes on the
million-contact data sets the benchmarks need. Ids are allocated here, after the largest
existing id of each table, so rows can reference each other without RETURNING round trips
and a second run adds to the data instead of colliding with it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from math import gcd
from typing import Any, Final

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.demo.data import (
    ACTIVITY_RESULTS,
    ACTIVITY_TITLES,
    CALL_SUMMARIES,
    COMPANY_HEADS,
    COMPANY_TAILS,
    COMPANY_WORDS,
    DEAL_PRODUCTS,
    DEAL_STAGES,
    EMAIL_DOMAINS,
    FEMALE_FIRST,
    LANDLINE_CODES,
    LOST_REASONS,
    MALE_FIRST,
    MOBILE_TIMEZONES,
    NOTE_TEXTS,
    OPEN_PATH,
    PATRONYMICS,
    PHONE_CODES,
    SOURCES,
    SUBSCRIBERS,
    SURNAMES,
    TAGS,
    USER_NAMES,
    USER_TIMEZONES,
    female_surname,
    translit,
)
from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Company, Contact, ContactPhone
from core.db import Base
from core.deals.models import Deal, DealStageChange
from core.notes.models import Note
from core.users.models import User, UserExtension

Row = dict[str, Any]

BATCH_CONTACTS: Final = 5000
DEMO_PROVIDER: Final = "demo"
# The company's own line: what `our_phone` shows on demo calls.
OUR_PHONE: Final = "+74952231100"


@dataclass
class SeedReport:
    """How many rows of each kind one `seed` call added, and how long it took."""

    users: int = 0
    companies: int = 0
    contacts: int = 0
    phones: int = 0
    calls: int = 0
    activities: int = 0
    deals: int = 0
    deal_stage_changes: int = 0
    notes: int = 0
    seconds: float = 0.0
    user_ids: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return (
            self.users
            + self.companies
            + self.contacts
            + self.phones
            + self.calls
            + self.activities
            + self.deals
            + self.deal_stage_changes
            + self.notes
        )


class _PhoneSpace:
    """Unique numbers by construction: an affine permutation of the whole number space.

    Ordinal k maps to x = (a*k + b) mod N, a bijection when gcd(a, N) = 1, so a run never
    repeats a number and the numbers look scattered, not sequential. `a` and `b` depend
    only on the seed; each run starts at an ordinal past the existing phone ids, so runs
    with the same seed do not overlap. Other data can still hold any number, which the
    caller checks against the database.
    """

    def __init__(self, seed: int, start: int) -> None:
        rng = random.Random(f"perezvon-demo-phones:{seed}")
        self.size = len(PHONE_CODES) * SUBSCRIBERS
        a = rng.randrange(self.size // 3, self.size) | 1
        while gcd(a, self.size) != 1:
            a += 2
        self.a = a
        self.b = rng.randrange(self.size)
        self.k = start

    def take(self) -> tuple[int, int]:
        """The next (code, subscriber) pair, e.g. (916, 1234567)."""
        x = (self.a * self.k + self.b) % self.size
        self.k += 1
        return PHONE_CODES[x // SUBSCRIBERS], x % SUBSCRIBERS


def _raw_format(rng: random.Random, code: int, sub: int) -> str:
    """How a person would have typed the number into a spreadsheet or a phone book."""
    s = f"{sub:07d}"
    a, b, c = s[:3], s[3:5], s[5:]
    style = rng.randrange(6)
    if style == 0:
        return f"8 ({code}) {a}-{b}-{c}"
    if style == 1:
        return f"+7 {code} {a}-{b}-{c}"
    if style == 2:
        return f"8{code}{s}"
    if style == 3:
        return f"+7 ({code}) {a}-{b}-{c}"
    if style == 4:
        return f"8-{code}-{a}-{b}-{c}"
    return f"7{code}{s}"


def _weighted(options: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    values = [v for v, _ in options]
    cum: list[int] = []
    total = 0
    for _, w in options:
        total += w
        cum.append(total)
    return values, cum


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class _Ids:
    """Next free id per table, read once at the start (a demo seed runs alone)."""

    def __init__(self, start: dict[str, int]) -> None:
        self._next = {name: value + 1 for name, value in start.items()}

    def take(self, name: str) -> int:
        value = self._next[name]
        self._next[name] = value + 1
        return value


_ID_TABLES: Final[dict[str, type[Base]]] = {
    "users": User,
    "user_extensions": UserExtension,
    "companies": Company,
    "contacts": Contact,
    "contact_phones": ContactPhone,
    "calls": Call,
    "activities": Activity,
    "deals": Deal,
    "deal_stage_changes": DealStageChange,
    "notes": Note,
}


@dataclass
class _User:
    id: int
    name: str
    extension: str | None


@dataclass
class _Company:
    id: int
    name: str
    domain: str


class _Generator:
    """Builds the rows of one seed run; kept apart from I/O so batches stay simple."""

    def __init__(self, rng: random.Random, now: datetime, ids: _Ids) -> None:
        self.rng = rng
        self.now = now
        self.ids = ids
        self.sales: list[_User] = []
        self.has_on_duty = False  # set by `seed` when the team already has someone on duty
        self.companies: list[_Company] = []
        self.source_values, self.source_cum = _weighted(SOURCES)
        self.stage_values, self.stage_cum = _weighted(DEAL_STAGES)
        self.tz_values, self.tz_cum = _weighted(MOBILE_TIMEZONES)
        self.female_surnames = {s: female_surname(s) for s in SURNAMES}
        self.latin = {w: translit(w) for w in (*MALE_FIRST, *FEMALE_FIRST, *SURNAMES)}

    # -- helpers --

    def _pick(self, values: list[str], cum: list[int]) -> str:
        return self.rng.choices(values, cum_weights=cum)[0]

    def _work_time(self, days_back: int) -> datetime:
        """A moment in Moscow office hours (09-19 MSK = 06-16 UTC), mostly on weekdays."""
        rng = self.rng
        for _ in range(3):
            day = (self.now - timedelta(days=rng.randrange(days_back))).date()
            if day.weekday() < 5 or rng.random() < 0.15:
                break
        moment = datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(10 * 3600)
        )
        if moment > self.now:
            moment -= timedelta(days=1)
        return moment

    # -- users and companies --

    def users(self, count: int, first_extension: int) -> tuple[list[Row], list[Row], list[_User]]:
        rng = self.rng
        users: list[Row] = []
        extensions: list[Row] = []
        made: list[_User] = []
        ext_no = first_extension
        tz_values, tz_cum = _weighted(USER_TIMEZONES)
        names = rng.sample(USER_NAMES, len(USER_NAMES))
        for i in range(count):
            if i < len(names):
                first, last = names[i]
            else:
                # Big teams: more people than the hand-picked names, so combine.
                male = rng.random() < 0.5
                first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
                last = rng.choice(SURNAMES)
                last = last if male else self.female_surnames[last]
            role = "admin" if i == 0 else "manager" if i == 1 else "sales"
            if count <= 2:
                # Too few people for a team: everyone sells, so contacts get owners.
                role = "admin" if i == 0 else "sales"
            uid = self.ids.take("users")
            extension: str | None = None
            if role == "sales":
                extension = str(ext_no)
                ext_no += 1
                extensions.append(
                    {"id": self.ids.take("user_extensions"), "user_id": uid, "extension": extension}
                )
            users.append(
                {
                    "id": uid,
                    "name": f"{first} {last}",
                    # Demo people have no Telegram account: a made-up id could clash with a
                    # real one invited later (the column is unique).
                    "telegram_user_id": None,
                    "telegram_username": None,
                    "role": role,
                    "timezone": "Europe/Moscow" if i < 2 else self._pick(tz_values, tz_cum),
                    "locale": "ru",
                    "active": True,
                    "on_duty": role == "sales" and not self.sales and not self.has_on_duty,
                    "created_at": self.now - timedelta(days=400 - i),
                }
            )
            user = _User(id=uid, name=f"{first} {last}", extension=extension)
            made.append(user)
            if role == "sales":
                self.sales.append(user)
        if not self.sales:
            self.sales = made
        return users, extensions, made

    def company(self) -> Row:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            male = rng.random() < 0.6
            last = rng.choice(SURNAMES)
            if not male:
                last = self.female_surnames[last]
            first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
            patronymic = rng.choice(PATRONYMICS)[0 if male else 1]
            name = f"ИП {last} {first[0]}. {patronymic[0]}."
            domain = translit(last)
            inn = _inn(rng, 12)
        else:
            if rng.random() < 0.6:
                word = rng.choice(COMPANY_HEADS) + rng.choice(COMPANY_TAILS).lower()
            else:
                word = rng.choice(COMPANY_WORDS)
            form = "АО" if roll > 0.88 else "ООО"
            name = f"{form} «{word}»"
            domain = translit(word)
            inn = _inn(rng, 10)
        cid = self.ids.take("companies")
        created = self.now - timedelta(days=rng.randrange(30, 900))
        self.companies.append(_Company(id=cid, name=name, domain=domain))
        return {
            "id": cid,
            "name": name,
            "name_folded": name.casefold(),
            "inn": inn,
            "website": f"https://{domain}.ru" if rng.random() < 0.4 else None,
            "owner_id": rng.choice(self.sales).id if rng.random() < 0.8 else None,
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    # -- one contact and everything around it --

    def contact(self, phones: list[tuple[int, int]], out: dict[str, list[Row]]) -> None:
        rng = self.rng
        now = self.now
        male = rng.random() < 0.55
        first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
        surname_m = rng.choice(SURNAMES)
        last = surname_m if male else self.female_surnames[surname_m]
        style = rng.random()
        if style < 0.6:
            name = f"{last} {first} {rng.choice(PATRONYMICS)[0 if male else 1]}"
        elif style < 0.85:
            name = f"{first} {last}"
        else:
            name = f"{last} {first}"
        company = rng.choice(self.companies) if self.companies and rng.random() < 0.35 else None
        email: str | None = None
        if rng.random() < 0.45:
            f_lat, l_lat = self.latin[first], translit(last)
            if company is not None and rng.random() < 0.7:
                email = f"{f_lat[0]}.{l_lat}@{company.domain}.ru"
            else:
                login = rng.choice(
                    (f"{f_lat}.{l_lat}", f"{f_lat[0]}.{l_lat}", f"{l_lat}{rng.randrange(100)}")
                )
                email = f"{login}@{rng.choice(EMAIL_DOMAINS)}"
        birthday: date | None = None
        if rng.random() < 0.4:
            birthday = date(now.year - rng.randrange(20, 66), 1, 1) + timedelta(
                days=rng.randrange(365)
            )
        owner = rng.choice(self.sales) if rng.random() < 0.9 else None
        contact_id = self.ids.take("contacts")
        created = now - timedelta(days=rng.randrange(1, 730), seconds=rng.randrange(86400))
        first_code = phones[0][0]
        timezone = LANDLINE_CODES.get(first_code) or self._pick(self.tz_values, self.tz_cum)
        e164s: list[str] = []
        for n, (code, sub) in enumerate(phones):
            e164 = f"+7{code}{sub:07d}"
            e164s.append(e164)
            raw = _raw_format(rng, code, sub)
            landline = code in LANDLINE_CODES
            extension: str | None = None
            if landline and rng.random() < 0.2:
                extension = str(rng.randrange(100, 1000))
                raw += f" доб. {extension}"
            out["phones"].append(
                {
                    "id": self.ids.take("contact_phones"),
                    "contact_id": contact_id,
                    "e164": e164,
                    "last10": e164[-10:],
                    "extension": extension,
                    "raw": raw,
                    "kind": "work" if landline else "mobile" if n == 0 else "other",
                    "is_live": True,
                }
            )
        ntags = rng.choices((0, 1, 2), weights=(55, 35, 10))[0]
        search_text = " ".join(
            [name, company.name if company else "", email or "", *(e[1:] for e in e164s)]
        ).casefold()
        out["contacts"].append(
            {
                "id": contact_id,
                "name": name,
                "company_id": company.id if company else None,
                "owner_id": owner.id if owner else None,
                "birthday": birthday,
                "birthday_md": birthday.strftime("%m-%d") if birthday else None,
                "timezone": timezone,
                "email": email,
                "telegram_chat_id": None,
                "marketing_consent": rng.random() < 0.15,
                "source": self._pick(self.source_values, self.source_cum),
                "tags": rng.sample(TAGS, ntags),
                "search_text": search_text,
                "created_at": created,
                "updated_at": min(created + timedelta(days=rng.randrange(0, 30)), now),
                "deleted_at": None,
                "merged_into_id": None,
            }
        )
        worker = owner or rng.choice(self.sales)
        marks = {name: len(rows) for name, rows in out.items()}
        if rng.random() < 0.35:
            self._calls(contact_id, name, worker, e164s, out)
        if rng.random() < 0.2:
            self._activities(contact_id, worker, out)
        if rng.random() < 0.12:
            self._deal(contact_id, name, company, owner, out)
        if rng.random() < 0.2:
            for _ in range(rng.randrange(1, 4)):
                out["notes"].append(
                    {
                        "id": self.ids.take("notes"),
                        "contact_id": contact_id,
                        "deal_id": None,
                        "call_id": None,
                        "author_id": worker.id,
                        "text": rng.choice(NOTE_TEXTS),
                        "kind": "note",
                        "created_at": self._work_time(90),
                    }
                )
        # A contact exists before anything happened with it: move its creation back to
        # just before its first call, note, task or deal.
        earliest = created
        for table in ("calls", "activities", "deals", "notes"):
            for row in out[table][marks[table] :]:
                earliest = min(earliest, row["created_at"])
        if earliest < created:
            contact_row = out["contacts"][-1]
            contact_row["created_at"] = earliest - timedelta(hours=rng.randrange(1, 72))

    def _calls(
        self, contact_id: int, name: str, user: _User, e164s: list[str], out: dict[str, list[Row]]
    ) -> None:
        rng = self.rng
        starts = sorted(self._work_time(90) for _ in range(rng.randrange(1, 7)))
        last_missed: Row | None = None  # an inbound miss not yet called back
        missed_run = 0
        for started in starts:
            call_id = self.ids.take("calls")
            inbound = rng.random() < 0.6
            roll = rng.random()
            status = "answered" if roll < 0.68 else "missed" if roll < 0.92 else "busy"
            ring = rng.randrange(3, 40)
            talk = int(rng.lognormvariate(4.6, 0.9)) + 5 if status == "answered" else 0
            answered = started + timedelta(seconds=ring) if status == "answered" else None
            ended = started + timedelta(seconds=ring + talk)
            phone = e164s[0] if len(e164s) == 1 or rng.random() < 0.8 else e164s[1]
            callback_of: int | None = None
            if not inbound and last_missed is not None:
                callback_of = last_missed["id"]
                if status == "answered":
                    self._callback_done(
                        contact_id, user, last_missed, missed_run, call_id, started, out
                    )
                    last_missed, missed_run = None, 0
            call = {
                "id": call_id,
                "provider": DEMO_PROVIDER,
                "provider_call_id": f"demo-{call_id}",
                "direction": "in" if inbound else "out",
                "status": status,
                "client_e164": phone,
                "client_raw": phone[1:],
                "our_phone": OUR_PHONE,
                "extension": user.extension,
                "user_id": user.id,
                "contact_id": contact_id,
                "started_at": started,
                "answered_at": answered,
                "ended_at": ended,
                "ring_seconds": ring,
                "talk_seconds": talk,
                "recording": f"demo/{call_id}.mp3" if status == "answered" else None,
                "disposition": status,
                "outcome": None,
                "summary": rng.choice(CALL_SUMMARIES)
                if status == "answered" and rng.random() < 0.3
                else None,
                "callback_of_id": callback_of,
                "final": True,
                "created_at": started,
                "updated_at": ended,
            }
            out["calls"].append(call)
            if inbound and status != "answered":
                if last_missed is None or last_missed["client_e164"] != phone:
                    missed_run = 0
                last_missed = call
                missed_run += 1
            elif inbound:
                # Answering the client's next call closes the gap just as well.
                if last_missed is not None:
                    self._callback_done(
                        contact_id, user, last_missed, missed_run, call_id, started, out
                    )
                last_missed, missed_run = None, 0
        if (
            last_missed is not None
            and last_missed["ended_at"] < self.now - timedelta(days=2)
            and rng.random() < 0.85
        ):
            # Most misses get called back within hours; only recent ones stay open.
            at = last_missed["ended_at"] + timedelta(minutes=rng.randrange(5, 360))
            call_id = self.ids.take("calls")
            talk = int(rng.lognormvariate(4.6, 0.9)) + 5
            ring = rng.randrange(3, 25)
            out["calls"].append(
                {
                    **last_missed,
                    "id": call_id,
                    "provider_call_id": f"demo-{call_id}",
                    "direction": "out",
                    "status": "answered",
                    "started_at": at,
                    "answered_at": at + timedelta(seconds=ring),
                    "ended_at": at + timedelta(seconds=ring + talk),
                    "ring_seconds": ring,
                    "talk_seconds": talk,
                    "recording": f"demo/{call_id}.mp3",
                    "disposition": "answered",
                    "summary": None,
                    "callback_of_id": last_missed["id"],
                    "created_at": at,
                    "updated_at": at + timedelta(seconds=ring + talk),
                }
            )
            self._callback_done(contact_id, user, last_missed, missed_run, call_id, at, out)
            last_missed = None
        if last_missed is not None:
            # Still not called back: the one open callback task for that number (the
            # partial unique index allows one per phone; each phone belongs to one contact
            # and only the contact's latest miss gets here, so there is never a second).
            out["activities"].append(
                self._callback_row(
                    contact_id,
                    user,
                    last_missed,
                    title=f"Перезвонить: {name}",
                    status="planned",
                    missed_count=missed_run,
                )
            )

    def _callback_done(
        self,
        contact_id: int,
        user: _User,
        missed: Row,
        missed_run: int,
        closed_by: int,
        at: datetime,
        out: dict[str, list[Row]],
    ) -> None:
        row = self._callback_row(
            contact_id,
            user,
            missed,
            title="Перезвонить по пропущенному",
            status="done",
            missed_count=max(missed_run, 1),
        )
        row["done_at"] = at
        row["closed_by_call_id"] = closed_by
        row["time_to_callback_seconds"] = int((at - missed["ended_at"]).total_seconds())
        out["activities"].append(row)

    def _callback_row(
        self,
        contact_id: int,
        user: _User,
        missed: Row,
        *,
        title: str,
        status: str,
        missed_count: int,
    ) -> Row:
        """The callback task of a missed call, due a quarter of an hour after it ended."""
        return self._activity_row(
            kind="callback",
            title=title,
            due=missed["ended_at"] + timedelta(minutes=15),
            owner=user,
            contact_id=contact_id,
            status=status,
            source="missed_call",
            source_call_id=missed["id"],
            callback_phone=missed["client_e164"],
            missed_count=missed_count,
            created=missed["ended_at"],
        )

    def _activity_row(
        self,
        *,
        kind: str,
        title: str,
        due: datetime,
        owner: _User,
        contact_id: int,
        status: str,
        created: datetime,
        source: str | None = None,
        source_call_id: int | None = None,
        callback_phone: str | None = None,
        missed_count: int = 0,
    ) -> Row:
        remind = due - timedelta(minutes=15) if kind != "callback" else due
        return {
            "id": self.ids.take("activities"),
            "kind": kind,
            "title": title,
            "notes": None,
            "due_at": due,
            "remind_at": remind if status == "planned" else None,
            "owner_id": owner.id,
            "contact_id": contact_id,
            "deal_id": None,
            "status": status,
            "result": None,
            "done_at": None,
            # Reminders that fell due before the seed count as sent, so the first
            # scheduler run after seeding does not flood everyone with old reminders.
            "reminded_at": remind if status == "planned" and remind <= self.now else None,
            "snooze_count": 0,
            "source": source,
            "source_call_id": source_call_id,
            "callback_phone": callback_phone,
            "missed_count": missed_count,
            "closed_by_call_id": None,
            "time_to_callback_seconds": None,
            "created_by_id": owner.id,
            "created_at": created,
            "updated_at": created,
        }

    def _activities(self, contact_id: int, owner: _User, out: dict[str, list[Row]]) -> None:
        rng = self.rng
        now = self.now
        for _ in range(rng.randrange(1, 3)):
            kind = rng.choices(("call", "meeting", "task"), weights=(45, 20, 35))[0]
            roll = rng.random()
            if roll < 0.5:
                status = "planned"
                # About a quarter of planned work is overdue, the rest lies ahead.
                due = now + timedelta(minutes=rng.randrange(-7 * 1440, 14 * 1440))
                if rng.random() < 0.7:
                    due = due.replace(minute=rng.choice((0, 30)), second=0, microsecond=0)
            else:
                status = "done" if roll < 0.9 else "canceled"
                due = self._work_time(90)
            created = min(due, now) - timedelta(days=rng.randrange(1, 10))
            row = self._activity_row(
                kind=kind,
                title=rng.choice(ACTIVITY_TITLES[kind]),
                due=due,
                owner=owner,
                contact_id=contact_id,
                status=status,
                created=created,
            )
            if status == "done":
                row["done_at"] = min(due + timedelta(minutes=rng.randrange(0, 180)), now)
                row["result"] = rng.choice(ACTIVITY_RESULTS)
                row["updated_at"] = row["done_at"]
            out["activities"].append(row)

    def _deal(
        self,
        contact_id: int,
        name: str,
        company: _Company | None,
        owner: _User | None,
        out: dict[str, list[Row]],
    ) -> None:
        rng = self.rng
        now = self.now
        stage = self._pick(self.stage_values, self.stage_cum)
        created = now - timedelta(days=rng.randrange(3, 180), seconds=rng.randrange(86400))
        closed: datetime | None = None
        if stage in ("won", "lost"):
            closed = min(created + timedelta(days=rng.randrange(2, 60)), now)
            reached = rng.randrange(len(OPEN_PATH)) if stage == "lost" else len(OPEN_PATH)
            path = [*OPEN_PATH[: max(reached, 1)], stage]
        else:
            path = list(OPEN_PATH[: OPEN_PATH.index(stage) + 1])
        deal_id = self.ids.take("deals")
        rubles = int(rng.lognormvariate(11.5, 1.1)) // 100 * 100 + 1000
        out["deals"].append(
            {
                "id": deal_id,
                "title": f"{rng.choice(DEAL_PRODUCTS)} — {company.name if company else name}",
                "contact_id": contact_id,
                "company_id": company.id if company else None,
                "owner_id": owner.id if owner else None,
                "stage": stage,
                "amount_minor": rubles * 100,
                "currency": "RUB",
                "expected_close": None
                if closed
                else (now + timedelta(days=rng.randrange(5, 60))).date(),
                "lost_reason": rng.choice(LOST_REASONS) if stage == "lost" else None,
                "external_id": None,
                "closed_at": closed,
                "created_at": created,
                "updated_at": closed or created,
            }
        )
        # Stage history spread evenly between creation and the close (or now).
        end = closed or (created + (now - created) * rng.uniform(0.2, 0.9))
        step = (end - created) / max(len(path) - 1, 1)
        previous: str | None = None
        for n, code in enumerate(path):
            out["deal_stage_changes"].append(
                {
                    "id": self.ids.take("deal_stage_changes"),
                    "deal_id": deal_id,
                    "from_stage": previous,
                    "to_stage": code,
                    "changed_by_id": owner.id if owner else None,
                    "changed_at": created + step * n,
                }
            )
            previous = code


def _inn(rng: random.Random, length: int) -> str:
    """A taxpayer number with valid check digits (10 for organisations, 12 for ИП)."""

    def check(digits: list[int], weights: tuple[int, ...]) -> int:
        return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10

    digits = [rng.randrange(1, 10), *(rng.randrange(10) for _ in range(length - 3))]
    if length == 10:
        digits.append(rng.randrange(10))
        digits.append(check(digits, (2, 4, 10, 3, 5, 9, 4, 6, 8)))
    else:
        digits.append(rng.randrange(10))
        digits.append(check(digits, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
        digits.append(check(digits, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    return "".join(map(str, digits))


# Child tables after their parents: calls before the activities that cite them, deals
# before their stage history.
_INSERT_ORDER: Final = (
    ("contacts", Contact),
    ("phones", ContactPhone),
    ("calls", Call),
    ("deals", Deal),
    ("deal_stage_changes", DealStageChange),
    ("activities", Activity),
    ("notes", Note),
)


async def _insert(conn: AsyncConnection, model: type[Base], rows: list[Row]) -> None:
    if rows:
        await conn.execute(insert(_table(model)), rows)


async def _taken_phones(conn: AsyncConnection, e164s: list[str]) -> set[str]:
    """Which of these numbers the database already has (other data, earlier runs)."""
    taken: set[str] = set()
    table = _table(ContactPhone)
    for i in range(0, len(e164s), 5000):
        chunk = e164s[i : i + 5000]
        result = await conn.execute(select(table.c.e164).where(table.c.e164.in_(chunk)))
        taken.update(result.scalars())
    return taken


async def _max_ids(conn: AsyncConnection) -> dict[str, int]:
    ids: dict[str, int] = {}
    for name, model in _ID_TABLES.items():
        table = _table(model)
        ids[name] = int(await conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
    return ids


async def _next_extension(conn: AsyncConnection) -> int:
    table = _table(UserExtension)
    existing = (await conn.execute(select(table.c.extension))).scalars()
    numbers = [int(e) for e in existing if e.isdigit()]
    return max([100, *numbers]) + 1


async def _fix_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL serials do not see explicit ids; move them past what we inserted."""
    for name in _ID_TABLES:
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
            )
        )


async def seed(
    engine: AsyncEngine,
    *,
    contacts: int,
    users: int = 8,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Add `users` employees and `contacts` contacts with phones, calls, work and deals.

    Works on an empty migrated database and on top of existing data: ids continue after
    the existing ones, extensions after the highest numeric one, and phone numbers that
    already exist are skipped. Deterministic for the same `seed`, `now` and starting data.
    `progress` gets the number of contacts written so far after each batch.
    """
    if contacts < 0 or users < 1:
        raise ValueError("contacts must be >= 0 and users >= 1")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    started = time.perf_counter()
    report = SeedReport()
    async with engine.begin() as conn:
        start_ids = await _max_ids(conn)
        first_extension = await _next_extension(conn)
        on_duty = await conn.scalar(
            select(func.count()).select_from(_table(User)).where(_table(User).c.on_duty)
        )
        ids = _Ids(start_ids)
        # The data stream depends on where this run starts, so a second run with the same
        # seed adds different people rather than the same names again.
        rng = random.Random(f"perezvon-demo:{seed}:{start_ids['contacts']}")
        gen = _Generator(rng, now, ids)
        gen.has_on_duty = bool(on_duty)
        user_rows, extension_rows, made = gen.users(users, first_extension)
        await _insert(conn, User, user_rows)
        await _insert(conn, UserExtension, extension_rows)
        report.users = len(user_rows)
        report.user_ids = [u.id for u in made]
        n_companies = max(1, contacts // 12) if contacts else 0
        for i in range(0, n_companies, 10000):
            rows = [gen.company() for _ in range(min(10000, n_companies - i))]
            await _insert(conn, Company, rows)
        report.companies = n_companies

    space = _PhoneSpace(seed, start_ids["contact_phones"])
    done = 0
    while done < contacts:
        size = min(BATCH_CONTACTS, contacts - done)
        counts = [2 if rng.random() < 0.25 else 1 for _ in range(size)]
        numbers = [space.take() for _ in range(sum(counts))]
        async with engine.begin() as conn:
            # Replace numbers that other data already holds; loop since a replacement may
            # itself be taken (vanishingly rare, but then the unique index would fail).
            while True:
                taken = await _taken_phones(conn, [f"+7{c}{s:07d}" for c, s in numbers])
                if not taken:
                    break
                numbers = [space.take() if f"+7{c}{s:07d}" in taken else (c, s) for c, s in numbers]
            out: dict[str, list[Row]] = {name: [] for name, _ in _INSERT_ORDER}
            pos = 0
            for count in counts:
                gen.contact(numbers[pos : pos + count], out)
                pos += count
            for name, model in _INSERT_ORDER:
                await _insert(conn, model, out[name])
        done += size
        report.contacts += size
        report.phones += len(out["phones"])
        report.calls += len(out["calls"])
        report.activities += len(out["activities"])
        report.deals += len(out["deals"])
        report.deal_stage_changes += len(out["deal_stage_changes"])
        report.notes += len(out["notes"])
        if progress is not None:
            progress(done)

    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await _fix_sequences(conn)
    report.seconds = time.perf_counter() - started
    return report
