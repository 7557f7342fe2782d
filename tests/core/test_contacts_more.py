"""Contacts and companies beyond the basics: PATCH, visibility, ownership, merge, upsert."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import service as activities
from core.calls import service as calls
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.events import CallEvent
from core.models import Activity, Call, Company, Contact, ContactPhone, Deal, Note
from core.notes import service as notes
from tests.factories import make_actor
from tests.fakes.clock import FakeClock


def with_visibility_all(ctx: Ctx) -> Ctx:
    return Ctx(session=ctx.session, config=CoreConfig(visibility="all"), clock=ctx.clock)


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_update_changes_only_the_given_fields(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    created = await contacts.create_contact(
        ctx,
        actor=system,
        name="Иван Петров",
        phones=["89161234567"],
        email="ivan@romashka.ru",
        tags=["vip"],
        birthday=date(1980, 5, 17),
        company_name="ООО Ромашка",
    )
    clock.advance(minutes=5)
    updated = await contacts.update_contact(
        ctx, actor=system, contact_id=created.id, changes={"email": "i.petrov@romashka.ru"}
    )
    assert updated.email == "i.petrov@romashka.ru"
    assert updated.name == "Иван Петров"
    assert updated.tags == ["vip"]
    assert updated.birthday == date(1980, 5, 17)
    assert updated.company_id == created.company_id
    assert updated.company_id is not None
    company = await contacts.get_company(ctx, company_id=updated.company_id)
    assert company.name == "ООО Ромашка"
    assert [p.e164 for p in updated.phones if p.is_live] == ["+79161234567"]
    assert updated.updated_at == clock.now()
    assert updated.created_at == clock.now() - timedelta(minutes=5)
    cleared = await contacts.update_contact(
        ctx, actor=system, contact_id=created.id, changes={"email": None, "birthday": None}
    )
    assert (cleared.email, cleared.birthday, cleared.birthday_md) == (None, None, None)
    assert cleared.tags == ["vip"]


async def test_update_refuses_unknown_fields_and_bad_values(ctx: Ctx, system: Actor) -> None:
    c = await contacts.create_contact(ctx, actor=system, name="Иван", phones=[])
    with pytest.raises(InvalidInput) as caught:
        await contacts.update_contact(ctx, actor=system, contact_id=c.id, changes={"source": "x"})
    assert caught.value.field == "source"
    with pytest.raises(InvalidInput) as caught:
        await contacts.update_contact(ctx, actor=system, contact_id=c.id, changes={"name": "  "})
    assert caught.value.field == "name"
    with pytest.raises(InvalidInput) as caught:
        await contacts.update_contact(
            ctx, actor=system, contact_id=c.id, changes={"email": "not-an-email"}
        )
    assert caught.value.field == "email"


async def test_replacing_phones_frees_the_old_number_for_another_contact(
    ctx: Ctx, system: Actor
) -> None:
    ivan = await contacts.create_contact(
        ctx, actor=system, name="Иван", phones=["89161234567", "+74951112233"]
    )
    updated = await contacts.update_contact(
        ctx,
        actor=system,
        contact_id=ivan.id,
        changes={"phones": ["8 (495) 111-22-33", "89037654321"]},
    )
    assert sorted(p.e164 for p in updated.phones if p.is_live) == ["+74951112233", "+79037654321"]
    assert await contacts.lookup_phone(ctx, phone="89161234567") is None
    maria = await contacts.create_contact(ctx, actor=system, name="Мария", phones=["+79161234567"])
    owner = await contacts.lookup_phone(ctx, phone="8 916 123-45-67")
    assert owner is not None
    assert owner.contact_id == maria.id
    # The number kept in a new format is the same row, still live and still Ivan's.
    kept = await contacts.lookup_phone(ctx, phone="+74951112233")
    assert kept is not None
    assert kept.contact_id == ivan.id
    assert (await contacts.search(ctx, actor=system, q="916 123")).items == [maria]


async def test_a_phone_of_another_contact_cannot_be_taken_by_update(
    ctx: Ctx, system: Actor
) -> None:
    ivan = await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89161234567"])
    maria = await contacts.create_contact(ctx, actor=system, name="Мария", phones=["89030000001"])
    with pytest.raises(Conflict) as caught:
        await contacts.add_phone(ctx, actor=system, contact_id=maria.id, phone="+7 916 123 45 67")
    assert caught.value.existing_id == ivan.id


async def test_renamed_company_keeps_its_contacts_findable_by_the_new_name(
    ctx: Ctx, system: Actor
) -> None:
    ivan = await contacts.create_contact(
        ctx, actor=system, name="Иван", phones=["89161234567"], company_name="ООО Ромашка"
    )
    maria = await contacts.create_contact(
        ctx, actor=system, name="Мария", phones=["89161234568"], company_name="ооо ромашка"
    )
    assert ivan.company_id == maria.company_id
    assert ivan.company_id is not None
    await contacts.update_company(
        ctx, actor=system, company_id=ivan.company_id, changes={"name": "АО Василёк"}
    )
    found = await contacts.search(ctx, actor=system, q="василёк")
    assert sorted(c.id for c in found.items) == [ivan.id, maria.id]
    assert (await contacts.search(ctx, actor=system, q="ромашка")).total == 0
    # Ivan's phone is still in his search text after the rename.
    assert [c.id for c in (await contacts.search(ctx, actor=system, q="9161234567")).items] == [
        ivan.id
    ]


async def test_a_company_name_is_unique_case_insensitively(ctx: Ctx, system: Actor) -> None:
    first = await contacts.create_company(ctx, actor=system, name="ООО Ромашка")
    with pytest.raises(Conflict) as caught:
        await contacts.create_company(ctx, actor=system, name="ооо  РОМАШКА")
    assert caught.value.existing_id == first.id
    other = await contacts.create_company(ctx, actor=system, name="АО Василёк")
    with pytest.raises(Conflict) as caught:
        await contacts.update_company(
            ctx, actor=system, company_id=other.id, changes={"name": "ООО РОМАШКА"}
        )
    assert caught.value.existing_id == first.id


async def test_visibility_all_lets_sales_see_and_edit_everyones_contacts(
    ctx: Ctx, system: Actor
) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент Анны", phones=[])
    with pytest.raises(NotFound):
        await contacts.get_contact(ctx, actor=boris, contact_id=annas.id)
    open_ctx = with_visibility_all(ctx)
    page = await contacts.search(open_ctx, actor=boris)
    assert [c.id for c in page.items] == [annas.id]
    seen = await contacts.get_contact(open_ctx, actor=boris, contact_id=annas.id)
    assert seen.owner_id == anna.user_id
    edited = await contacts.update_contact(
        open_ctx, actor=boris, contact_id=annas.id, changes={"email": "client@anna.ru"}
    )
    assert edited.email == "client@anna.ru"
    assert edited.owner_id == anna.user_id


async def test_manager_sees_everyones_contacts_under_visibility_own(
    ctx: Ctx, system: Actor
) -> None:
    assert ctx.config.visibility == "own"
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    boss = await make_actor(ctx, "Ольга", "manager", 3)
    a = await contacts.create_contact(ctx, actor=anna, name="Клиент А", phones=[])
    b = await contacts.create_contact(ctx, actor=boris, name="Клиент Б", phones=[])
    page = await contacts.search(ctx, actor=boss)
    assert sorted(c.id for c in page.items) == [a.id, b.id]
    assert page.total == 2
    assert (await contacts.search(ctx, actor=boss, owner_id=boris.user_id)).items == [b]
    assert (await contacts.get_contact(ctx, actor=boss, contact_id=a.id)).id == a.id


async def test_a_manager_can_hand_a_contact_over(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    boss = await make_actor(ctx, "Ольга", "manager", 3)
    c = await contacts.create_contact(ctx, actor=anna, name="Клиент", phones=[])
    moved = await contacts.update_contact(
        ctx, actor=boss, contact_id=c.id, changes={"owner_id": boris.user_id}
    )
    assert moved.owner_id == boris.user_id
    assert (await contacts.search(ctx, actor=anna)).total == 0
    assert (await contacts.search(ctx, actor=boris)).items == [moved]


async def test_a_sales_person_cannot_give_a_contact_to_someone_else(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    with pytest.raises(PermissionDenied):
        await contacts.create_contact(
            ctx, actor=anna, name="Подарок", phones=["89160000001"], owner_id=boris.user_id
        )
    await ctx.session.rollback()
    mine = await contacts.create_contact(ctx, actor=anna, name="Мой", phones=["89160000002"])
    mine_id = mine.id
    with pytest.raises(PermissionDenied):
        await contacts.update_contact(
            ctx,
            actor=anna,
            contact_id=mine_id,
            changes={"name": "Уже не мой", "owner_id": boris.user_id},
        )
    await ctx.session.rollback()
    for open_ctx in (ctx, with_visibility_all(ctx)):
        with pytest.raises(PermissionDenied):
            await contacts.update_contact(
                open_ctx, actor=anna, contact_id=mine_id, changes={"owner_id": boris.user_id}
            )
        await ctx.session.rollback()
    async with sessions() as fresh:
        rows = (await fresh.execute(select(Contact.name, Contact.owner_id))).all()
        assert [tuple(r) for r in rows] == [("Мой", anna.user_id)]


async def test_merge_keeps_every_call_note_activity_and_deal_of_the_source(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    target = await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89160000011"])
    source = await contacts.create_contact(
        ctx, actor=system, name="Иван П.", phones=["89160000012"]
    )
    for call_id in ("c1", "c2"):
        await calls.apply_event(
            ctx,
            event=CallEvent(
                provider="test",
                provider_call_id=call_id,
                kind="ringing",
                occurred_at=clock.now(),
                direction="in",
                client_number="+79160000012",
            ),
        )
        clock.advance(minutes=1)
    await notes.add_note(ctx, actor=system, contact_id=source.id, text="Просил перезвонить")
    await notes.add_note(ctx, actor=system, contact_id=target.id, text="Старый клиент")
    await activities.plan(
        ctx,
        actor=system,
        title="Позвонить",
        contact_id=source.id,
        due_at=clock.now() + timedelta(days=1),
    )
    await deals.create(ctx, actor=system, title="Поставка", contact_id=source.id, amount="100")
    await ctx.session.commit()

    merged = await contacts.merge_contacts(
        ctx, actor=system, source_id=source.id, target_id=target.id
    )
    assert merged.id == target.id
    for model, expected in ((Call, 2), (Note, 2), (Activity, 1), (Deal, 1)):
        owners = (await ctx.session.scalars(select(model.contact_id))).all()  # type: ignore[attr-defined]
        assert owners == [target.id] * expected, model.__name__
    timeline = await notes.timeline(ctx, actor=system, contact_id=target.id, limit=50)
    kinds = sorted(e.kind for e in timeline.entries)
    assert kinds == ["activity", "call", "call", "deal_change", "note", "note"]
    assert timeline.total == 6
    gone = await ctx.session.get(Contact, source.id)
    assert gone is not None
    assert gone.merged_into_id == target.id


async def test_a_sales_person_cannot_merge_someone_elses_contact(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент Анны", phones=[])
    boris_own = await contacts.create_contact(ctx, actor=boris, name="Клиент Бориса", phones=[])
    with pytest.raises(NotFound):
        await contacts.merge_contacts(ctx, actor=boris, source_id=annas.id, target_id=boris_own.id)


async def test_upsert_by_phone_creates_then_updates_the_same_contact(
    ctx: Ctx, system: Actor
) -> None:
    created, was_new = await contacts.upsert_by_phone(
        ctx, actor=system, phone="8 (916) 123-45-67", fields={"name": "Иван", "email": "i@x.ru"}
    )
    assert was_new
    assert created.source == "api"
    assert (created.name, created.email) == ("Иван", "i@x.ru")
    assert [p.e164 for p in created.phones] == ["+79161234567"]
    updated, was_new = await contacts.upsert_by_phone(
        ctx, actor=system, phone="+79161234567", fields={"name": "Иван Петров", "tags": ["shop"]}
    )
    assert not was_new
    assert updated.id == created.id
    assert (updated.name, updated.email, updated.tags) == ("Иван Петров", "i@x.ru", ["shop"])
    assert await count(ctx.session, Contact) == 1


async def test_upsert_by_phone_without_a_name_names_the_contact_by_its_number(
    ctx: Ctx, system: Actor
) -> None:
    created, was_new = await contacts.upsert_by_phone(
        ctx, actor=system, phone="89161234567", fields={}
    )
    assert was_new
    assert created.name == "+79161234567"


async def test_upsert_by_phone_accepts_every_editable_field_when_creating(
    ctx: Ctx, system: Actor
) -> None:
    created, was_new = await contacts.upsert_by_phone(
        ctx,
        actor=system,
        phone="89161234567",
        fields={
            "name": "Иван",
            "company_name": "ООО Ромашка",
            "marketing_consent": True,
            "consent_source": "shop checkout",
            "phones": ["+74951112233"],
        },
    )
    assert was_new
    assert (created.marketing_consent, created.consent_source) == (True, "test:shop checkout")
    assert sorted(p.e164 for p in created.phones) == ["+74951112233", "+79161234567"]
    with pytest.raises(InvalidInput):
        await contacts.upsert_by_phone(ctx, actor=system, phone="89160000000", fields={"x": 1})


async def test_upsert_by_phone_does_not_reveal_a_contact_the_actor_may_not_see(
    ctx: Ctx, system: Actor
) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент", phones=["89161234567"])
    with pytest.raises(Conflict) as caught:
        await contacts.upsert_by_phone(ctx, actor=boris, phone="+79161234567", fields={"name": "X"})
    assert caught.value.existing_id == annas.id
    assert (await contacts.get_contact(ctx, actor=anna, contact_id=annas.id)).name == "Клиент"


async def test_failed_create_leaves_no_contact_and_no_company(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89161234567"])
    with pytest.raises(Conflict):
        await contacts.create_contact(
            ctx,
            actor=system,
            name="Мария",
            phones=["+74951112233", "+7 916 123-45-67"],
            company_name="ООО Новая",
        )
    await ctx.session.rollback()
    async with sessions() as fresh:
        assert await count(fresh, Contact) == 1
        assert await count(fresh, Company) == 0
        assert await count(fresh, ContactPhone) == 1


async def test_failed_update_leaves_the_contact_as_it_was(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89161234567"])
    maria = await contacts.create_contact(ctx, actor=system, name="Мария", phones=["89030000001"])
    maria_id = maria.id
    with pytest.raises(Conflict):
        await contacts.update_contact(
            ctx,
            actor=system,
            contact_id=maria_id,
            changes={
                "name": "Мария Иванова",
                "company_name": "ООО Новая",
                "phones": ["89030000002", "89161234567"],
            },
        )
    await ctx.session.rollback()
    async with sessions() as fresh:
        row = await fresh.get(Contact, maria_id)
        assert row is not None
        assert row.name == "Мария"
        assert row.company_id is None
        assert [(p.e164, p.is_live) for p in row.phones] == [("+79030000001", True)]
        assert await count(fresh, Company) == 0


async def test_deleted_contact_is_gone_from_search_and_only_its_owner_may_delete_it(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await make_actor(ctx, "Анна", "sales", 1)
    boris = await make_actor(ctx, "Борис", "sales", 2)
    unowned = await contacts.create_contact(ctx, actor=system, name="Ничей", phones=[])
    with pytest.raises(PermissionDenied):
        await contacts.delete_contact(ctx, actor=boris, contact_id=unowned.id)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент", phones=[])
    deleted = await contacts.delete_contact(ctx, actor=anna, contact_id=annas.id)
    assert deleted.deleted_at == clock.now()
    assert [c.id for c in (await contacts.search(ctx, actor=system)).items] == [unowned.id]
