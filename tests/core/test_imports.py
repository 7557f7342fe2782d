"""Contacts import: dry run counts, apply, policies, and a crash halfway that resumes cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.contacts import service as contacts
from core.contacts.models import Company, Contact, ContactPhone
from core.context import Actor, Ctx
from core.errors import PermissionDenied
from core.imports import apply as import_apply
from core.imports import service as imports
from core.imports.models import ImportJob
from core.models.audit import AuditLog
from core.notes.models import Note
from core.users.models import User
from exports.contacts_import import read_contacts
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes, xlsx_bytes


async def _anna(ctx: Ctx) -> User:
    user = User(name="Anna", role="sales", created_at=ctx.clock.now())
    ctx.session.add(user)
    await ctx.session.commit()
    return user


async def _run(ctx: Ctx, actor: Actor, data: bytes, **options: Any) -> imports.ImportReport:
    table = read_contacts(data, "clients.csv")
    return await imports.run_import(
        ctx, actor=actor, table=table, file_hash=imports.content_hash(data), **options
    )


async def _count(ctx: Ctx, model: Any) -> int:
    return int(await ctx.session.scalar(select(func.count()).select_from(model)) or 0)


RU_CSV = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="cp1251")


async def test_dry_run_counts_new_duplicate_rejected_and_writes_nothing(
    ctx: Ctx, system: Actor
) -> None:
    await _anna(ctx)
    report = await _run(ctx, system, RU_CSV)
    assert (report.total, report.new, report.updated, report.duplicate) == (5, 2, 0, 1)
    assert report.rejected_rows == [
        (
            5,
            "E5 (Дата рождения): '31.02.1990' is not a date (use DD.MM.YYYY); "
            "B5 (Телефон): '12345' is an internal extension, not a client's phone",
        ),
        (
            6,
            "D6 (Email): 'not-an-email' is not an email address; "
            "F6 (Ответственный): no active user 'Nobody'",
        ),
    ]
    assert not report.applied
    assert await _count(ctx, Contact) == 0
    assert await _count(ctx, ImportJob) == 0


async def test_apply_creates_contacts_with_normalised_phones_company_owner_and_note(
    ctx: Ctx, system: Actor
) -> None:
    anna = await _anna(ctx)
    report = await _run(ctx, system, RU_CSV, apply=True)
    assert (report.new, report.duplicate, report.rejected) == (2, 1, 2)
    ivan = await contacts.find_by_e164(ctx, e164="+79161112233")
    assert ivan is not None
    assert (ivan.name, ivan.owner_id, ivan.email, ivan.source) == (
        "Иванов Иван",
        anna.id,
        "ivan@example.com",
        "import",
    )
    assert ivan.tags == ["vip", "опт"]
    assert ivan.birthday_md == "02-01"
    assert ivan.company is not None and ivan.company.name == "ООО Ромашка"
    note = await ctx.session.scalar(select(Note).where(Note.contact_id == ivan.id))
    assert note is not None and note.text == "звонить после обеда"
    petrov = await contacts.find_by_e164(ctx, e164="+79167778899")
    assert petrov is not None
    assert sorted(p.e164 for p in petrov.phones) == ["+79164445566", "+79167778899"]
    assert await _count(ctx, Contact) == 2


async def test_the_same_file_applied_twice_changes_nothing_the_second_time(
    ctx: Ctx, system: Actor
) -> None:
    await _anna(ctx)
    first = await _run(ctx, system, RU_CSV, apply=True)
    again = await _run(ctx, system, RU_CSV, apply=True)
    assert again.already_done
    assert (again.new, again.duplicate, again.rejected) == (first.new, first.duplicate, 2)
    assert await _count(ctx, Contact) == 2


@pytest.mark.parametrize(
    ("policy", "name", "company", "phones", "counts"),
    [
        ("skip", "Пётр", None, ["+79164445566"], (1, 0, 2)),
        ("fill", "Пётр", "Ромашка", ["+79164445566", "+79167778899"], (1, 1, 1)),
        ("overwrite", "Петров Пётр", "Ромашка", ["+79164445566", "+79167778899"], (1, 1, 1)),
    ],
)
async def test_policy_decides_what_happens_to_a_contact_already_in_the_database(
    ctx: Ctx,
    system: Actor,
    policy: str,
    name: str,
    company: str | None,
    phones: list[str],
    counts: tuple[int, int, int],
) -> None:
    await _anna(ctx)
    existing = await contacts.create_contact(
        ctx, actor=system, name="Пётр", phones=["+7 916 444 55 66"], email="p@x.ru"
    )
    report = await _run(ctx, system, RU_CSV, apply=True, policy=policy)
    assert (report.new, report.updated, report.duplicate) == counts
    ctx.session.expunge_all()
    contact = await contacts.get_contact(ctx, actor=system, contact_id=existing.id)
    assert contact.name == name
    assert (contact.company.name if contact.company else None) == company
    assert sorted(p.e164 for p in contact.phones) == phones
    assert contact.email == "p@x.ru"  # the file has none: never blanked


async def test_salespeople_may_not_import(ctx: Ctx) -> None:
    anna = await _anna(ctx)
    with pytest.raises(PermissionDenied):
        await _run(ctx, Actor.of_user(anna), RU_CSV)


def _big_file() -> bytes:
    rows = []
    for i in range(23):
        phone = f"+7916000{i:04d}" if i % 7 else f"+7916000{max(i - 1, 0):04d}"
        if i in (10, 17):
            phone = "abc"
        rows.append([f"Client {i}", phone, f"Company {i % 3}", "", "", "", "", f"note {i}"])
    rows[0][1] = "+79160000000"
    return xlsx_bytes(HEADER_RU, rows)


async def _snapshot(ctx: Ctx) -> list[tuple[Any, ...]]:
    ctx.session.expire_all()
    rows = await ctx.session.execute(
        select(Contact.name, ContactPhone.e164, Company.name, Note.text, Contact.source)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .outerjoin(Note, Note.contact_id == Contact.id)
        .order_by(Contact.name, ContactPhone.e164)
    )
    return [tuple(r) for r in rows]


async def _wipe(ctx: Ctx) -> None:
    for model in (Note, ContactPhone, Contact, Company, ImportJob, AuditLog):
        await ctx.session.execute(delete(model))
    await ctx.session.commit()


async def test_an_import_killed_halfway_and_rerun_equals_one_clean_run(
    ctx: Ctx, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _big_file()
    clean = await _run(ctx, system, data, apply=True, batch_size=5)
    expected = await _snapshot(ctx)
    assert (clean.new, clean.duplicate, clean.rejected) == (18, 3, 2)
    await _wipe(ctx)

    real = import_apply._new_contact

    def dies_on_row_13(*args: Any) -> dict[str, Any]:
        if args[1].row.row == 13:  # the third batch, halfway through it
            raise KeyboardInterrupt("killed")
        return real(*args)

    monkeypatch.setattr(import_apply, "_new_contact", dies_on_row_13)
    with pytest.raises(KeyboardInterrupt):
        await _run(ctx, system, data, apply=True, batch_size=5)
    await ctx.session.rollback()
    # Two whole batches are in; nothing of the third.
    names = set(await ctx.session.scalars(select(Contact.name)))
    assert names == {f"Client {i}" for i in range(10) if i != 7}
    job = await ctx.session.scalar(select(ImportJob))
    assert job is not None and (job.status, job.batches_done) == ("running", 2)

    monkeypatch.setattr(import_apply, "_new_contact", real)
    resumed = await _run(ctx, system, data, apply=True, batch_size=5)
    assert (resumed.new, resumed.duplicate, resumed.rejected) == (18, 3, 2)
    assert resumed.rejected_rows == clean.rejected_rows
    assert await _snapshot(ctx) == expected


async def test_a_phone_taken_meanwhile_is_matched_again_not_a_crash(
    ctx: Ctx,
    system: Actor,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _anna(ctx)
    real = imports.apply_batch
    calls = 0

    async def a_call_creates_the_contact_first(*args: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:  # between the match and the write, a call creates the contact
            async with sessions() as other:
                await contacts.create_contact(
                    Ctx(session=other, config=ctx.config, clock=ctx.clock),
                    actor=system,
                    name="Caller",
                    phones=["+79161112233"],
                )
        return await real(*args)

    monkeypatch.setattr(imports, "apply_batch", a_call_creates_the_contact_first)
    report = await _run(ctx, system, RU_CSV, apply=True)
    assert calls == 2
    assert (report.new, report.duplicate, report.rejected) == (1, 2, 2)
    caller = await contacts.find_by_e164(ctx, e164="+79161112233")
    assert caller is not None and caller.name == "Caller"
