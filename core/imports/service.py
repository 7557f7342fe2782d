"""Contacts import: dry run first, then apply in batches that resume after a crash.

1. Check each row without the database: phones through core.phones, email, name, owner; a
   bad cell rejects its row (the message names the cell), never the file.
2. A row sharing a phone or an ID with an earlier row of the file is a duplicate of it
   (listed, with that row's number, in `duplicate_rows`).
3. Each batch (a fixed slice of the file's rows) finds each row's contact: by its ID column
   first (an export's rows carry it; an ID that names no contact the actor may see rejects
   the row), else by its phones. A phone of the row that belongs to another contact rejects
   it. The company is the one the company ID column names (an export writes it), else the
   contact's own when the names agree, else the one live company of that name (folded); a
   name shared by several companies rejects the row, never guessed, and so does an ID that
   names no company or a company other than the name cell's when both were edited.
4. By the policy the contact is skipped, filled (empty fields only; phones added) or
   overwritten (the file's non-empty values win; its phones and tags replace the
   contact's). Values are compared normalised: a row that changes nothing is `unchanged`,
   not `updated`, and each update lists its fields in `changes`.
5. Apply: an ImportJob per file content and policy; each batch commits with the job's
   progress, so a crash loses at most the batch in flight and a rerun continues after the
   last committed one. A finished file applied again changes nothing. Runs of one file
   at once share its job: each batch is written by whichever run takes its lock first (the
   others skip it), and every run reports the job's totals.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core import access
from core.contacts.models import Company, Contact, ContactPhone
from core.contacts.service import _clean_email, _clean_tags
from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.imports.apply import apply_batch
from core.imports.dto import SOURCES, CellError, ContactRow, ContactTable
from core.imports.models import ImportJob
from core.imports.plan import Batch, Current, Plan
from core.phones import Phone, normalize
from core.users.models import User

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
    unchanged: int = 0  # matched contacts that already hold every value of their row
    duplicate_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, earlier row)
    # (row, contact ID, fields that change); an applied run lists the batches it wrote.
    changes: list[tuple[int, int, list[str]]] = field(default_factory=list)
    applied: bool = False
    job_id: int | None = None
    already_done: bool = False

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    def listed_rows(self) -> list[tuple[int, str]]:
        """The rows the rejected-rows workbook lists: the rejected ones and, said so, the
        ones skipped as a repeat of an earlier row of the file."""
        repeats = [(row, duplicate_reason(first)) for row, first in self.duplicate_rows]
        return sorted([*self.rejected_rows, *repeats])


def duplicate_reason(first: int) -> str:
    """Why a row repeating an earlier one of the file is skipped."""
    return f"duplicate of row {first} (a phone or the ID repeats)"


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
    report.changes.sort()
    return report


async def _batch(
    ctx: Ctx, actor: Actor, job: ImportJob | None, index: int, plans: list[Plan], policy: str
) -> dict[str, Any] | None:
    """Match one batch and, when applying, write it; None if another process wrote it."""
    for attempt in range(2):
        batch = await _match(ctx, actor, plans, policy)
        counts: dict[str, Any] = {"new": len(batch.new), "updated": len(batch.updates)}
        counts |= {"duplicate": batch.duplicate, "rejected_rows": batch.rejected}
        counts |= {"unchanged": batch.unchanged, "changes": _changed_fields(batch)}
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
    report.unchanged += int(counts.get("unchanged", 0))
    listed = [(int(r), int(c), list(f)) for r, c, f in counts.get("changes", [])]
    report.changes += listed[: max(0, MAX_LISTED_CHANGES - len(report.changes))]


def _changed_fields(batch: Batch) -> list[tuple[int, int, list[str]]]:
    """Row, contact and the fields each update changes (`comment` adds a note: listed too)."""
    return [
        (plan.row.row, contact.id, sorted(_FIELD_NAMES.get(k, k) for k in changes))
        for plan, contact, changes in batch.updates
    ][:MAX_LISTED_CHANGES]


_FIELD_NAMES = {"owner_id": "owner"}
MAX_LISTED_CHANGES = 1000  # the report lists this many updates; `updated` counts them all


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


@dataclass
class _Users:
    """Who an owner cell names: `keys` are sure (#ID, ID, @username, a name only one active
    user has); `named` are all users of a name, with whether each is active, for a name
    that is not sure: a contact already owned by one of them keeps its owner."""

    keys: dict[str, int] = field(default_factory=dict)
    named: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)


async def _users(ctx: Ctx) -> _Users:
    users = _Users()
    for user in await ctx.session.scalars(select(User).order_by(User.id)):
        users.named.setdefault(user.name.casefold().strip(), []).append((user.id, user.active))
        if not user.active:
            continue
        users.keys[f"#{user.id}"] = users.keys[str(user.id)] = user.id
        if user.telegram_username:
            users.keys[f"@{user.telegram_username.casefold()}"] = user.id
    for name, found in users.named.items():
        active = [uid for uid, on in found if on]
        if len(active) == 1 and len(found) == 1:
            users.keys.setdefault(name, active[0])
    return users


async def _check_rows(ctx: Ctx, table: ContactTable, report: ImportReport) -> dict[int, Plan]:
    """Plans of the rows that pass the checks (by row number); rejects and duplicates counted."""
    users = await _users(ctx)
    known = await _known_numbers(ctx, table)
    seen: dict[str, int] = {}
    seen_ids: dict[int, int] = {}
    plans: dict[int, Plan] = {}
    for row in table.rows:
        errors = list(row.errors)
        plan = _plan(ctx, table, row, users, errors, known)
        if errors or plan is None:
            report.rejected_rows.append((row.row, "; ".join(str(e) for e in errors)))
            continue
        first = next((seen[p.e164] for p in plan.phones if p.e164 in seen), None)
        if first is None and plan.contact_id is not None:
            first = seen_ids.get(plan.contact_id)
        if first is not None:
            report.duplicate += 1
            report.duplicate_rows.append((row.row, first))
            continue
        for phone in plan.phones:
            assert phone.e164 is not None
            seen[phone.e164] = row.row
        if plan.contact_id is not None:
            seen_ids[plan.contact_id] = row.row
        plans[row.row] = plan
    return plans


_E164 = re.compile(r"\+[1-9]\d{6,14}")


async def _known_numbers(ctx: Ctx, table: ContactTable) -> frozenset[str]:
    """The file's numbers written as E.164 that a live contact already has: checked when
    stored, they are not parsed again (an export's phones: half the time of a re-import)."""
    written = list({r.lstrip("'") for row in table.rows for r, _ in row.phones})
    candidates = [r for r in written if _E164.fullmatch(r)]
    known: set[str] = set()
    for start in range(0, len(candidates), 1000):
        found = await ctx.session.scalars(
            select(ContactPhone.e164).where(
                ContactPhone.e164.in_(candidates[start : start + 1000]),
                ContactPhone.is_live.is_(True),
            )
        )
        known.update(found)
    return frozenset(known)


def _plan(
    ctx: Ctx,
    table: ContactTable,
    row: ContactRow,
    users: _Users,
    errors: list[CellError],
    known: frozenset[str] = frozenset(),
) -> Plan | None:
    phones: dict[str, Phone] = {}
    for raw, column in row.phones:
        if raw.lstrip("'") in known:
            text = raw.lstrip("'")
            phones.setdefault(text, Phone(e164=text, extension=None, raw=text))
            continue
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
    owner_id: int | None = None
    owner_choices: tuple[tuple[int, bool], ...] = ()
    if row.owner:
        key = row.owner.casefold().strip()
        owner_id = users.keys.get(key)
        if owner_id is None and key in users.named:
            owner_choices = tuple(users.named[key])  # decided against the contact (_match)
        elif owner_id is None:
            errors.append(table.error("owner", row.row, f"no active user {row.owner!r}"))
    zone = row.timezone.strip() or None
    if zone is not None and not _is_zone(zone):
        errors.append(table.error("timezone", row.row, f"{zone!r} is not a time zone"))
    source = row.source.strip() or None
    if source is not None and source not in SOURCES:
        errors.append(table.error("source", row.row, f"{source!r} is not a source"))
    name = row.name or row.company or next((p.raw for p in phones.values()), "")
    if len(name) > 300:
        errors.append(table.error("name", row.row, "the name is longer than 300 characters"))
    if not name and not errors:
        errors.append(CellError("", "", "no name and no phone"))
    if errors:
        return None
    return Plan(
        row,
        name,
        list(phones.values()),
        email,
        owner_id,
        _clean_tags(row.tags),
        contact_id=row.id,
        owner_choices=owner_choices,
        timezone=zone,
        source=source,
    )


@functools.lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    """An IANA time zone name the system knows ("Europe/Moscow")."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def fold_company(name: str) -> str:
    """A company name as companies are matched: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()[:300]


async def _match(ctx: Ctx, actor: Actor, plans: Sequence[Plan], policy: str) -> Batch:
    """Decide each plan against the database: new, an update, unchanged, a duplicate or a
    rejected row (an unknown ID, a phone of another contact, an ambiguous company)."""
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
    wanted = set(owners.values()) | {p.contact_id for p in plans if p.contact_id is not None}
    contacts = await _current(ctx, actor, wanted)
    companies = await _companies_named(ctx, {p.row.company for p in plans})
    by_id = await _companies_by_id(ctx, {p.row.company_id for p in plans if p.row.company_id})
    for plan in plans:
        matched = {owners[p.e164] for p in plan.phones if p.e164 in owners}
        contact: Current | None = None
        problem = None
        if plan.contact_id is not None:
            contact = contacts.get(plan.contact_id)
            if contact is None or not contact.visible:
                problem = f"no contact with ID {plan.contact_id}"
            elif others := matched - {contact.id}:
                taken = next(p.e164 for p in plan.phones if owners.get(p.e164 or "") in others)
                problem = f"the phone {taken} belongs to another contact #{min(others)}"
        elif len(matched) > 1:
            ids = ", ".join(f"#{i}" for i in sorted(matched))
            problem = f"the phones belong to different contacts {ids}"
        elif matched:
            contact = contacts.get(matched.pop())
        if problem is None:
            problem = _pick_owner(plan, contact) or _pick_company(plan, contact, companies, by_id)
        if problem is not None:
            batch.rejected.append((plan.row.row, problem))
        elif contact is None:
            batch.new.append(plan)
        elif policy == "skip" or not contact.visible:
            batch.duplicate += 1
        elif changes := changes_for(plan, contact, policy, region=ctx.config.default_region):
            batch.updates.append((plan, contact, changes))
        else:
            batch.unchanged += 1
    return batch


async def _current(ctx: Ctx, actor: Actor, ids: set[int]) -> dict[int, Current]:
    """The live contacts of these IDs, as plain columns, with their live phones."""
    if not ids:
        return {}
    found = await ctx.session.execute(
        select(Contact.id, Contact.name, Contact.email, Contact.birthday, Contact.owner_id)
        .add_columns(Contact.timezone, Contact.source, Contact.tags, Contact.company_id)
        .add_columns(access.contact_clause(ctx, actor), Company.name_folded)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.id.in_(ids), Contact.deleted_at.is_(None))
    )
    current: dict[int, Current] = {}
    for cid, name, email, day, owner, zone, source, tags, company, v, folded in found.tuples():
        current[cid] = Current(
            cid, name, email, day, owner, zone, source, list(tags or []), company, bool(v)
        )
        current[cid].company_folded = folded
    phones = await ctx.session.execute(
        select(ContactPhone.contact_id, ContactPhone.e164).where(
            ContactPhone.contact_id.in_(current), ContactPhone.is_live.is_(True)
        )
    )
    for cid, e164 in phones.tuples():
        current[cid].phones.add(e164)
    return current


async def _companies_named(ctx: Ctx, names: set[str]) -> dict[str, list[tuple[int, str]]]:
    """Live companies by folded name: (id, name) of each, several for a shared name."""
    folded = {fold_company(n) for n in names if n.strip()}
    found: dict[str, list[tuple[int, str]]] = {}
    if folded:
        rows = await ctx.session.execute(
            select(Company.name_folded, Company.id, Company.name)
            .where(Company.name_folded.in_(folded), Company.deleted_at.is_(None))
            .order_by(Company.id)
        )
        for key, cid, name in rows.tuples():
            found.setdefault(key, []).append((cid, name))
    return found


def _pick_owner(plan: Plan, contact: Current | None) -> str | None:
    """An owner named by a name several users share, or an inactive user's: the contact's
    own owner when it is one of them (nothing changes), else a problem, never a guess."""
    if not plan.owner_choices:
        return None
    ids = [uid for uid, _ in plan.owner_choices]
    if contact is not None and contact.owner_id in ids:
        plan.owner_id = contact.owner_id
        return None
    active = [uid for uid, on in plan.owner_choices if on]
    if len(active) == 1:
        plan.owner_id = active[0]
        return None
    if active:
        listed = ", ".join(f"#{i}" for i in active)
        return f"{len(active)} users are named {plan.row.owner!r} ({listed}): write #ID instead"
    return f"no active user {plan.row.owner!r}"


async def _companies_by_id(ctx: Ctx, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Live companies by ID: (name, folded name) of each."""
    found: dict[int, tuple[str, str]] = {}
    if ids:
        rows = await ctx.session.execute(
            select(Company.id, Company.name, Company.name_folded).where(
                Company.id.in_(ids), Company.deleted_at.is_(None)
            )
        )
        found = {cid: (name, folded) for cid, name, folded in rows.tuples()}
    return found


def _pick_company(
    plan: Plan,
    contact: Current | None,
    companies: dict[str, list[tuple[int, str]]],
    by_id: dict[int, tuple[str, str]],
) -> str | None:
    """Set the plan's company: the one its ID names, unless only the name cell was edited;
    else by name (`_pick_company_named`). A problem, never a guess, when the ID names no
    company or the ID and the name both changed to different companies."""
    row = plan.row
    if row.company_id is None:
        return _pick_company_named(plan, contact, companies)
    if row.company_id not in by_id:
        return f"no company with ID {row.company_id}"
    name, folded = by_id[row.company_id]
    typed = fold_company(row.company)
    kept_id = contact is not None and contact.company_id == row.company_id
    kept_name = contact is not None and typed == contact.company_folded
    if typed and typed != folded and kept_id:
        return _pick_company_named(plan, contact, companies)  # the name cell was edited
    if typed and typed != folded and not kept_name:
        return (
            f"the company ID {row.company_id} is {name!r}, not {row.company!r}: "
            "correct one of the two cells"
        )
    plan.company_id, plan.company_name = row.company_id, name
    return None


def _pick_company_named(
    plan: Plan, contact: Current | None, companies: dict[str, list[tuple[int, str]]]
) -> str | None:
    """Set the plan's company: the contact's own when its name agrees, else the only one of
    that name (None: to be created); a problem when the name is shared, never a guess."""
    if not plan.row.company.strip():
        return None
    candidates = companies.get(fold_company(plan.row.company), [])
    names = dict(candidates)
    ids = list(names)
    if contact is not None and contact.company_id in names:
        plan.company_id = contact.company_id
    elif len(ids) == 1:
        plan.company_id = ids[0]
    elif len(ids) > 1:
        listed = ", ".join(f"#{i}" for i in ids)
        return (
            f"{len(ids)} companies are named {plan.row.company!r} ({listed}): "
            "write the company's ID in its column"
        )
    if plan.company_id is not None:
        plan.company_name = names[plan.company_id]
    return None


def changes_for(plan: Plan, contact: Current, policy: str, *, region: str = "RU") -> dict[str, Any]:
    """Field -> new value for a matched contact under `fill` or `overwrite`; values that
    already hold (compared normalised) are no change. An empty cell never clears a field.
    Phones and tags: `overwrite` makes the file's the contact's (a replaced number replaces,
    a removed tag goes); `fill` only adds the numbers and tags the contact lacks."""
    row, overwrite = plan.row, policy == "overwrite"
    wanted: dict[str, Any] = {
        "email": plan.email,
        "birthday": row.birthday,
        "owner_id": plan.owner_id,
        "timezone": plan.timezone,
        "source": plan.source,
    }
    renamed = row.name and " ".join(contact.name.split()) != plan.name
    if renamed and (overwrite or _named_by_its_number(contact, region)):
        wanted["name"] = plan.name
    changes = {
        key: value
        for key, value in wanted.items()
        if value is not None
        and value != getattr(contact, key)
        and (overwrite or key == "name" or getattr(contact, key) is None)
    }
    live = contact.phones
    added = [p for p in plan.phones if p.e164 not in live]
    dropped = sorted(live - {p.e164 for p in plan.phones}) if overwrite and plan.phones else []
    if added or dropped:
        changes["phones"] = {"add": added, "drop": dropped}
    tags = set(contact.tags or [])
    if overwrite and plan.tags and set(plan.tags) != tags:
        changes["tags"] = sorted(plan.tags)  # a tag taken out of the cell goes
    elif set(plan.tags) - tags:
        changes["tags"] = sorted(set(plan.tags) | tags)
    named = row.company.strip() or plan.company_id is not None
    other_company = plan.company_id is None or plan.company_id != contact.company_id
    if named and (overwrite or contact.company_id is None) and other_company:
        changes["company"] = plan.company_name or row.company
    if row.comment:
        changes["comment"] = row.comment
    return changes


def _named_by_its_number(contact: Current, region: str) -> bool:
    """The contact's name is one of its own phones, in any format: a placeholder, as a
    contact made by a call gets ("+7 916 123-45-67"), that `fill` replaces with a real name."""
    try:
        phone = normalize(contact.name.strip(), region=region)
    except InvalidInput:
        return False
    return phone.e164 is not None and phone.e164 in contact.phones
