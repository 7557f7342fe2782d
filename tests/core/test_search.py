"""Contact search behaviour on both databases (FTS5 trigram index on SQLite, pg_trgm on PG)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.db import create_engine, session_factory
from core.drivers.phone_lookup import SessionLookup, create_phone_lookup
from core.migrate import alembic_config, upgrade
from core.models import Contact
from tests.conftest import PG_URL
from tests.factories import make_actor, make_contact, make_user

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="the FTS5 index exists on SQLite only")


async def ids(ctx: Ctx, actor: Actor, q: str | None, **kw: int) -> list[int]:
    return [c.id for c in (await contacts.search(ctx, actor=actor, q=q, **kw)).items]


async def fts_consistent(session: AsyncSession) -> None:
    """SQLite: the external-content index agrees with contacts (raises if it does not)."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.execute(
            text("INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('integrity-check', 1)")
        )


@pytest.fixture
async def ivan(ctx: Ctx) -> Contact:
    """Иван, and Мария beside him for searches that must not find her."""
    ivan, _maria = [
        await make_contact(ctx, name, phones=[phone], company_name=company, email=email)
        for name, phone, company, email in (
            ("Иван Петров", "8 (916) 123-45-67", "ООО Ромашка", "Ivan.Petrov@Romashka.ru"),
            ("Мария Сидорова", "+7 495 111-22-33", "АО Техносила", "maria@tehno.ru"),
        )
    ]
    return ivan


@pytest.mark.parametrize("q", ["иван", "ИВАН", "ИвАн", "петров", "ПЕТРОВ", "Иван Петров"])
async def test_cyrillic_in_any_case(ctx: Ctx, system: Actor, ivan: Contact, q: str) -> None:
    assert await ids(ctx, system, q) == [ivan.id]


@pytest.mark.parametrize(
    "q",
    [
        "916",
        "916 123",
        "123-45-67",
        "4567",
        "9161234567",
        "89161234567",
        "8 (916) 123-45-67",
        "+7 916 123 45 67",
        "+79161234567",
        "7 916 1234567",
    ],
)
async def test_phone_fragments_in_any_format(
    ctx: Ctx, system: Actor, ivan: Contact, q: str
) -> None:
    assert await ids(ctx, system, q) == [ivan.id]


@pytest.mark.parametrize("q", ["romashka", "ROMASHKA.RU", "ivan.petrov@", "petrov@rom", "ромаш"])
async def test_email_and_company_parts(ctx: Ctx, system: Actor, ivan: Contact, q: str) -> None:
    assert await ids(ctx, system, q) == [ivan.id]


async def test_every_token_must_match(ctx: Ctx, system: Actor, ivan: Contact) -> None:
    assert await ids(ctx, system, "иван ромашка") == [ivan.id]
    assert await ids(ctx, system, "ромашка   ИВАН   916") == [ivan.id]
    assert await ids(ctx, system, "иван техносила") == []
    assert (await contacts.search(ctx, actor=system, q="сидорова петров")).total == 0


async def test_short_tokens_fall_back_to_substring_matching(
    ctx: Ctx, system: Actor, ivan: Contact
) -> None:
    # One and two characters are below the trigram index; they still match substrings.
    assert await ids(ctx, system, "ив") == [ivan.id]
    assert await ids(ctx, system, "ИВ ПЕТ") == [ivan.id]
    assert await ids(ctx, system, "ов петров") == [ivan.id]
    assert sorted(await ids(ctx, system, "ов")) == sorted(
        [ivan.id, *(await ids(ctx, system, "сидорова"))]
    )
    assert await ids(ctx, system, "я") == [(await ids(ctx, system, "мария"))[0]]
    assert await ids(ctx, system, "ив сидорова") == []


async def test_special_characters_are_plain_text(ctx: Ctx, system: Actor, ivan: Contact) -> None:
    quoted = await contacts.create_contact(
        ctx, actor=system, name='ООО "Кавычки" 100%_ок', phones=["89031112233"]
    )
    assert await ids(ctx, system, '"кавычки"') == [quoted.id]
    assert await ids(ctx, system, "кавычки") == [quoted.id]
    assert await ids(ctx, system, "100%_ок") == [quoted.id]
    for q in ("%", "_", "%%%", '"', 'a"b', "*", "AND", "OR NOT", "ива*", "(", "^иван", ":"):
        page = await contacts.search(ctx, actor=system, q=q)
        assert ivan.id not in [c.id for c in page.items], q


async def test_soft_deleted_and_merged_away_are_not_found(ctx: Ctx, system: Actor) -> None:
    gone = await contacts.create_contact(ctx, actor=system, name="Удалённый Клиент", phones=[])
    kept = await contacts.create_contact(ctx, actor=system, name="Оставшийся Клиент", phones=[])
    source = await contacts.create_contact(
        ctx, actor=system, name="Дубль Клиент", phones=["89035556677"]
    )
    await contacts.delete_contact(ctx, actor=system, contact_id=gone.id)
    await contacts.merge_contacts(ctx, actor=system, source_id=source.id, target_id=kept.id)
    assert await ids(ctx, system, "клиент") == [kept.id]
    assert await ids(ctx, system, "удалённый") == []
    assert await ids(ctx, system, "дубль") == []
    # The merged-in phone is findable under the target now.
    assert await ids(ctx, system, "903 555") == [kept.id]
    page = await contacts.search(ctx, actor=system, q=None)
    assert page.total == 1
    await fts_consistent(ctx.session)


async def test_visibility_is_respected(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    boss = await make_actor(ctx, "Ольга", "manager", 3)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент Анны", phones=[])
    boriss = await contacts.create_contact(ctx, actor=boris, name="Клиент Бориса", phones=[])
    nobodys = await contacts.create_contact(ctx, actor=system, name="Клиент Ничей", phones=[])
    assert sorted(await ids(ctx, anna, "клиент")) == [annas.id, nobodys.id]
    assert sorted(await ids(ctx, boris, "клиент")) == [boriss.id, nobodys.id]
    assert (await contacts.search(ctx, actor=anna, q="бориса")).total == 0
    assert (await contacts.search(ctx, actor=anna, q="к")).total == 2
    assert sorted(await ids(ctx, boss, "клиент")) == [annas.id, boriss.id, nobodys.id]
    assert await ids(ctx, boss, "клиент", owner_id=boris.user_id or 0) == [boriss.id]
    open_ctx = Ctx(session=ctx.session, config=CoreConfig(visibility="all"), clock=ctx.clock)
    assert len(await ids(open_ctx, anna, "клиент")) == 3


async def make_many(ctx: Ctx, system: Actor, names: list[str]) -> list[Contact]:
    return [
        await contacts.create_contact(
            ctx, actor=system, name=name, phones=[f"8903{n:07d}"], company_name="ООО Общая"
        )
        for n, name in enumerate(names)
    ]


NAMES = ["Яков", "Борис", "Анна", "Борис", "Вера", "Анна", "Глеб", "Борис"]


async def test_pages_are_ordered_by_name_and_stable_below_the_cap(ctx: Ctx, system: Actor) -> None:
    made = await make_many(ctx, system, NAMES)
    expected = [c.id for c in sorted(made, key=lambda c: (c.name, c.id))]
    for q in ("общая", None, "ООО", "903"):
        pages = [
            await contacts.search(ctx, actor=system, q=q, limit=3, offset=o) for o in (0, 3, 6)
        ]
        assert [c.id for p in pages for c in p.items] == expected, q
        assert {(p.total, p.total_capped) for p in pages} == {(len(NAMES), False)}, q
    beyond = await contacts.search(ctx, actor=system, q="общая", limit=3, offset=8)
    assert (beyond.items, beyond.total, beyond.total_capped) == ([], len(NAMES), False)


async def test_total_is_exact_up_to_the_cap(
    ctx: Ctx, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_many(ctx, system, NAMES)
    monkeypatch.setattr(contacts, "SEARCH_TOTAL_CAP", len(NAMES))
    page = await contacts.search(ctx, actor=system, q="общая")
    assert (page.total, page.total_capped) == (len(NAMES), False)
    assert [c.name for c in page.items] == sorted(NAMES)


async def test_total_above_the_cap_is_flagged_and_pages_stay_stable(
    ctx: Ctx, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await make_many(ctx, system, NAMES)
    other = await contacts.create_contact(ctx, actor=system, name="Посторонний", phones=[])
    monkeypatch.setattr(contacts, "SEARCH_TOTAL_CAP", 5)
    newest_first = [c.id for c in reversed(made)]
    for q in ("общая", "ООО об", "903"):
        pages = [
            await contacts.search(ctx, actor=system, q=q, limit=3, offset=o) for o in (0, 3, 6)
        ]
        # Past the cap: newest first (id descending), every match reachable page by page.
        assert [c.id for p in pages for c in p.items] == newest_first, q
        assert {(p.total, p.total_capped) for p in pages} == {(5, True)}, q
    listing = await contacts.search(ctx, actor=system, q=None, limit=20)
    assert (listing.total, listing.total_capped) == (5, True)
    assert [c.id for c in listing.items] == [other.id, *newest_first]
    assert (await contacts.search(ctx, actor=system, q="постор")).total_capped is False


@sqlite_only
async def test_index_follows_updates_merges_deletes_and_company_renames(
    ctx: Ctx, system: Actor, ivan: Contact, session: AsyncSession
) -> None:
    await contacts.update_contact(
        ctx, actor=system, contact_id=ivan.id, changes={"name": "Иоанн Петрович"}
    )
    assert await ids(ctx, system, "иоанн") == [ivan.id]
    assert await ids(ctx, system, "иван") == []
    await contacts.update_contact(
        ctx, actor=system, contact_id=ivan.id, changes={"phones": ["+7 903 765-43-21"]}
    )
    assert await ids(ctx, system, "903 765") == [ivan.id]
    assert await ids(ctx, system, "916 123") == []
    assert ivan.company_id is not None
    await contacts.update_company(
        ctx, actor=system, company_id=ivan.company_id, changes={"name": "ЗАО Василёк"}
    )
    assert await ids(ctx, system, "василёк") == [ivan.id]
    assert await ids(ctx, system, "ромашка") == []
    twin = await contacts.create_contact(
        ctx, actor=system, name="Дубликат", phones=["89169998877"], email="twin@dup.ru"
    )
    await contacts.merge_contacts(ctx, actor=system, source_id=twin.id, target_id=ivan.id)
    assert await ids(ctx, system, "916 999") == [ivan.id]
    assert await ids(ctx, system, "дубликат") == []
    await contacts.delete_contact(ctx, actor=system, contact_id=ivan.id)
    assert await ids(ctx, system, "иоанн") == []
    await fts_consistent(session)
    # Hard deletes and raw SQL updates go through the triggers too.
    maria = (await contacts.search(ctx, actor=system, q="мария")).items[0]
    await session.execute(
        text("UPDATE contacts SET search_text = 'совсем другое' WHERE id = :id"), {"id": maria.id}
    )
    assert await ids(ctx, system, "другое") == [maria.id]
    assert await ids(ctx, system, "мария") == []
    await session.execute(text("DELETE FROM contacts WHERE id = :id"), {"id": ivan.id})
    await fts_consistent(session)
    rows = await session.execute(
        text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH '\"иоанн\"'")
    )
    assert rows.all() == []


@sqlite_only
def test_migration_backfills_existing_rows_and_downgrade_drops_the_index(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0002")

    async def scenario(step: str) -> object:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                ctx = Ctx.of(session)
                system = Actor.system("test")
                if step == "before":
                    # Plain SQL: the ORM model has columns that later migrations add.
                    await session.execute(
                        text(
                            "INSERT INTO contacts (id, name, marketing_consent, source, tags,"
                            " search_text, created_at, updated_at) VALUES (1, 'Старожил Базы',"
                            " 0, 'manual', '[]', 'старожил базы 79160001122',"
                            " '2026-11-26 09:00:00', '2026-11-26 09:00:00')"
                        )
                    )
                    await session.commit()
                    return None
                if step == "tables":
                    found = await session.execute(
                        text("SELECT name FROM sqlite_master WHERE name LIKE 'contacts_fts%'")
                    )
                    return sorted(found.scalars())
                await fts_consistent(session)
                return await ids(ctx, system, "старожил")
        finally:
            await engine.dispose()

    asyncio.run(scenario("before"))
    upgrade(url)  # through 0003 (the backfill) to head, which the ORM model matches
    assert asyncio.run(scenario("search")) == [1]
    command.downgrade(alembic_config(url), "0002")
    assert asyncio.run(scenario("tables")) == []
    upgrade(url)
    assert asyncio.run(scenario("search")) == [1]


# --- phone lookup (one indexed statement) ---------------------------------------------

Lookup = Callable[[str], Awaitable[contacts.PhoneOwner | None]]


@pytest.fixture(params=["session", "dedicated"])
async def lookup(
    request: pytest.FixtureRequest, ctx: Ctx, database_url: str
) -> AsyncIterator[Lookup]:
    """The same question through a session, and as webhooks ask it (core.drivers.phone_lookup)."""
    if request.param == "session":

        async def through_session(phone: str) -> contacts.PhoneOwner | None:
            return await contacts.lookup_phone(ctx, phone=phone)

        yield through_session
        return
    dedicated = create_phone_lookup(database_url, config=ctx.config, sessions=async_sessionmaker())
    assert not isinstance(dedicated, SessionLookup)
    yield dedicated.find
    await dedicated.close()


async def test_lookup_answers_contact_company_and_owner_with_first_extension(
    ctx: Ctx, lookup: Lookup
) -> None:
    user = await make_user(ctx, "Анна", tg=77, extensions=["201", "202"])
    owned = await make_contact(
        ctx,
        "Клиент",
        actor=Actor.of_user(user),
        phones=["+7 916 123-45-67"],
        company_name="ООО Ромашка",
    )
    for raw in ("+79161234567", "79161234567", "8 (916) 123-45-67", "9161234567"):
        found = await lookup(raw)
        assert found == contacts.PhoneOwner(
            contact_id=owned.id,
            contact_name="Клиент",
            company_name="ООО Ромашка",
            owner_id=user.id,
            owner_name="Анна",
            owner_extension="201",
            owner_telegram_id=77,
            e164="+79161234567",
        ), raw
    assert await lookup("+7 931 123-45-67") is None
    assert await lookup("101") is None


async def test_lookup_prefers_the_exact_number_over_the_same_last_ten_digits(
    ctx: Ctx, system: Actor, lookup: Lookup
) -> None:
    russian = await contacts.create_contact(
        ctx, actor=system, name="Москва", phones=["+79162345678"]
    )
    # The same ten digits after another country code (Sacramento, +1 916…).
    american = await contacts.create_contact(
        ctx, actor=system, name="Сакраменто", phones=["+1 916 234 5678"]
    )
    exact = await lookup("8 916 234-56-78")
    assert exact is not None and exact.contact_id == russian.id
    await contacts.delete_contact(ctx, actor=system, contact_id=russian.id)
    # "8 916…" names Russia (trunk prefix 8): it must not reach the American number…
    assert await lookup("8 916 234-56-78") is None
    # …but ten bare digits name no country, and the last-ten-digits fallback finds it.
    fallback = await lookup("916 234-56-78")
    assert fallback is not None and fallback.contact_id == american.id
    assert fallback.e164 == "+19162345678" and fallback.owner_id is None


async def test_a_number_with_another_country_code_does_not_match_by_its_last_digits(
    ctx: Ctx, system: Actor, lookup: Lookup
) -> None:
    ivan = await contacts.create_contact(ctx, actor=system, name="Иван", phones=["+79123456789"])
    assert await lookup("+1 912 345 6789") is None
    assert await lookup("0019123456789") is None
    found = await lookup("912 345-67-89")
    assert found is not None and found.contact_id == ivan.id


def test_the_migration_folds_yo_in_search_texts_stored_before(tmp_path: Path) -> None:
    """Rows stored before «ё» was folded are found by «е» after `db upgrade` (SQLite + FTS)."""
    import sqlite3

    from core.migrate import upgrade

    path = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0008")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO contacts (id, name, marketing_consent, source, tags, search_text,"
            " created_at, updated_at) VALUES (1, 'Фёдорова', 0, 'manual', '[]', 'фёдорова',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as db:
        stored = db.execute("SELECT search_text FROM contacts").fetchone()[0]
        found = db.execute(
            "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH '\"федоров\"'"
        ).fetchall()
    assert (stored, found) == ("федорова", [(1,)])
