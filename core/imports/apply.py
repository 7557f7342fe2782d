"""Contacts import, the writing half: one batch and the job's progress in one commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, text, update

from core.common import audit
from core.contacts.models import Company, Contact, ContactPhone
from core.contacts.service import (
    _default_timezone,
    _phone_row,
    build_search_text,
    search_text_of,
)
from core.context import Actor, Ctx
from core.db import Base
from core.imports.models import ImportJob
from core.imports.plan import Batch, Plan
from core.notes.models import Note
from core.phones import Phone


async def _companies(ctx: Ctx, actor: Actor, names: set[str]) -> dict[str, _Company]:
    """Companies by folded name: found, or created for this batch."""
    folded = {" ".join(n.split()).casefold(): " ".join(n.split()) for n in names if n.strip()}
    if not folded:
        return {}
    found = await ctx.session.scalars(
        select(Company).where(Company.name_folded.in_(folded), Company.deleted_at.is_(None))
    )
    companies = {c.name_folded: _Company(c.id, c.name) for c in found}
    missing = [key for key in folded if key not in companies]
    if missing:
        now = ctx.clock.now()
        ids = await _allocate_ids(ctx, "companies", len(missing))
        rows = [
            {
                "id": cid,
                "name": folded[key][:300],
                "name_folded": key[:300],
                "owner_id": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
            for cid, key in zip(ids, missing, strict=True)
        ]
        await ctx.session.execute(insert(_table(Company)), rows)
        for key, cid in zip(missing, ids, strict=True):
            companies[key] = _Company(cid, folded[key][:300])
    return companies


def _table(model: type[Base]) -> Table:
    """The model's Core table: bulk rows go through Core, one executemany per statement."""
    return model.metadata.tables[str(model.__tablename__)]


async def _allocate_ids(ctx: Ctx, table: str, count: int) -> list[int]:
    """Primary keys for rows inserted in bulk (bulk INSERT … RETURNING goes row by row on
    SQLite). PostgreSQL: from the table's sequence. SQLite: after the current maximum, which
    is stable because the caller holds the database's write lock."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        found = await ctx.session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table, "n": count},
        )
        return [int(i) for i in found]
    top = await ctx.session.scalar(
        text(f"SELECT coalesce(max(id), 0) FROM {table}")
    )  # a fixed table name
    return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))


async def apply_batch(
    ctx: Ctx,
    actor: Actor,
    job: ImportJob,
    index: int,
    batch: Batch,
    counts: dict[str, Any],
) -> bool:
    """Write one batch and the job's progress in one commit; False if it was already done."""
    # Touching the job row first takes the write lock (SQLite) or the row lock (PostgreSQL),
    # so the progress read next is current and the ids allocated below are ours alone.
    await ctx.session.execute(
        update(ImportJob).where(ImportJob.id == job.id).values(updated_at=ctx.clock.now())
    )
    locked = await ctx.session.scalar(
        select(ImportJob).where(ImportJob.id == job.id).execution_options(populate_existing=True)
    )
    if locked is None or locked.batches_done > index:
        await ctx.session.rollback()
        await ctx.session.refresh(job)  # a rollback expires it; its progress is read next
        return False
    now = ctx.clock.now()
    # Companies _match found are used by ID; only names no company has are created.
    names = {p.row.company for p in batch.new if p.company_id is None}
    names |= {
        str(c["company"]) for p, _, c in batch.updates if "company" in c and p.company_id is None
    }
    companies = await _companies(ctx, actor, names)
    notes: list[tuple[int, str]] = []
    if batch.new:
        # Bulk statements, not ORM objects: a unit-of-work flush of 1,000 contacts with their
        # phones costs ten times more than the same rows in three executemany statements.
        values = [_new_contact(ctx, plan, companies, now) for plan in batch.new]
        ids = await _allocate_ids(ctx, "contacts", len(values))
        for cid, item in zip(ids, values, strict=True):
            item["id"] = cid
        await ctx.session.execute(insert(_table(Contact)), values)
        phones = [
            _phone_values(cid, p)
            for cid, plan in zip(ids, batch.new, strict=True)
            for p in plan.phones
        ]
        if phones:
            await ctx.session.execute(insert(_table(ContactPhone)), phones)
        notes += [
            (cid, plan.row.comment)
            for cid, plan in zip(ids, batch.new, strict=True)
            if plan.row.comment
        ]
    loaded: dict[int, Contact] = {}
    if batch.updates:  # only the contacts that change are loaded as ORM objects
        ids = [current.id for _, current, _ in batch.updates]
        found = await ctx.session.scalars(select(Contact).where(Contact.id.in_(ids)))
        loaded = {c.id: c for c in found}
    for plan, current, changes in batch.updates:
        contact = loaded.get(current.id)
        if contact is None:  # deleted since the batch was matched: nothing to update
            continue
        comment = _update_contact(plan, contact, changes, companies, now)
        if comment:
            notes.append((contact.id, comment))
    await ctx.session.flush()
    if notes:
        await ctx.session.execute(
            insert(_table(Note)),
            [
                {
                    "contact_id": cid,
                    "author_id": actor.user_id,
                    "text": text,
                    "kind": "note",
                    "created_at": now,
                }
                for cid, text in notes
            ],
        )
    total = dict(locked.counts)
    for key in ("new", "updated", "duplicate", "unchanged"):
        total[key] = int(total.get(key, 0)) + int(counts.get(key, 0))
    total["rejected_rows"] = [*total.get("rejected_rows", []), *counts["rejected_rows"]]
    listed = [*total.get("changes", []), *counts.get("changes", [])]
    total["changes"] = listed[:1000]  # as imports.MAX_LISTED_CHANGES
    locked.counts, locked.batches_done, locked.updated_at = total, index + 1, now
    audit(
        ctx,
        actor=actor,
        entity="import_job",
        entity_id=job.id,
        action="apply_batch",
        changes={"batch": index, "new": counts["new"], "updated": counts["updated"]},
    )
    await ctx.session.commit()
    job.batches_done = locked.batches_done
    return True


@dataclass(frozen=True)
class _Company:
    id: int
    name: str


def _company_of(name: str, companies: dict[str, _Company]) -> _Company | None:
    return companies.get(" ".join(name.split()).casefold()) if name.strip() else None


def _chosen_company(plan: Plan, name: str, companies: dict[str, _Company]) -> _Company | None:
    """The company _match chose by ID, else the one created for the name."""
    if plan.company_id is not None:
        return _Company(plan.company_id, plan.company_name or " ".join(name.split()))
    return _company_of(name, companies)


def _new_contact(
    ctx: Ctx, plan: Plan, companies: dict[str, _Company], now: datetime
) -> dict[str, Any]:
    """The contacts row of a new contact, as an INSERT's parameters."""
    row = plan.row
    company = _chosen_company(plan, row.company, companies)
    e164s = [p.e164 for p in plan.phones if p.e164]
    return {
        "name": plan.name,
        "company_id": company.id if company else None,
        "owner_id": plan.owner_id,
        "email": plan.email,
        "birthday": row.birthday,
        "birthday_md": row.birthday.strftime("%m-%d") if row.birthday else None,
        "timezone": plan.timezone or _default_timezone(ctx, plan.phones),
        "tags": plan.tags,
        "source": plan.source or "import",
        "marketing_consent": False,
        "search_text": search_text_of(
            plan.name, company.name if company else None, plan.email, e164s
        ),
        "created_at": now,
        "updated_at": now,
    }


def _phone_values(contact_id: int, phone: Phone) -> dict[str, Any]:
    assert phone.e164 is not None
    return {  # the same values as contacts._phone_row, without building an ORM object
        "contact_id": contact_id,
        "e164": phone.e164,
        "last10": phone.e164[-10:],
        "extension": phone.extension,
        "raw": phone.raw[:64],
        "kind": "mobile",
        "is_live": True,
    }


def _update_contact(
    plan: Plan,
    contact: Contact,
    changes: dict[str, Any],
    companies: dict[str, _Company],
    now: datetime,
) -> str | None:
    company = None
    for key, value in changes.items():
        if key == "phones":
            for row in contact.phones:  # overwrite: numbers the file no longer has go
                if row.is_live and row.e164 in value["drop"]:
                    row.is_live = False
            contact.phones.extend(_phone_row(p) for p in value["add"])
        elif key == "company":
            company = _chosen_company(plan, value, companies)
            contact.company_id = company.id if company else contact.company_id
        elif key != "comment":
            setattr(contact, key, value)
    if "birthday" in changes:
        contact.birthday_md = contact.birthday.strftime("%m-%d") if contact.birthday else None
    name = company.name if company else (contact.company.name if contact.company else None)
    contact.search_text = build_search_text(contact, name)
    contact.updated_at = now
    comment = changes.get("comment")
    return str(comment) if comment else None
