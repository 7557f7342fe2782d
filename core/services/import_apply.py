"""Contacts import, the writing half: one batch and the job's progress in one commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.context import Actor, Ctx
from core.models.contacts import Company, Contact
from core.models.imports import ImportJob
from core.models.work import Note
from core.services.common import audit
from core.services.contacts import _default_timezone, _phone_row, build_search_text
from core.services.import_plan import Batch, Plan


async def _companies(ctx: Ctx, actor: Actor, names: set[str]) -> dict[str, Company]:
    """Companies by folded name: found, or created for this batch."""
    folded = {" ".join(n.split()).casefold(): " ".join(n.split()) for n in names if n.strip()}
    if not folded:
        return {}
    found = await ctx.session.scalars(
        select(Company).where(Company.name_folded.in_(folded), Company.deleted_at.is_(None))
    )
    companies = {c.name_folded: c for c in found}
    now = ctx.clock.now()
    for key, name in folded.items():
        if key not in companies:
            companies[key] = Company(
                name=name[:300],
                name_folded=key[:300],
                owner_id=actor.user_id,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(companies[key])
    await ctx.session.flush()
    return companies


async def apply_batch(
    ctx: Ctx,
    actor: Actor,
    job: ImportJob,
    index: int,
    batch: Batch,
    counts: dict[str, Any],
) -> bool:
    """Write one batch and the job's progress in one commit; False if it was already done."""
    locked = await ctx.session.scalar(
        select(ImportJob)
        .where(ImportJob.id == job.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.batches_done > index:
        await ctx.session.rollback()
        return False
    now = ctx.clock.now()
    names = {p.row.company for p in batch.new}
    names |= {str(c["company"]) for _, _, c in batch.updates if "company" in c}
    companies = await _companies(ctx, actor, names)
    notes: list[tuple[Contact, str]] = []
    for plan in batch.new:
        contact = _new_contact(ctx, plan, companies, now)
        ctx.session.add(contact)
        if plan.row.comment:
            notes.append((contact, plan.row.comment))
    for plan, contact, changes in batch.updates:
        comment = _update_contact(plan, contact, changes, companies, now)
        if comment:
            notes.append((contact, comment))
    await ctx.session.flush()
    for contact, text in notes:
        ctx.session.add(
            Note(
                contact_id=contact.id,
                author_id=actor.user_id,
                text=text,
                kind="note",
                created_at=now,
            )
        )
    total = dict(locked.counts)
    for key in ("new", "updated", "duplicate"):
        total[key] = int(total.get(key, 0)) + int(counts[key])
    total["rejected_rows"] = [*total.get("rejected_rows", []), *counts["rejected_rows"]]
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


def _company_of(name: str, companies: dict[str, Company]) -> Company | None:
    return companies.get(" ".join(name.split()).casefold()) if name.strip() else None


def _new_contact(ctx: Ctx, plan: Plan, companies: dict[str, Company], now: datetime) -> Contact:
    row = plan.row
    company = _company_of(row.company, companies)
    contact = Contact(
        name=plan.name,
        company_id=company.id if company else None,
        owner_id=plan.owner_id,
        email=plan.email,
        birthday=row.birthday,
        birthday_md=row.birthday.strftime("%m-%d") if row.birthday else None,
        timezone=_default_timezone(ctx, plan.phones),
        tags=plan.tags,
        source="import",
        created_at=now,
        updated_at=now,
        phones=[_phone_row(p) for p in plan.phones],
    )
    contact.search_text = build_search_text(contact, company.name if company else None)
    return contact


def _update_contact(
    plan: Plan,
    contact: Contact,
    changes: dict[str, Any],
    companies: dict[str, Company],
    now: datetime,
) -> str | None:
    company = None
    for key, value in changes.items():
        if key == "phones":
            contact.phones.extend(_phone_row(p) for p in value)
        elif key == "company":
            company = _company_of(value, companies)
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
