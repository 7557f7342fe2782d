"""Notes and the contact timeline: notes, calls, activities and deal changes, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.activities import service as activities
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals import service as deals
from core.errors import InvalidInput, NotFound
from core.models import Activity, Call, DealStageChange, Note
from core.notes import service as notes
from core.users import service as users
from tests.factories import make_call, make_contact, make_deal, make_task
from tests.fakes.clock import FakeClock


async def ring(ctx: Ctx, clock: FakeClock, call_id: str, number: str) -> Call:
    return await make_call(ctx, clock, call_id, direction="in", client_number=number)


async def client(ctx: Ctx, system: Actor, phone: str = "89161234567") -> Contact:
    return await make_contact(ctx, "Иван", actor=system, phones=[phone])


async def test_timeline_is_newest_first_across_notes_calls_activities_and_deal_changes(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    ivan = await client(ctx, system)
    first_note = await notes.add_note(ctx, actor=system, contact_id=ivan.id, text="Первый")
    clock.advance(minutes=1)
    call = await ring(ctx, clock, "c1", "+79161234567")
    assert call.contact_id == ivan.id
    clock.advance(minutes=1)
    task = await make_task(
        ctx, actor=system, title="Отправить КП", contact_id=ivan.id, due_at=clock.now()
    )
    clock.advance(minutes=1)
    deal = await make_deal(ctx, actor=system, contact_id=ivan.id)
    clock.advance(minutes=1)
    second_note = await notes.add_note(ctx, actor=system, contact_id=ivan.id, text="Второй")
    clock.advance(minutes=1)
    await deals.move(ctx, actor=system, deal_id=deal.id, stage="qualified")
    clock.advance(minutes=1)
    await activities.complete(ctx, actor=system, activity_id=task.id, result="Отправил")

    page = await notes.timeline(ctx, actor=system, contact_id=ivan.id)
    got = [(e.kind, e.item.id) for e in page.entries]
    history = await deals.history(ctx, actor=system, deal_id=deal.id)
    assert got == [
        ("activity", task.id),  # done last, so it is the newest
        ("deal_change", history[1].id),
        ("note", second_note.id),
        ("deal_change", history[0].id),
        ("call", call.id),
        ("note", first_note.id),
    ]
    assert page.total == 6
    assert [e.at for e in page.entries] == sorted((e.at for e in page.entries), reverse=True)
    changes = [e for e in page.entries if e.kind == "deal_change"]
    assert {e.deal_title for e in changes} == {"Поставка"}
    assert isinstance(page.entries[0].item, Activity)
    assert isinstance(page.entries[1].item, DealStageChange)
    assert isinstance(page.entries[2].item, Note)


async def test_timeline_pages_add_up_to_the_whole_history(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    ivan = await client(ctx, system)
    for i in range(4):
        await notes.add_note(ctx, actor=system, contact_id=ivan.id, text=f"Заметка {i}")
        clock.advance(minutes=1)
        await ring(ctx, clock, f"c{i}", "89161234567")
        clock.advance(minutes=1)
    for i in range(3):
        await make_task(ctx, actor=system, title=f"Задача {i}", contact_id=ivan.id)
        clock.advance(minutes=1)
    whole = await notes.timeline(ctx, actor=system, contact_id=ivan.id, limit=100)
    assert whole.total == 11
    assert len(whole.entries) == 11
    pages = [
        await notes.timeline(ctx, actor=system, contact_id=ivan.id, limit=3, offset=offset)
        for offset in range(0, 12, 3)
    ]
    assert [len(p.entries) for p in pages] == [3, 3, 3, 2]
    assert {p.total for p in pages} == {11}
    flat = [(e.kind, e.item.id) for p in pages for e in p.entries]
    assert flat == [(e.kind, e.item.id) for e in whole.entries]
    beyond = await notes.timeline(ctx, actor=system, contact_id=ivan.id, limit=5, offset=20)
    assert beyond.entries == []
    assert beyond.total == 11


async def test_timeline_shows_only_this_contacts_history(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    ivan = await client(ctx, system, "89161234567")
    maria = await client(ctx, system, "89030000001")
    await notes.add_note(ctx, actor=system, contact_id=maria.id, text="Про Марию")
    await ring(ctx, clock, "m1", "89030000001")
    await make_deal(ctx, actor=system, title="Мариина сделка", contact_id=maria.id)
    mine = await notes.add_note(ctx, actor=system, contact_id=ivan.id, text="Про Ивана")
    page = await notes.timeline(ctx, actor=system, contact_id=ivan.id)
    assert [(e.kind, e.item.id) for e in page.entries] == [("note", mine.id)]
    assert page.total == 1


async def test_timeline_and_notes_respect_visibility(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = Actor.of_user(
        await users.create_user(ctx, actor=system, name="Анна", role="sales", telegram_user_id=1)
    )
    boris = Actor.of_user(
        await users.create_user(ctx, actor=system, name="Борис", role="sales", telegram_user_id=2)
    )
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент", phones=[])
    note = await notes.add_note(ctx, actor=anna, contact_id=annas.id, text="Мой клиент")
    assert note.author_id == anna.user_id
    with pytest.raises(NotFound):
        await notes.timeline(ctx, actor=boris, contact_id=annas.id)
    with pytest.raises(NotFound):
        await notes.add_note(ctx, actor=boris, contact_id=annas.id, text="Чужой")


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_001])
async def test_empty_or_huge_note_is_refused(ctx: Ctx, system: Actor, text: str) -> None:
    ivan = await client(ctx, system)
    with pytest.raises(InvalidInput) as caught:
        await notes.add_note(ctx, actor=system, contact_id=ivan.id, text=text)
    assert caught.value.field == "text"


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
async def test_timeline_refuses_bad_paging(
    ctx: Ctx, system: Actor, limit: int, offset: int
) -> None:
    ivan = await client(ctx, system)
    with pytest.raises(InvalidInput):
        await notes.timeline(ctx, actor=system, contact_id=ivan.id, limit=limit, offset=offset)


async def test_note_time_comes_from_the_clock(ctx: Ctx, clock: FakeClock, system: Actor) -> None:
    ivan = await client(ctx, system)
    clock.advance(days=3)
    note = await notes.add_note(ctx, actor=system, contact_id=ivan.id, text="  Перезвонить  ")
    assert note.created_at == clock.now()
    assert note.text == "Перезвонить"
    assert ivan.created_at == clock.now() - timedelta(days=3)
