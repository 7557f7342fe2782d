"""Contacts out and back in: an unchanged export changes nothing, an edited one exactly its edits.

Runs on SQLite and, with PEREZVON_TEST_DATABASE_URL, on PostgreSQL (the shared fixtures).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.contacts import export as contact_export
from core.contacts import service as contacts
from core.contacts.models import Company, Contact, ContactPhone
from core.context import Actor, Ctx
from core.imports import service as imports
from core.users.models import User
from exports.contacts_export import contacts_csv, contacts_xlsx
from exports.contacts_import import read_contacts


@dataclass
class _World:
    """The IDs of what _world made."""

    boris: int
    twins: list[int]  # the two companies named "ООО Ромашка"
    made: list[int]  # the contacts, in the order made


async def _world(ctx: Ctx, actor: Actor) -> _World:
    """Two users, two companies sharing a name (as 42 names were shared in the report), and
    contacts with every exported field filled."""
    now = ctx.clock.now()
    anna = User(name="Anna", role="sales", created_at=now)
    boris = User(name="Boris", role="sales", created_at=now)
    twins = [
        Company(name="ООО Ромашка", name_folded="ооо ромашка", created_at=now, updated_at=now)
        for _ in range(2)
    ]
    ctx.session.add_all([anna, boris, *twins])
    await ctx.session.commit()
    made = []
    for i in range(6):
        made.append(
            await contacts.create_contact(
                ctx,
                actor=actor,
                name=f"Клиент  {i}" if i == 0 else f"Клиент {i}",
                phones=[f"+7916000000{i}"] + ([f"+7495000000{i}"] if i % 2 else []),
                company_id=twins[i % 2].id if i < 4 else None,
                company_name="Лютик" if i == 4 else None,
                owner_id=anna.id if i % 3 else None,
                email=f"c{i}@example.com" if i != 5 else None,
                birthday=date(1990, 1, i + 1) if i % 2 == 0 else None,
                timezone="Europe/Moscow" if i != 3 else None,
                tags=["vip", "опт"] if i == 1 else [],
                source="bot" if i == 2 else "manual",
            )
        )
    return _World(boris=boris.id, twins=[c.id for c in twins], made=[c.id for c in made])


async def _export(ctx: Ctx, actor: Actor, fmt: str, locale: str = "ru") -> bytes:
    rows = await contact_export.export_rows(ctx, actor=actor)
    return (
        contacts_xlsx(rows, locale=locale) if fmt == "xlsx" else contacts_csv(rows, locale=locale)
    )


async def _import(
    ctx: Ctx, actor: Actor, data: bytes, name: str, *, policy: str = "overwrite", apply: bool
) -> imports.ImportReport:
    table = read_contacts(data, name)
    assert table.ignored == []  # every column of an export is read (its creation time: read-only)
    return await imports.run_import(
        ctx,
        actor=actor,
        table=table,
        file_hash=imports.content_hash(data),
        policy=policy,
        apply=apply,
    )


async def _state(ctx: Ctx) -> list[tuple[Any, ...]]:
    ctx.session.expire_all()
    found = await ctx.session.scalars(select(Contact).order_by(Contact.id))
    return [
        (
            c.id,
            c.name,
            c.company_id,
            c.owner_id,
            c.email,
            c.birthday,
            c.timezone,
            c.source,
            sorted(c.tags or []),
            sorted(p.e164 for p in c.phones if p.is_live),
        )
        for c in found
    ]


@pytest.mark.parametrize("locale", ["ru", "en"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("policy", ["fill", "overwrite"])
async def test_an_unchanged_export_imports_back_as_zero_changes(
    ctx: Ctx, system: Actor, fmt: str, policy: str, locale: str
) -> None:
    await _world(ctx, system)
    before = await _state(ctx)
    companies = len((await ctx.session.scalars(select(Company))).all())
    data = await _export(ctx, system, fmt, locale)
    for apply in (False, True):
        report = await _import(ctx, system, data, f"contacts.{fmt}", policy=policy, apply=apply)
        assert (report.new, report.updated, report.duplicate, report.rejected) == (0, 0, 0, 0)
        assert report.unchanged == 6
        assert report.changes == []
    assert await _state(ctx) == before  # no contact re-linked to the other "ООО Ромашка"
    assert len((await ctx.session.scalars(select(Company))).all()) == companies


async def test_four_edits_import_back_as_exactly_those_edits(ctx: Ctx, system: Actor) -> None:
    world = await _world(ctx, system)
    made, boris = world.made, world.boris
    before = {row[0]: row for row in await _state(ctx)}
    book = load_workbook(io.BytesIO(await _export(ctx, system, "xlsx")))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) + 1 for name in ("ID", "ФИО", "Телефоны", "Часовой пояс")}
    col["owner"] = header.index("Ответственный") + 1
    rows = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1)}
    sheet.cell(rows[made[0]], col["ФИО"]).value = "Иванов Иван"
    sheet.cell(rows[made[1]], col["Часовой пояс"]).value = "Asia/Yekaterinburg"
    sheet.cell(rows[made[3]], col["Телефоны"]).value = "+79160000003; +74959999999"
    sheet.cell(rows[made[4]], col["owner"]).value = "Boris"
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()

    preview = await _import(ctx, system, data, "edited.xlsx", apply=False)
    expected = [
        (rows[made[0]], made[0], ["name"]),
        (rows[made[1]], made[1], ["timezone"]),
        (rows[made[3]], made[3], ["phones"]),
        (rows[made[4]], made[4], ["owner"]),
    ]
    assert (preview.updated, preview.unchanged, preview.new, preview.rejected) == (4, 2, 0, 0)
    assert preview.changes == expected
    applied = await _import(ctx, system, data, "edited.xlsx", apply=True)
    assert (applied.updated, applied.unchanged) == (4, 2)
    assert applied.changes == expected

    after = {row[0]: row for row in await _state(ctx)}
    assert after[made[0]][1] == "Иванов Иван"
    assert after[made[1]][6] == "Asia/Yekaterinburg"
    assert after[made[3]][9] == ["+74959999999", "+79160000003"]  # replaced, not added
    assert after[made[4]][3] == boris
    edited = {
        made[0]: {1},
        made[1]: {6},
        made[3]: {9},
        made[4]: {3},
    }
    for cid, row in after.items():
        changed = {
            i for i, (old, new) in enumerate(zip(before[cid], row, strict=True)) if old != new
        }
        assert changed == edited.get(cid, set()), cid
    old = await ctx.session.scalar(select(ContactPhone).where(ContactPhone.e164 == "+74950000003"))
    assert old is not None and not old.is_live


def _edit(data: bytes, edits: dict[tuple[int, str], Any]) -> bytes:
    """The exported workbook with cells (contact ID, header) set to new values."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1)}
    for (cid, column), value in edits.items():
        sheet.cell(rows[cid], header.index(column) + 1).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_tags_taken_out_and_a_company_moved_by_its_id_import_as_those_edits(
    ctx: Ctx, system: Actor
) -> None:
    world = await _world(ctx, system)
    made, twins = world.made, world.twins
    before = {row[0]: row for row in await _state(ctx)}
    data = _edit(
        await _export(ctx, system, "xlsx"),
        {
            (made[1], "Теги"): "опт",  # "vip" taken out
            (made[0], "ID компании"): twins[1],  # the other "ООО Ромашка": only the ID tells
            (made[4], "ID компании"): twins[0],  # the name cell still says "Лютик"
            (made[5], "Компания"): "ООО Новая",  # a company the CRM does not have yet
            (made[3], "Компания"): "лютик",  # the ID cell left as it was: the name moves it
        },
    )
    lutik = before[made[4]][2]
    expected = [(2, made[0], ["company"]), (3, made[1], ["tags"]), (5, made[3], ["company"])]
    expected += [(6, made[4], ["company"]), (7, made[5], ["company"])]
    for apply in (False, True):
        report = await _import(ctx, system, data, "edited.xlsx", apply=apply)
        assert (report.updated, report.unchanged, report.new, report.rejected) == (5, 1, 0, 0)
        assert report.changes == expected
    after = {row[0]: row for row in await _state(ctx)}
    assert after[made[1]][8] == ["опт"]
    assert (after[made[0]][2], after[made[4]][2]) == (twins[1], twins[0])
    assert after[made[3]][2] == lutik
    new_company = await ctx.session.scalar(select(Company).where(Company.name == "ООО Новая"))
    assert new_company is not None and after[made[5]][2] == new_company.id
    edited = {made[0]: {2}, made[1]: {8}, made[3]: {2}, made[4]: {2}, made[5]: {2}}
    for cid, row in after.items():
        changed = {
            i for i, (old, new) in enumerate(zip(before[cid], row, strict=True)) if old != new
        }
        assert changed == edited.get(cid, set()), cid
    again = await _import(ctx, system, await _export(ctx, system, "csv"), "again.csv", apply=True)
    assert (again.updated, again.unchanged) == (0, 6)


async def test_fill_adds_tags_and_an_empty_tags_cell_keeps_them(ctx: Ctx, system: Actor) -> None:
    vip = (await _world(ctx, system)).made[1]
    exported = await _export(ctx, system, "xlsx")
    for policy, cell in (("fill", "новый"), ("overwrite", None)):
        data = _edit(exported, {(vip, "Теги"): cell})
        await _import(ctx, system, data, f"{policy}.xlsx", policy=policy, apply=True)
        after = {row[0]: row for row in await _state(ctx)}
        assert after[vip][8] == ["vip", "новый", "опт"]  # added to; an empty cell clears nothing


async def test_a_company_id_of_no_company_or_at_odds_with_an_edited_name_rejects_the_row(
    ctx: Ctx, system: Actor
) -> None:
    world = await _world(ctx, system)
    made, twins = world.made, world.twins
    data = _edit(
        await _export(ctx, system, "xlsx"),
        {
            (made[0], "ID компании"): 999999,
            (made[2], "ID компании"): twins[1],  # the ID and the name both changed
            (made[2], "Компания"): "Лютик",
            (made[3], "ID компании"): "ромашка",
        },
    )
    report = await _import(ctx, system, data, "odd.xlsx", apply=False)
    assert report.rejected_rows == [
        (2, "no company with ID 999999"),
        (
            4,
            f"the company ID {twins[1]} is 'ООО Ромашка', not 'Лютик': "
            "correct one of the two cells",
        ),
        (5, "E5 (ID компании): 'ромашка' is not a company ID"),
    ]
    assert (report.unchanged, report.updated) == (3, 0)


async def test_a_company_name_shared_by_two_companies_is_rejected_not_guessed(
    ctx: Ctx, system: Actor
) -> None:
    world = await _world(ctx, system)
    twins = world.twins
    lone = world.made[4]  # at "Лютик": moving it to a shared name is ambiguous
    header = "ID;ФИО;Телефоны;Компания\r\n"
    body = f"{lone};Клиент 4;+79160000004;ооо  ромашка\r\n;Новый;+79169999999;ООО Ромашка\r\n"
    data = (header + body).encode("utf-8")
    for apply in (False, True):
        report = await _import(ctx, system, data, "moved.csv", apply=apply)
        ids = f"#{twins[0]}, #{twins[1]}"
        problem = f"2 companies are named {{name!r}} ({ids}): write the company's ID in its column"
        assert report.rejected_rows == [
            (2, problem.format(name="ооо  ромашка")),
            (3, problem.format(name="ООО Ромашка")),
        ]
        assert (report.new, report.updated) == (0, 0)
    ctx.session.expire_all()
    assert (await ctx.session.get(Contact, lone)).company_id != twins[0]  # type: ignore[union-attr]
    assert await contacts.find_by_e164(ctx, e164="+79169999999") is None


async def test_an_id_of_no_contact_and_a_phone_of_another_contact_reject_the_row(
    ctx: Ctx, system: Actor
) -> None:
    made = (await _world(ctx, system)).made
    data = (
        "ID;ФИО;Телефоны\r\n"
        f"999999;Призрак;+79161234567\r\n"
        f"{made[0]};Клиент 0;+79160000001\r\n"
        f"{made[2]};Клиент 2;+79160000002\r\n"
        f"{made[2]};Клиент 2 дубль;+79168888888\r\n"
    ).encode()
    report = await _import(ctx, system, data, "ids.csv", apply=False)
    assert report.rejected_rows == [
        (2, "no contact with ID 999999"),
        (3, f"the phone +79160000001 belongs to another contact #{made[1]}"),
    ]
    assert report.duplicate_rows == [(5, 4)]
    assert (report.unchanged, report.duplicate) == (1, 1)


async def test_owners_who_left_or_share_a_name_round_trip_and_are_never_guessed(
    ctx: Ctx, system: Actor
) -> None:
    now = ctx.clock.now()
    gone = User(name="Olga", role="sales", created_at=now)
    twins = [User(name="Ivan", role="sales", created_at=now) for _ in range(2)]
    ctx.session.add_all([gone, *twins])
    await ctx.session.commit()
    ids = [gone.id, twins[0].id, twins[1].id]
    for i, owner in enumerate(ids):
        await contacts.create_contact(
            ctx, actor=system, name=f"К{i}", phones=[f"+7916111000{i}"], owner_id=owner
        )
    gone.active = False  # Olga left; her contacts are still hers
    await ctx.session.commit()
    before = await _state(ctx)
    data = await _export(ctx, system, "csv")
    report = await _import(ctx, system, data, "owners.csv", apply=True)
    assert (report.unchanged, report.updated, report.rejected) == (3, 0, 0)
    assert await _state(ctx) == before  # the second Ivan's contact is still his
    fresh = "ФИО;Телефоны;Ответственный\r\nА;+79162220001;Ivan\r\nБ;+79162220002;Olga\r\n"
    report = await _import(ctx, system, fresh.encode(), "fresh.csv", apply=False)
    assert report.rejected_rows == [
        (2, f"2 users are named 'Ivan' (#{ids[1]}, #{ids[2]}): write #ID instead"),
        (3, "no active user 'Olga'"),
    ]
