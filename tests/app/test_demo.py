"""Demo data: requested counts, valid unique phones, search text, repeatable seeding.

Uses the shared `engine` fixture: a migrated SQLite file, or the PostgreSQL database from
`PEREZVON_TEST_DATABASE_URL` when that is set.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.demo.seed import SeedReport, _PhoneSpace, seed
from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Company, Contact, ContactPhone
from core.db import create_engine
from core.deals.models import Deal, PipelineStage
from core.migrate import upgrade
from core.phones import normalize
from core.users.models import User, UserExtension

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
N = 300


async def _count(engine: AsyncEngine, model: type[object]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def _check_integrity(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        phones = (
            await conn.execute(
                select(
                    ContactPhone.contact_id,
                    ContactPhone.e164,
                    ContactPhone.raw,
                    ContactPhone.last10,
                    ContactPhone.is_live,
                ).order_by(ContactPhone.id)
            )
        ).all()
        live = [p.e164 for p in phones if p.is_live]
        assert len(live) == len(set(live)), "live phones must be unique"
        by_contact: dict[int, list[str]] = {}
        for p in phones:
            assert p.e164.startswith(("+79", "+73", "+74", "+78")), p.e164
            assert len(p.e164) == 12
            assert normalize(p.raw).e164 == p.e164, p.raw
            assert p.last10 == p.e164[-10:]
            by_contact.setdefault(p.contact_id, []).append(p.e164)

        contacts = (
            await conn.execute(
                select(
                    Contact.id,
                    Contact.name,
                    Contact.email,
                    Contact.birthday,
                    Contact.birthday_md,
                    Contact.search_text,
                    Company.name.label("company"),
                )
                .outerjoin(Company, Company.id == Contact.company_id)
                .order_by(Contact.id)
            )
        ).all()
        for c in contacts:
            expected = " ".join(
                [
                    c.name,
                    c.company or "",
                    c.email or "",
                    *(e.lstrip("+") for e in by_contact[c.id]),
                ]
            ).casefold()
            assert c.search_text == expected
            if c.birthday is None:
                assert c.birthday_md is None
            else:
                assert c.birthday_md == c.birthday.strftime("%m-%d")

        # The partial unique index: at most one planned callback per number.
        open_callbacks = (
            await conn.execute(
                select(Activity.callback_phone, func.count())
                .where(Activity.kind == "callback", Activity.status == "planned")
                .group_by(Activity.callback_phone)
                .having(func.count() > 1)
            )
        ).all()
        assert open_callbacks == []

        stages = set((await conn.execute(select(PipelineStage.code))).scalars())
        deal_stages = set((await conn.execute(select(Deal.stage).distinct())).scalars())
        assert deal_stages <= stages

        times = (await conn.execute(select(Call.started_at).limit(50))).scalars().all()
        assert all(t.tzinfo is not None and t <= NOW for t in times)

        # Nothing happened with a contact before it was created.
        early_calls = await conn.scalar(
            select(func.count())
            .select_from(Call)
            .join(Contact, Contact.id == Call.contact_id)
            .where(Call.started_at < Contact.created_at)
        )
        assert early_calls == 0
        on_duty = await conn.scalar(select(func.count()).select_from(User).where(User.on_duty))
        assert on_duty == 1

        extensions = (await conn.execute(select(UserExtension.extension))).scalars().all()
        assert len(extensions) == len(set(extensions))


async def test_seed_counts_and_integrity(engine: AsyncEngine) -> None:
    seen: list[int] = []
    report = await seed(engine, contacts=N, users=8, seed=7, progress=seen.append, now=NOW)

    assert isinstance(report, SeedReport)
    assert report.contacts == N
    assert report.users == 8
    assert seen[-1] == N
    assert await _count(engine, Contact) == N
    assert await _count(engine, User) == 8
    assert await _count(engine, ContactPhone) == report.phones
    assert N <= report.phones <= 2 * N
    assert await _count(engine, Call) == report.calls > 0
    assert await _count(engine, Activity) == report.activities > 0
    assert await _count(engine, Deal) == report.deals > 0
    assert report.companies > 0
    assert report.notes > 0

    async with engine.connect() as conn:
        roles = (await conn.execute(select(User.role))).scalars().all()
        assert sorted(roles).count("sales") == 6
        assert "admin" in roles
        assert "manager" in roles
        exts = sorted(
            int(e) for e in (await conn.execute(select(UserExtension.extension))).scalars()
        )
        assert exts[0] == 101
        unowned = await conn.scalar(
            select(func.count()).select_from(Contact).where(Contact.owner_id.is_(None))
        )
        assert 0 < (unowned or 0) < N * 0.25
        with_birthday = await conn.scalar(
            select(func.count()).select_from(Contact).where(Contact.birthday.is_not(None))
        )
        assert N * 0.25 < (with_birthday or 0) < N * 0.55

    await _check_integrity(engine)


async def test_seed_twice_adds_without_conflicts(engine: AsyncEngine) -> None:
    first = await seed(engine, contacts=N, users=4, seed=1, now=NOW)
    # Same seed again: must not reuse numbers, ids or extensions.
    second = await seed(engine, contacts=N, users=4, seed=1, now=NOW)

    assert await _count(engine, Contact) == 2 * N
    assert await _count(engine, User) == 8
    assert await _count(engine, ContactPhone) == first.phones + second.phones
    assert set(first.user_ids).isdisjoint(second.user_ids)
    await _check_integrity(engine)

    if engine.dialect.name == "postgresql":
        # Sequences moved past the explicit ids: a normal insert still works.
        async with engine.begin() as conn:
            new_id = await conn.scalar(
                text(
                    "INSERT INTO users (name, role, timezone, locale, active, on_duty, created_at)"
                    " VALUES ('x', 'sales', 'Europe/Moscow', 'ru', true, false, now()) RETURNING id"
                )
            )
            assert new_id is not None
            assert new_id > max(second.user_ids)


async def test_same_seed_same_data(tmp_path: Path) -> None:
    names: list[list[str]] = []
    for n in range(2):
        url = f"sqlite+aiosqlite:///{tmp_path / f'd{n}.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        try:
            await seed(engine, contacts=50, seed=3, now=NOW)
            async with engine.connect() as conn:
                names.append(
                    list(
                        (
                            await conn.execute(select(Contact.search_text).order_by(Contact.id))
                        ).scalars()
                    )
                )
        finally:
            await engine.dispose()
    assert names[0] == names[1]


async def test_empty_seed_and_bad_arguments(engine: AsyncEngine) -> None:
    report = await seed(engine, contacts=0, users=1, now=NOW)
    assert report.contacts == 0
    assert report.users == 1
    assert report.companies == 0
    with pytest.raises(ValueError, match="users"):
        await seed(engine, contacts=1, users=0)


async def test_seed_skips_numbers_other_data_holds(engine: AsyncEngine) -> None:
    # A contact entered by hand owns the very number this seed would hand out first.
    code, sub = _PhoneSpace(5, 1).take()
    taken = f"+7{code}{sub:07d}"
    async with engine.begin() as conn:
        await conn.execute(
            insert(Contact),
            [
                {
                    "id": 1,
                    "name": "Клиент",
                    "search_text": f"клиент   {taken[1:]}",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        await conn.execute(
            insert(ContactPhone),
            [{"id": 1, "contact_id": 1, "e164": taken, "last10": taken[-10:], "raw": taken}],
        )
    report = await seed(engine, contacts=20, seed=5, now=NOW)
    assert await _count(engine, ContactPhone) == report.phones + 1
    await _check_integrity(engine)
