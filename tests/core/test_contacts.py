from __future__ import annotations

import pytest

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, NotFound
from tests.factories import make_actor, make_contact


async def test_same_phone_in_any_format_is_one_key_and_conflicts(ctx: Ctx, system: Actor) -> None:
    first = await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", phones=["8 (916) 123-45-67"]
    )
    with pytest.raises(Conflict) as caught:
        await contacts.create_contact(ctx, actor=system, name="Другой", phones=["+79161234567"])
    assert caught.value.existing_id == first.id
    assert [p.e164 for p in first.phones] == ["+79161234567"]


async def test_search_is_case_insensitive_for_cyrillic_and_finds_phone_parts(
    ctx: Ctx, system: Actor
) -> None:
    ivan = await make_contact(
        ctx, phones=["89161234567"], company_name="ООО Ромашка", email="ivan@romashka.ru"
    )
    await make_contact(ctx, "Мария Сидорова", phones=["+74951112233"])
    for query in (
        "иван",
        "ПЕТРОВ",
        "ромашка",
        "romashka.ru",
        "916 123",
        "8916123",
        "+7 (916) 123-45-67",
    ):
        page = await contacts.search(ctx, actor=system, q=query)
        assert [c.id for c in page.items] == [ivan.id], query
    assert (await contacts.search(ctx, actor=system, q="сидорова петров")).total == 0


async def test_sales_sees_own_and_unowned_only(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", tg=1)
    boris = await make_actor(ctx, "Борис", tg=2)
    mine = await contacts.create_contact(
        ctx, actor=anna, name="Клиент Анны", phones=["89160000001"]
    )
    unowned = await contacts.create_contact(ctx, actor=system, name="Ничей", phones=["89160000002"])
    page = await contacts.search(ctx, actor=boris, q=None)
    assert [c.id for c in page.items] == [unowned.id]
    with pytest.raises(NotFound):
        await contacts.get_contact(ctx, actor=boris, contact_id=mine.id)
    # Invisible, but the phone is still taken: the conflict names the owner contact.
    with pytest.raises(Conflict) as caught:
        await contacts.create_contact(ctx, actor=boris, name="X", phones=["+79160000001"])
    assert caught.value.existing_id == mine.id


async def test_soft_delete_frees_the_phone_and_hides_the_contact(ctx: Ctx, system: Actor) -> None:
    old = await contacts.create_contact(ctx, actor=system, name="Старый", phones=["89161111111"])
    await contacts.delete_contact(ctx, actor=system, contact_id=old.id)
    with pytest.raises(NotFound):
        await contacts.get_contact(ctx, actor=system, contact_id=old.id)
    new = await contacts.create_contact(ctx, actor=system, name="Новый", phones=["89161111111"])
    owner = await contacts.lookup_phone(ctx, phone="+7 916 111-11-11")
    assert owner is not None and owner.contact_id == new.id


async def test_merge_into_itself_is_rejected(ctx: Ctx, system: Actor) -> None:
    c = await contacts.create_contact(ctx, actor=system, name="Один", phones=[])
    with pytest.raises(InvalidInput):
        await contacts.merge_contacts(ctx, actor=system, source_id=c.id, target_id=c.id)


async def test_merge_moves_phones_and_fills_gaps(ctx: Ctx, system: Actor) -> None:
    a = await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89160000011"])
    b = await contacts.create_contact(
        ctx, actor=system, name="Иван П.", phones=["89160000012"], email="i@x.ru", tags=["vip"]
    )
    merged = await contacts.merge_contacts(ctx, actor=system, source_id=b.id, target_id=a.id)
    assert sorted(p.e164 for p in merged.phones if p.is_live) == ["+79160000011", "+79160000012"]
    assert merged.email == "i@x.ru" and merged.tags == ["vip"]
    found = await contacts.lookup_phone(ctx, phone="89160000012")
    assert found is not None and found.contact_id == a.id
    with pytest.raises(NotFound):
        await contacts.get_contact(ctx, actor=system, contact_id=b.id)


async def test_invalid_phone_names_the_field(ctx: Ctx, system: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        await contacts.create_contact(ctx, actor=system, name="X", phones=["12"])
    assert caught.value.field == "phones[0]"
