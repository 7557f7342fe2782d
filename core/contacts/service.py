"""Contacts and companies: create, update, soft delete, merge, search, phone lookup."""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from core import access
from core.activities.models import Activity
from core.calls.models import Call
from core.common import Page, add_audited, audit, check_page, page_of
from core.contacts import consent
from core.contacts.models import Company, Contact, ContactPhone
from core.context import Actor, Ctx
from core.deals.models import Deal
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.notes.models import Note
from core.outbox import service as outbox
from core.phones import Phone, normalize, search_digits, try_normalize
from core.search_text import fold
from core.use_case import use_case
from core.users.models import User
from core.users.service import check_timezone

# search(): `total` is counted up to this many matches (see Page.total_capped).
SEARCH_TOTAL_CAP = 10_000
SEARCH_MAX_TOKENS = 5
# The trigram tokenizer (SQLite 3.34+) backs migration 0003's contacts_fts table; it cannot
# match fewer than three characters, so shorter tokens fall back to LIKE.
SQLITE_FTS = sqlite3.sqlite_version_info >= (3, 34, 0)
TRIGRAM_MIN_TOKEN = 3
_contacts_fts = table("contacts_fts", column("rowid", Integer))

SOURCES = ("call", "bot", "import", "api", "manual")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EDITABLE = frozenset(
    {
        "name",
        "phones",
        "company_id",
        "company_name",
        "owner_id",
        "email",
        "birthday",
        "timezone",
        "tags",
        "marketing_consent",
        "consent_source",
        "consent_at",
    }
)


@dataclass(frozen=True)
class PhoneOwner:
    """Answer to "who is this number?" for routing and screen pop."""

    contact_id: int
    contact_name: str
    company_name: str | None
    owner_id: int | None
    owner_name: str | None
    owner_extension: str | None
    owner_telegram_id: int | None
    e164: str


def build_search_text(contact: Contact, company_name: str | None) -> str:
    live = [p.e164 for p in contact.phones if p.is_live]
    return search_text_of(contact.name, company_name, contact.email, live)


def search_text_of(
    name: str, company_name: str | None, email: str | None, e164s: Iterable[str]
) -> str:
    """What contact search matches: name, company, email and the phones' digits, folded."""
    parts = [name, company_name or "", email or ""]
    parts += [e164.lstrip("+") for e164 in e164s]
    return fold(" ".join(parts))


def _phone_row(phone: Phone, kind: str = "mobile") -> ContactPhone:
    assert phone.e164 is not None
    return ContactPhone(
        e164=phone.e164,
        last10=phone.e164[-10:],
        extension=phone.extension,
        raw=phone.raw[:64],
        kind=kind,
        is_live=True,
    )


def parse_phones(ctx: Ctx, raws: Iterable[str]) -> list[Phone]:
    """Normalize each phone; internal extensions are refused for a contact."""
    result: dict[str, Phone] = {}
    for index, raw in enumerate(raws):
        try:
            phone = normalize(raw, region=ctx.config.default_region)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"phones[{index}]") from exc
        if phone.e164 is None:
            raise InvalidInput(
                f"{raw!r} is an internal extension, not a client's phone",
                field=f"phones[{index}]",
                code="phone-is-extension",
            )
        result.setdefault(phone.e164, phone)
    return list(result.values())


async def _ensure_phones_free(ctx: Ctx, phones: Sequence[Phone], contact_id: int | None) -> None:
    if not phones:
        return
    taken = await ctx.session.scalar(
        select(ContactPhone)
        .where(
            ContactPhone.e164.in_([p.e164 for p in phones]),
            ContactPhone.is_live.is_(True),
            ContactPhone.contact_id != (contact_id or 0),
        )
        .limit(1)
    )
    if taken is not None:
        raise Conflict(
            f"phone {taken.e164} already belongs to contact {taken.contact_id}",
            existing_id=taken.contact_id,
            code="phone-taken",
            args={"phone": taken.e164},
        )


def _default_timezone(ctx: Ctx, phones: Sequence[Phone]) -> str | None:
    for phone in phones:
        assert phone.e164 is not None
        zone = _zone_of_number(phone.e164)
        if zone is not None:
            return zone
    return None


@functools.lru_cache(maxsize=4096)
def _zone_of_number(e164: str) -> str | None:
    """The number's one time zone, if its prefix has exactly one (phonenumbers' geo data)."""
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164))
    return str(zones[0]) if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def _clean_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InvalidInput(
            f"{value!r} is not an email address", field="email", code="email-invalid"
        )
    return value


def _clean_name(value: str | None) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise InvalidInput("name must not be empty", field="name", code="name-empty")
    if len(name) > 300:
        raise InvalidInput("name is longer than 300 characters", field="name", code="name-too-long")
    return name


def _clean_tags(tags: Iterable[str] | None) -> list[str]:
    return sorted({t.strip()[:50] for t in tags or () if t and t.strip()})


async def _resolve_owner(ctx: Ctx, actor: Actor, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    user = await ctx.session.get(User, owner_id)
    if user is None or not user.active:
        raise InvalidInput(
            f"owner {owner_id} is not an active user", field="owner_id", code="owner-inactive"
        )
    if not access.may_assign(actor, owner_id):
        raise PermissionDenied(
            "only a manager can give a contact to someone else", code="assign-manager-only"
        )
    return owner_id


async def _tell_owners(ctx: Ctx, actor: Actor, contact: Contact, previous: int | None) -> None:
    """A contact handed over is told to its old and its new owner (not to whoever did it)."""
    if previous == contact.owner_id:
        return
    payload = {"contact_id": contact.id, "from_id": previous, "to_id": contact.owner_id}
    users = (previous, contact.owner_id)
    await outbox.handed_over(ctx, actor, "owner_changed", contact.id, users, payload)


async def _resolve_company(
    ctx: Ctx, actor: Actor, company_id: int | None, company_name: str | None
) -> Company | None:
    if company_id is not None:
        company = await ctx.session.get(Company, company_id)
        if company is None or company.deleted_at is not None:
            raise InvalidInput(
                f"company {company_id} not found", field="company_id", code="company-not-found"
            )
        return company
    if company_name and company_name.strip():
        name = " ".join(company_name.split())
        company = await ctx.session.scalar(
            select(Company).where(
                Company.name_folded == name.casefold(), Company.deleted_at.is_(None)
            )
        )
        if company is None:
            company = await _new_company(ctx, actor, name)
        return company
    return None


async def _new_company(ctx: Ctx, actor: Actor, name: str, **extra: Any) -> Company:
    now = ctx.clock.now()
    company = Company(
        name=name,
        name_folded=name.casefold(),
        created_at=now,
        updated_at=now,
        owner_id=actor.user_id,
        **extra,
    )
    ctx.session.add(company)
    await ctx.session.flush()
    return company


async def add_contact(
    ctx: Ctx,
    *,
    actor: Actor,
    name: str,
    phones: Sequence[str] = (),
    company_id: int | None = None,
    company_name: str | None = None,
    owner_id: int | None = None,
    email: str | None = None,
    birthday: date | None = None,
    timezone: str | None = None,
    tags: Sequence[str] = (),
    source: str = "manual",
    marketing_consent: bool = False,
    consent_source: str | None = None,
    consent_at: datetime | None = None,
    phones_seen_free: bool = False,
) -> Contact:
    """Create a contact; a phone already owned by any live contact is a Conflict naming it.

    A step in the caller's unit of work (never commits; `create_contact` commits it alone).
    `phones_seen_free=True` says that caller has just looked the phones up in this
    transaction and found no owner (the partial unique index still guards the race).
    Consent given elsewhere needs its source (core.contacts.consent, step 4); a chat is
    bound only by the client's own link.
    """
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
    clean_name = _clean_name(name)
    parsed = parse_phones(ctx, phones)
    if not phones_seen_free:
        await _ensure_phones_free(ctx, parsed, None)
    # No owner given: the person creating it owns it (the PBX and API keys own nothing).
    owner = await _resolve_owner(ctx, actor, owner_id if owner_id is not None else actor.user_id)
    company = await _resolve_company(ctx, actor, company_id, company_name)
    now = ctx.clock.now()
    contact = Contact(
        name=clean_name,
        company_id=company.id if company else None,
        company=company,
        owner_id=owner,
        email=_clean_email(email),
        birthday=birthday,
        birthday_md=birthday.strftime("%m-%d") if birthday else None,
        timezone=check_timezone(timezone) if timezone else _default_timezone(ctx, parsed),
        tags=_clean_tags(tags),
        source=source,
        marketing_consent=False,
        created_at=now,
        updated_at=now,
        phones=[_phone_row(p) for p in parsed],
    )
    given = consent.record(
        ctx,
        contact,
        actor=actor,
        consent=marketing_consent,
        source=consent_source,
        at=consent_at,
    )
    contact.search_text = build_search_text(contact, company.name if company else None)
    changes = {"name": clean_name, "phones": [p.e164 for p in parsed], "source": source, **given}
    await add_audited(ctx, contact, actor=actor, entity="contact", changes=changes)
    return contact


create_contact = use_case(add_contact)


async def get_contact(ctx: Ctx, *, actor: Actor, contact_id: int) -> Contact:
    """A live contact the actor may see, or NotFound."""
    contact = await ctx.session.get(Contact, contact_id)
    return access.visible_contact(ctx, actor, contact, contact_id)


async def get_contact_for_work(ctx: Ctx, *, actor: Actor, contact_id: int) -> Contact:
    """A live contact to read and log work on (its card, notes, next step): one the actor may
    see, or whose call rang at their extension lately (core.access.workable_contact)."""
    contact = await ctx.session.get(Contact, contact_id)
    return await access.workable_contact(ctx, actor, contact, contact_id)


async def edit_contact(
    ctx: Ctx, *, actor: Actor, contact_id: int, changes: Mapping[str, Any]
) -> Contact:
    """Apply the given fields (a PATCH); `phones` replaces the phone list. A step in the
    caller's unit of work (never commits; `update_contact` commits it alone)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    contact = await get_contact(ctx, actor=actor, contact_id=contact_id)
    # Consent first: a refused one (a client's /stop) changes nothing else either.
    diff: dict[str, Any] = consent.record(
        ctx,
        contact,
        actor=actor,
        consent=changes.get("marketing_consent"),
        source=changes.get("consent_source"),
        at=changes.get("consent_at"),
    )
    if "name" in changes:
        contact.name = diff["name"] = _clean_name(changes["name"])
    if "email" in changes:
        contact.email = diff["email"] = _clean_email(changes["email"])
    if "birthday" in changes:
        contact.birthday = diff["birthday"] = changes["birthday"]
        contact.birthday_md = contact.birthday.strftime("%m-%d") if contact.birthday else None
    if "timezone" in changes:
        tz = changes["timezone"]
        contact.timezone = diff["timezone"] = check_timezone(tz) if tz else None
    if "tags" in changes:
        contact.tags = diff["tags"] = _clean_tags(changes["tags"])
    if "owner_id" in changes:
        previous_owner = contact.owner_id
        contact.owner_id = diff["owner_id"] = await _resolve_owner(ctx, actor, changes["owner_id"])
        await _tell_owners(ctx, actor, contact, previous_owner)
    if "company_id" in changes or "company_name" in changes:
        company = await _resolve_company(
            ctx, actor, changes.get("company_id"), changes.get("company_name")
        )
        contact.company_id = diff["company_id"] = company.id if company else None
        contact.company = company
    if "phones" in changes:
        await _replace_phones(ctx, contact, parse_phones(ctx, changes["phones"] or ()))
        diff["phones"] = [p.e164 for p in contact.phones if p.is_live]
    await _refresh_search_text(ctx, contact)
    contact.updated_at = ctx.clock.now()
    audit(ctx, actor=actor, entity="contact", entity_id=contact.id, action="update", changes=diff)
    return contact


update_contact = use_case(edit_contact)


async def add_phone(ctx: Ctx, *, actor: Actor, contact_id: int, phone: str) -> Contact:
    """Add one more phone to a contact."""
    contact = await get_contact(ctx, actor=actor, contact_id=contact_id)
    current = [p.raw for p in contact.phones if p.is_live]
    contact = await edit_contact(
        ctx, actor=actor, contact_id=contact.id, changes={"phones": [*current, phone]}
    )
    await ctx.session.commit()
    return contact


async def _replace_phones(ctx: Ctx, contact: Contact, parsed: Sequence[Phone]) -> None:
    await _ensure_phones_free(ctx, parsed, contact.id)
    wanted = {p.e164: p for p in parsed}
    for row in contact.phones:
        if row.is_live and row.e164 not in wanted:
            row.is_live = False
    await ctx.session.flush()
    live = {row.e164 for row in contact.phones if row.is_live}
    for e164, phone in wanted.items():
        if e164 not in live:
            contact.phones.append(_phone_row(phone))
    await ctx.session.flush()


async def _refresh_search_text(ctx: Ctx, contact: Contact) -> None:
    company = await ctx.session.get(Company, contact.company_id) if contact.company_id else None
    contact.search_text = build_search_text(contact, company.name if company else None)


async def delete_contact(ctx: Ctx, *, actor: Actor, contact_id: int) -> Contact:
    """Soft delete: the contact disappears from lists; calls and history stay; phones free up."""
    contact = await get_contact(ctx, actor=actor, contact_id=contact_id)
    if not access.may_manage(actor, contact.owner_id):
        raise PermissionDenied(
            "only the owner or a manager can delete a contact", code="delete-owner-only"
        )
    contact.deleted_at = ctx.clock.now()
    for row in contact.phones:
        row.is_live = False
    audit(ctx, actor=actor, entity="contact", entity_id=contact.id, action="delete", changes={})
    await ctx.session.commit()
    return contact


async def merge_contacts(ctx: Ctx, *, actor: Actor, source_id: int, target_id: int) -> Contact:
    """Merge `source` into `target`, keeping every phone, call, note, activity and deal."""
    if source_id == target_id:
        raise InvalidInput(
            "cannot merge a contact into itself", field="source_id", code="merge-self"
        )
    source = await get_contact(ctx, actor=actor, contact_id=source_id)
    target = await get_contact(ctx, actor=actor, contact_id=target_id)
    if not access.may_manage(actor, source.owner_id):
        raise PermissionDenied(
            "only the owner or a manager can merge this contact", code="merge-owner-only"
        )
    for row in list(source.phones):
        if row.is_live:
            row.contact_id = target.id
    for model in (Call, Note, Activity, Deal):
        await ctx.session.execute(
            update(model).where(model.contact_id == source.id).values(contact_id=target.id)
        )
    for field in (
        "email",
        "birthday",
        "birthday_md",
        "company_id",
        "owner_id",
        "timezone",
    ):
        if getattr(target, field) is None and getattr(source, field) is not None:
            setattr(target, field, getattr(source, field))
    target.tags = _clean_tags([*target.tags, *source.tags])
    consent.merge(target, source)
    source.deleted_at = ctx.clock.now()
    source.merged_into_id = target.id
    target.updated_at = ctx.clock.now()
    await ctx.session.flush()
    ctx.session.expire(target, ["phones"])
    ctx.session.expire(source, ["phones"])
    await ctx.session.refresh(target, ["phones"])
    await _refresh_search_text(ctx, target)
    audit(
        ctx,
        actor=actor,
        entity="contact",
        entity_id=target.id,
        action="merge",
        changes={"merged": source.id},
    )
    await ctx.session.commit()
    return target


def _uses_fts(ctx: Ctx) -> bool:
    bind = ctx.session.bind
    return SQLITE_FTS and bind is not None and bind.dialect.name == "sqlite"


def _substring(ctx: Ctx, token: str) -> ColumnElement[int]:
    """Position of `token` in the search text (0: absent), without LIKE's wildcards."""
    bind = ctx.session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return func.strpos(Contact.search_text, token)
    return func.instr(Contact.search_text, token)


def search_tokens(q: str | None, *, region: str) -> list[str]:
    """What to look for: the digits of a phone-like query, or up to five casefolded words."""
    if not q or not q.strip():
        return []
    digits = search_digits(q, region=region)
    if digits is not None:
        return [digits]
    return fold(q).split()[:SEARCH_MAX_TOKENS]


def _fts_query(tokens: Sequence[str]) -> str:
    """An FTS5 query: every token as a quoted phrase (a substring, for the trigram index)."""
    return " AND ".join('"' + token.replace('"', '""') + '"' for token in tokens)


async def search(
    ctx: Ctx,
    *,
    actor: Actor,
    q: str | None = None,
    owner_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page[Contact]:
    """Contacts by any part of name, company, email or phone (any format), case-insensitive.

    Every token must occur somewhere in the contact's search text. `total` is exact up to
    `SEARCH_TOTAL_CAP`; past it the page says `total_capped` and `total` is the cap.
    Order: by name (then id) when the matches fit under the cap, so a specific query reads
    alphabetically; newest first (id descending) when they do not, so a fragment that
    matches half the base never sorts all of it. Both orders are total, so pages are
    stable for as long as the data does not change.
    """
    check_page(limit, offset)
    conditions = [Contact.deleted_at.is_(None), access.contact_clause(ctx, actor)]
    if owner_id is not None:
        conditions.append(Contact.owner_id == owner_id)
    tokens = search_tokens(q, region=ctx.config.default_region)
    # Tokens of three characters or more can use a trigram index: on SQLite they are
    # matched through the FTS5 table, on PostgreSQL with LIKE, which the pg_trgm GIN index
    # serves. Shorter ones are a plain substring test (strpos/instr) the planner cannot
    # hand to the trigram index: pg_trgm would scan the whole index for them (seconds at
    # 1M rows) instead of filtering the rows the longer tokens found.
    long_tokens = [t for t in tokens if len(t) >= TRIGRAM_MIN_TOKEN]
    indexed = long_tokens if _uses_fts(ctx) else []
    conditions += [
        Contact.search_text.contains(t, autoescape=True) for t in long_tokens if t not in indexed
    ]
    conditions += [_substring(ctx, t) > 0 for t in tokens if len(t) < TRIGRAM_MIN_TOKEN]
    where = and_(*conditions)

    def matching(*columns: Any) -> Select[Any]:
        if not indexed:
            return select(*columns).select_from(Contact).where(where)
        return (
            select(*columns)
            .select_from(_contacts_fts)
            .join(Contact, Contact.id == _contacts_fts.c.rowid)
            .where(literal_column("contacts_fts").match(_fts_query(indexed)), where)
        )

    cap = SEARCH_TOTAL_CAP
    bind = ctx.session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        # asyncpg prepares statements; PostgreSQL's custom plans estimate every '%…%'
        # pattern at about 2 % of rows whatever it is, and below ~200k rows that picks a
        # sequential scan (40 ms at 100k instead of 5 through the trigram index). The
        # generic plan assumes the default 0.5 % and always takes the GIN index for the
        # matches, and the primary key backwards for the newest-first page. See
        # bench/README.md for the figures.
        await ctx.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    # One pass over at most cap + 1 matches gives both the count and, when they fit under
    # the cap, the page in name order. The cap is a literal: a LIMIT parameter makes
    # PostgreSQL's generic plan guess 10 % of the rows and scan the table for them.
    found = (
        matching(Contact.id.label("id"), Contact.name.label("name"))
        .limit(literal_column(str(cap + 1)))
        .cte("found")
    )
    counted_sq = select(func.count()).select_from(found).scalar_subquery()
    page = (
        select(found.c.id, found.c.name)
        .order_by(found.c.name, found.c.id)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    result = await ctx.session.execute(
        select(Contact, counted_sq)
        .join(page, Contact.id == page.c.id)
        .order_by(page.c.name, page.c.id)
    )
    rows = result.all()
    if rows:
        counted = int(rows[0][1])
    else:  # nothing matched, or the offset is past the matches: count them alone
        count_query = select(func.count()).select_from(found)
        counted = int(await ctx.session.scalar(count_query) or 0)
    if counted <= cap:
        return Page(items=[row[0] for row in rows], total=counted)
    # Too many to sort by name: newest first, which both indexes give in order (the FTS
    # rowid on SQLite, the primary key on PostgreSQL) and can stop after one page.
    newest = _contacts_fts.c.rowid if indexed else Contact.id
    items = await ctx.session.scalars(
        matching(Contact).order_by(newest.desc()).limit(limit).offset(offset)
    )
    return Page(items=list(items), total=cap, total_capped=True)


# lookup_phone's one statement. Every number with this E.164 also has its last ten digits,
# so one indexed probe on `last10` with the exact number sorted first answers both "this
# exact number" and the fallback for foreign formats and '+'-less national numbers.
# Plain SQL, built once: the PBX waits on this while the phone rings, and composing the
# ORM statement and its cache key cost more than the query itself (see bench/README.md).
LOOKUP_PHONE_SQL = """
    SELECT c.id, c.name, co.name, u.id, u.name,
           (SELECT ue.extension FROM user_extensions ue
             WHERE ue.user_id = u.id ORDER BY ue.id LIMIT 1),
           u.telegram_user_id, p.e164
      FROM contact_phones p
      JOIN contacts c ON c.id = p.contact_id
      LEFT JOIN companies co ON co.id = c.company_id
      LEFT JOIN users u ON u.id = c.owner_id AND u.active = :yes
     WHERE p.last10 = :last10 AND p.is_live = :yes AND c.deleted_at IS NULL
       AND (p.e164 = :e164 OR :any_country)
     ORDER BY CASE WHEN p.e164 = :e164 THEN 0 ELSE 1 END, p.id
     LIMIT 1
"""
_LOOKUP_PHONE = text(LOOKUP_PHONE_SQL).bindparams(
    bindparam("yes", True, type_=Boolean), bindparam("any_country", type_=Boolean)
)


def lookup_params(phone: str, *, region: str) -> dict[str, Any] | None:
    """The parameters of LOOKUP_PHONE_SQL for a number as written, or None (not a number)."""
    parsed = try_normalize(phone, region=region)
    if parsed is None or parsed.e164 is None:
        return None
    written = phone.strip()
    any_country = not written.startswith(("+", "00")) and len(re.sub(r"\D", "", written)) <= 10
    return {"last10": parsed.e164[-10:], "e164": parsed.e164, "any_country": any_country}


def owner_from_row(row: Sequence[Any]) -> PhoneOwner:
    """A PhoneOwner from a row of LOOKUP_PHONE_SQL."""
    return PhoneOwner(
        contact_id=row[0],
        contact_name=row[1],
        company_name=row[2],
        owner_id=row[3],
        owner_name=row[4],
        owner_extension=row[5],
        owner_telegram_id=row[6],
        e164=row[7],
    )


async def lookup_phone(ctx: Ctx, *, phone: str) -> PhoneOwner | None:
    """Who is this number and who owns them — the PBX routing question, from the index.

    The exact E.164 number wins; failing that, for a number written without a country code,
    a live number with the same last ten digits. A number that names its country (`+1…`,
    `00…`) never matches another country's number. (Webhooks ask core.drivers.phone_lookup, which
    runs the same statement without a session.)
    """
    params = lookup_params(phone, region=ctx.config.default_region)
    if params is None:
        return None
    row = (await ctx.session.execute(_LOOKUP_PHONE, params)).first()
    return None if row is None else owner_from_row(row)


async def find_by_e164(ctx: Ctx, *, e164: str) -> Contact | None:
    """The live contact owning this exact E.164 number (no permission check: system use)."""
    contact: Contact | None = await ctx.session.scalar(
        select(Contact)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(
            ContactPhone.e164 == e164, ContactPhone.is_live.is_(True), Contact.deleted_at.is_(None)
        )
        .limit(1)
    )
    return contact


UPSERT_ATTEMPTS = 8


async def upsert_by_phone(
    ctx: Ctx, *, actor: Actor, phone: str, fields: Mapping[str, Any]
) -> tuple[Contact, bool]:
    """The shop's integration point: update the contact with this phone, or create it.

    Concurrent upserts of one number (in any format) all succeed with the same contact: the
    one that loses the race to create it finds the winner's contact and updates that."""
    try:
        parsed = parse_phones(ctx, [phone])[0]
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="phone") from exc
    assert parsed.e164 is not None
    for attempt in range(UPSERT_ATTEMPTS):
        last = attempt == UPSERT_ATTEMPTS - 1
        try:
            upserted = await _upsert_once(ctx, actor, parsed.e164, phone, fields)
            await ctx.session.commit()
            return upserted
        except IntegrityError:  # a unique index saw the concurrent twin first
            await ctx.session.rollback()
            if last:
                raise Conflict(
                    f"phone {parsed.e164} is being changed concurrently; retry", code="try-again"
                ) from None
        except _LostRace:
            await ctx.session.rollback()
            if last:
                raise
        except OperationalError as exc:
            # SQLite: the read that found no contact saw a snapshot a concurrent twin has since
            # committed past; its write cannot wait that out (SQLITE_BUSY_SNAPSHOT), so it
            # starts again and reads the twin's contact.
            if last or not _sqlite_lock(exc):
                raise
            await ctx.session.rollback()
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


SQLITE_BUSY_SNAPSHOT = 517


def _sqlite_lock(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT)


class _LostRace(Conflict):
    """The phone was free when looked up and taken when the contact was created."""


async def _upsert_once(
    ctx: Ctx, actor: Actor, e164: str, phone: str, fields: Mapping[str, Any]
) -> tuple[Contact, bool]:
    existing = await find_by_e164(ctx, e164=e164)
    if existing is not None:
        if not access.may_see_contact(ctx, actor, existing):
            raise Conflict(
                f"phone {e164} belongs to contact {existing.id}",
                existing_id=existing.id,
                code="phone-taken",
                args={"phone": e164},
            )
        changes = dict(fields)
        if "phones" in changes:
            changes["phones"] = [phone, *(changes["phones"] or [])]
        contact = await edit_contact(ctx, actor=actor, contact_id=existing.id, changes=changes)
        return contact, False
    extra = {k: v for k, v in fields.items() if k not in ("name", "phones")}
    unknown = set(extra) - EDITABLE
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    try:
        contact = await add_contact(
            ctx,
            actor=actor,
            name=fields.get("name") or e164,
            phones=[phone, *(fields.get("phones") or [])],
            source="api",
            **extra,
        )
    except Conflict as exc:
        if exc.existing_id is not None and await find_by_e164(ctx, e164=e164) is not None:
            raise _LostRace(exc.message, existing_id=exc.existing_id) from None
        raise
    return contact, True


# --- companies -------------------------------------------------------------------------


async def create_company(
    ctx: Ctx, *, actor: Actor, name: str, inn: str | None = None, website: str | None = None
) -> Company:
    """Create a company; the same name (case-insensitive) twice is a Conflict."""
    clean = _clean_name(name)
    existing = await ctx.session.scalar(
        select(Company).where(Company.name_folded == clean.casefold(), Company.deleted_at.is_(None))
    )
    if existing is not None:
        raise Conflict(
            f"company {clean!r} already exists",
            existing_id=existing.id,
            code="company-exists",
            args={"name": clean},
        )
    company = await _new_company(ctx, actor, clean, inn=inn, website=website)
    audit(
        ctx,
        actor=actor,
        entity="company",
        entity_id=company.id,
        action="create",
        changes={"name": clean},
    )
    await ctx.session.commit()
    return company


async def get_company(ctx: Ctx, *, company_id: int) -> Company:
    company = await ctx.session.get(Company, company_id)
    if company is None or company.deleted_at is not None:
        raise NotFound(f"company {company_id} not found", code="company-not-found")
    return company


async def update_company(
    ctx: Ctx, *, actor: Actor, company_id: int, changes: Mapping[str, Any]
) -> Company:
    """Rename or edit a company; its contacts stay findable under the new name."""
    company = await get_company(ctx, company_id=company_id)
    unknown = set(changes) - {"name", "inn", "website"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    if "name" in changes:
        clean = _clean_name(changes["name"])
        clash = await ctx.session.scalar(
            select(Company.id).where(
                Company.name_folded == clean.casefold(),
                Company.deleted_at.is_(None),
                Company.id != company.id,
            )
        )
        if clash is not None:
            raise Conflict(
                f"company {clean!r} already exists",
                existing_id=clash,
                code="company-exists",
                args={"name": clean},
            )
        company.name = clean
        company.name_folded = clean.casefold()
    for field in ("inn", "website"):
        if field in changes:
            setattr(company, field, changes[field])
    company.updated_at = ctx.clock.now()
    if "name" in changes:
        contacts = await ctx.session.scalars(
            select(Contact).where(Contact.company_id == company.id)
        )
        for contact in contacts:
            contact.search_text = build_search_text(contact, company.name)
    audit(
        ctx,
        actor=actor,
        entity="company",
        entity_id=company.id,
        action="update",
        changes=dict(changes),
    )
    await ctx.session.commit()
    return company


async def list_companies(
    ctx: Ctx, *, q: str | None = None, limit: int = 20, offset: int = 0
) -> Page[Company]:
    check_page(limit, offset)
    where: list[ColumnElement[bool]] = [Company.deleted_at.is_(None)]
    if q and q.strip():
        where.append(Company.name_folded.contains(q.strip().casefold(), autoescape=True))
    return await page_of(ctx, Company, where, order_by=(Company.name,), limit=limit, offset=offset)
