"""Contacts out to a spreadsheet: the live contacts the requester may see, as plain rows."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from core import access
from core.contacts.models import Company, Contact, ContactPhone
from core.context import Actor, Ctx
from core.imports.dto import ContactExportRow
from core.users.models import User

BATCH = 2000


async def export_rows(ctx: Ctx, *, actor: Actor) -> list[ContactExportRow]:
    """Every live contact visible to the actor, oldest first, read in batches."""
    names = dict((await ctx.session.execute(select(User.id, User.name))).tuples().all())
    query = (
        select(Contact.id, Contact.name, Company.name, Contact.email, Contact.birthday)
        .add_columns(Contact.owner_id, Contact.tags, Contact.timezone, Contact.source)
        .add_columns(Contact.created_at, Contact.company_id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.deleted_at.is_(None), access.contact_clause(ctx, actor))
        .order_by(Contact.id)
        .execution_options(yield_per=BATCH)
    )
    rows: list[ContactExportRow] = []
    result = await ctx.session.stream(query)
    async for partition in result.partitions(BATCH):
        phones = await _phones(ctx, [r[0] for r in partition])
        for row in partition:
            cid, name, company, email, birthday, owner, tags, zone, source, created, firm = row
            rows.append(
                ContactExportRow(
                    id=cid,
                    name=name,
                    phones=tuple(phones.get(cid, ())),
                    company=company or "",
                    email=email or "",
                    birthday=birthday,
                    owner=names.get(owner, "") if owner is not None else "",
                    tags=tuple(tags or ()),
                    timezone=zone or "",
                    source=source,
                    created_at=created,
                    company_id=firm,
                )
            )
    return rows


async def reader_zone(ctx: Ctx, *, actor: Actor) -> str:
    """The time zone an export's times are shown in: the user's own, else the team's."""
    if actor.user_id is not None:
        zone = await ctx.session.scalar(select(User.timezone).where(User.id == actor.user_id))
        if zone:
            return str(zone)
    return ctx.config.timezone


async def _phones(ctx: Ctx, contact_ids: list[int]) -> dict[int, list[str]]:
    found = await ctx.session.execute(
        select(ContactPhone.contact_id, ContactPhone.e164, ContactPhone.extension)
        .where(ContactPhone.contact_id.in_(contact_ids), ContactPhone.is_live.is_(True))
        .order_by(ContactPhone.id)
    )
    phones: dict[int, list[str]] = defaultdict(list)
    for cid, e164, extension in found.tuples():
        phones[cid].append(f"{e164} ext. {extension}" if extension else e164)
    return phones
