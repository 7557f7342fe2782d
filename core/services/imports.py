"""Contacts import: dry run first, then apply in batches that resume after a crash.

1. Check each row without the database: phones through core.phones, email, name, owner; a
   bad cell rejects its row (the message names the cell), never the file.
2. A row sharing a phone with an earlier row of the file is a duplicate of it.
3. Each batch (a fixed slice of the file's rows) matches phones against the database and,
   by the policy, skips the contact, fills its empty fields or overwrites them.
4. Apply: an ImportJob per file content and policy; each batch commits with the job's
   progress, so a crash loses at most the batch in flight and a rerun continues after the
   last committed one. A finished file applied again changes nothing. Runs of one file
   at once share its job: each batch is written by whichever run takes its lock first (the
   others skip it), and every run reports the job's totals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.imports.dto import CellError, ContactRow, ContactTable
from core.models.contacts import Contact, ContactPhone
from core.models.imports import ImportJob
from core.models.users import User
from core.phones import Phone, normalize
from core.services.common import can_see_contact
from core.services.contacts import _clean_email, _clean_tags
from core.services.import_apply import apply_batch
from core.services.import_plan import Batch, Plan

POLICIES = ("skip", "fill", "overwrite")
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    total: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, what is wrong)
    applied: bool = False
    job_id: int | None = None
    already_done: bool = False

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)


def content_hash(data: bytes) -> str:
    """The job key of a file: the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


async def run_import(
    ctx: Ctx,
    *,
    actor: Actor,
    table: ContactTable,
    file_hash: str,
    policy: str = "skip",
    apply: bool = False,
    filename: str | None = None,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> ImportReport:
    """Dry run (apply=False: counts only, nothing written) or apply an import of contacts."""
    if not actor.sees_all:
        raise PermissionDenied(
            "importing contacts is for managers and admins", code="import-manager-only"
        )
    if policy not in POLICIES:
        raise InvalidInput(f"policy must be one of {', '.join(POLICIES)}", field="policy")
    if batch_size < 1:
        raise InvalidInput("batch size must be positive", field="batch_size")
    report = ImportReport(total=len(table.rows))
    plans = await _check_rows(ctx, table, report)
    job = await _job(ctx, actor, file_hash, policy, filename, table, batch_size) if apply else None
    if job is not None:
        report.applied, report.job_id = True, job.id
        report.already_done = job.status == "done"
        batch_size = job.batch_size  # a rerun resumes the batches as the job cut them
    done_rows = 0
    for index, start in enumerate(range(0, len(table.rows), batch_size)):
        rows = table.rows[start : start + batch_size]
        done_rows += len(rows)
        if job is not None and index < job.batches_done:
            continue
        chosen = [plans[r.row] for r in rows if r.row in plans]
        counts = await _batch(ctx, actor, job, index, chosen, policy)
        if job is None and counts is not None:
            _add_counts(report, counts)
        if progress is not None:
            progress(done_rows, len(table.rows))
    if job is not None:
        # The job's totals, whichever run applied each batch: concurrent applies of one file
        # share its batches (each is written once) and all report the same outcome.
        await _finish(ctx, job)
        _add_counts(report, job.counts)
    report.rejected_rows.sort()
    return report


async def _batch(
    ctx: Ctx, actor: Actor, job: ImportJob | None, index: int, plans: list[Plan], policy: str
) -> dict[str, Any] | None:
    """Match one batch and, when applying, write it; None if another process wrote it."""
    for attempt in range(2):
        batch = await _match(ctx, actor, plans, policy)
        counts: dict[str, Any] = {"new": len(batch.new), "updated": len(batch.updates)}
        counts |= {"duplicate": batch.duplicate, "rejected_rows": batch.rejected}
        if job is None:
            return counts
        try:
            return counts if await apply_batch(ctx, actor, job, index, batch, counts) else None
        except IntegrityError as exc:
            # A phone of this batch went to a contact meanwhile (a call, the bot): the batch
            # is rolled back whole; matched again, it finds that contact.
            await ctx.session.rollback()
            await ctx.session.refresh(job)
            if attempt:
                raise Conflict(
                    f"rows of batch {index + 1} clash with changes made meanwhile; "
                    "run the import again",
                    code="import-clash",
                ) from exc
    return None


def _add_counts(report: ImportReport, counts: dict[str, Any]) -> None:
    report.new += int(counts.get("new", 0))
    report.updated += int(counts.get("updated", 0))
    report.duplicate += int(counts.get("duplicate", 0))
    report.rejected_rows += [(int(r), str(m)) for r, m in counts.get("rejected_rows", [])]


async def _job(
    ctx: Ctx,
    actor: Actor,
    file_hash: str,
    policy: str,
    filename: str | None,
    table: ContactTable,
    batch_size: int,
) -> ImportJob:
    """The job of this file and policy: found, or made by this run (or a concurrent one)."""
    # End the reads first: on SQLite a read transaction cannot turn into a write one once a
    # concurrent run has committed (its snapshot is stale); the INSERT starts a fresh one.
    await ctx.session.commit()
    now = ctx.clock.now()
    values = {
        "kind": "contacts",
        "content_hash": file_hash,
        "policy": policy,
        "filename": (filename or "")[:255] or None,
        "status": "running",
        "total_rows": len(table.rows),
        "batch_size": batch_size,
        "batches_done": 0,
        "counts": {"new": 0, "updated": 0, "duplicate": 0, "rejected_rows": []},
        "actor_user_id": actor.user_id,
        "actor_label": actor.label[:120],
        "created_at": now,
        "updated_at": now,
    }
    # Concurrent runs of one file meet here: the first insert wins, the others find its row.
    insert_fn = pg_insert if ctx.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await ctx.session.execute(
        insert_fn(ImportJob)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "content_hash", "policy"])
    )
    job = await ctx.session.scalar(
        select(ImportJob)
        .where(
            ImportJob.kind == "contacts",
            ImportJob.content_hash == file_hash,
            ImportJob.policy == policy,
        )
        .execution_options(populate_existing=True)
    )
    await ctx.session.commit()
    assert job is not None  # inserted, or found under the unique key
    return job


async def _finish(ctx: Ctx, job: ImportJob) -> None:
    """Every batch is in (by this run or a concurrent one): the job is done, its totals read."""
    await ctx.session.refresh(job)
    if job.status != "done":
        job.status, job.finished_at = "done", ctx.clock.now()
    await ctx.session.commit()


async def _users(ctx: Ctx) -> dict[str, int]:
    keys: dict[str, int] = {}
    for user in await ctx.session.scalars(select(User).where(User.active.is_(True))):
        keys.setdefault(user.name.casefold(), user.id)
        keys[f"#{user.id}"] = keys[str(user.id)] = user.id
        if user.telegram_username:
            keys[f"@{user.telegram_username.casefold()}"] = user.id
    return keys


async def _check_rows(ctx: Ctx, table: ContactTable, report: ImportReport) -> dict[int, Plan]:
    """Plans of the rows that pass the checks (by row number); rejects and duplicates counted."""
    users = await _users(ctx)
    seen: dict[str, int] = {}
    plans: dict[int, Plan] = {}
    for row in table.rows:
        errors = list(row.errors)
        plan = _plan(ctx, table, row, users, errors)
        if errors or plan is None:
            report.rejected_rows.append((row.row, "; ".join(str(e) for e in errors)))
            continue
        first = next((seen[p.e164] for p in plan.phones if p.e164 in seen), None)
        if first is not None:
            report.duplicate += 1
            continue
        for phone in plan.phones:
            assert phone.e164 is not None
            seen[phone.e164] = row.row
        plans[row.row] = plan
    return plans


def _plan(
    ctx: Ctx, table: ContactTable, row: ContactRow, users: dict[str, int], errors: list[CellError]
) -> Plan | None:
    phones: dict[str, Phone] = {}
    for raw, column in row.phones:
        try:
            phone = normalize(raw.lstrip("'"), region=ctx.config.default_region)
        except InvalidInput as exc:
            errors.append(table.error("phone", row.row, exc.message, column))
            continue
        if phone.e164 is None:
            message = f"{raw!r} is an internal extension, not a client's phone"
            errors.append(table.error("phone", row.row, message, column))
            continue
        phones.setdefault(phone.e164, phone)
    email = None
    try:
        email = _clean_email(row.email)
    except InvalidInput as exc:
        errors.append(table.error("email", row.row, exc.message))
    owner_id = None
    if row.owner:
        owner_id = users.get(row.owner.casefold().strip())
        if owner_id is None:
            errors.append(table.error("owner", row.row, f"no active user {row.owner!r}"))
    name = row.name or row.company or next((p.raw for p in phones.values()), "")
    if len(name) > 300:
        errors.append(table.error("name", row.row, "the name is longer than 300 characters"))
    if not name and not errors:
        errors.append(CellError("", "", "no name and no phone"))
    if errors:
        return None
    return Plan(row, name, list(phones.values()), email, owner_id, _clean_tags(row.tags))


async def _match(ctx: Ctx, actor: Actor, plans: Sequence[Plan], policy: str) -> Batch:
    """Decide each plan against the database: new, an update, a duplicate or a conflict."""
    batch = Batch()
    numbers = [p.e164 for plan in plans for p in plan.phones if p.e164]
    owners: dict[str, int] = {}
    if numbers:
        found = await ctx.session.execute(
            select(ContactPhone.e164, ContactPhone.contact_id).where(
                ContactPhone.e164.in_(numbers), ContactPhone.is_live.is_(True)
            )
        )
        owners = dict(found.tuples().all())
    contacts: dict[int, Contact] = {}
    if owners:
        loaded = await ctx.session.scalars(
            select(Contact).where(Contact.id.in_(set(owners.values())))
        )
        contacts = {c.id: c for c in loaded}
    for plan in plans:
        matched = {owners[p.e164] for p in plan.phones if p.e164 in owners}
        if not matched:
            batch.new.append(plan)
            continue
        if len(matched) > 1:
            ids = ", ".join(f"#{i}" for i in sorted(matched))
            batch.rejected.append((plan.row.row, f"the phones belong to different contacts {ids}"))
            continue
        contact = contacts[matched.pop()]
        if policy == "skip" or not can_see_contact(ctx, actor, contact):
            batch.duplicate += 1
        elif changes := changes_for(plan, contact, policy, region=ctx.config.default_region):
            batch.updates.append((plan, contact, changes))
        else:
            batch.duplicate += 1
    return batch


def changes_for(plan: Plan, contact: Contact, policy: str, *, region: str = "RU") -> dict[str, Any]:
    """Field -> new value for a matched contact under `fill` or `overwrite`."""
    row, overwrite = plan.row, policy == "overwrite"
    wanted: dict[str, Any] = {
        "email": plan.email,
        "birthday": row.birthday,
        "owner_id": plan.owner_id,
    }
    if row.name and (overwrite or _named_by_its_number(contact, region)):
        wanted["name"] = plan.name
    changes = {
        key: value
        for key, value in wanted.items()
        if value is not None
        and value != getattr(contact, key)
        and (overwrite or key == "name" or getattr(contact, key) is None)
    }
    live = {p.e164 for p in contact.phones if p.is_live}
    if any(p.e164 not in live for p in plan.phones):
        changes["phones"] = [p for p in plan.phones if p.e164 not in live]
    if set(plan.tags) - set(contact.tags or []):
        changes["tags"] = sorted(set(plan.tags) | set(contact.tags or []))
    if row.company and (overwrite or contact.company_id is None):
        changes["company"] = row.company
    if row.comment:
        changes["comment"] = row.comment
    return changes


def _named_by_its_number(contact: Contact, region: str) -> bool:
    """The contact's name is one of its own phones, in any format: a placeholder, as a
    contact made by a call gets ("+7 916 123-45-67"), that `fill` replaces with a real name."""
    try:
        phone = normalize(contact.name.strip(), region=region)
    except InvalidInput:
        return False
    return phone.e164 is not None and phone.e164 in {p.e164 for p in contact.phones if p.is_live}
