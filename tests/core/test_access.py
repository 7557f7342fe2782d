"""The access matrix: role × VISIBILITY × ownership × object kind, read one and listed.

Every cell is asked twice through the services (a single read and a list), so a service that
builds its own rule instead of asking core.access shows up as a disagreeing cell.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import access
from core.activities import service as activities
from core.calls import service as calls
from core.config import CoreConfig
from core.contacts import cards
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations import manage
from core.deals import service as deals
from core.documents import search as docsearch
from core.documents import service as documents
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import Call, Conversation, User
from core.notes import service as notes
from core.targets import service as targets
from core.users import service as users
from tests.factories import make_conversation
from tests.fakes.clock import FakeClock

ROLES = ("admin", "manager", "sales", "api")
OWNERS = ("mine", "nobody", "colleague")


async def _world(ctx: Ctx, system: Actor) -> dict[str, object]:
    """Me (a salesperson), a colleague, a manager and an admin; one object of each kind for
    each ownership; and calls: mine by extension on a colleague's client, a colleague's.
    Documents: on my client, on the unowned client, on a colleague's deal, and on the
    colleague's client whose call my extension took ("call taken")."""
    me = await users.create_user(ctx, actor=system, name="Я", role="sales", telegram_user_id=1)
    colleague = await users.create_user(
        ctx, actor=system, name="Коллега", role="sales", telegram_user_id=2
    )
    manager = await users.create_user(
        ctx, actor=system, name="Руководитель", role="manager", telegram_user_id=3
    )
    admin = await users.create_user(
        ctx, actor=system, name="Админ", role="admin", telegram_user_id=4
    )
    owner_ids = {"mine": me.id, "nobody": None, "colleague": colleague.id}
    objects: dict[str, dict[str, int]] = {
        "contact": {},
        "deal": {},
        "activity": {},
        "call": {},
        "conversation": {},
        "document": {},
    }
    for index, (label, owner_id) in enumerate(owner_ids.items()):
        contact = await contacts.create_contact(
            ctx, actor=system, name=f"Клиент {label}", phones=[f"+7916000000{index}"]
        )
        contact = await contacts.update_contact(
            ctx, actor=system, contact_id=contact.id, changes={"owner_id": owner_id}
        )
        objects["contact"][label] = contact.id
        conversation = Conversation(
            contact_id=contact.id,
            channel="bot",
            business_connection_id="",
            chat_id=9000 + index,
            created_at=ctx.clock.now(),
            updated_at=ctx.clock.now(),
        )
        ctx.session.add(conversation)
        await ctx.session.flush()
        objects["conversation"][label] = conversation.id
        deal = await deals.create(ctx, actor=system, title=f"Сделка {label}", owner_id=owner_id)
        objects["deal"][label] = deal.id
        activity = await activities.plan(
            ctx,
            actor=system,
            title=f"Задача {label}",
            owner_id=owner_id,
            due_at=ctx.clock.now() + timedelta(days=1),
        )
        objects["activity"][label] = activity.id
    now = ctx.clock.now()
    # A call I took on a colleague's client; a colleague's call on their client; a call on
    # an unowned client that nobody took.
    for label, user_id, contact_label in (
        ("mine", me.id, "colleague"),
        ("colleague", colleague.id, "colleague"),
        ("nobody", None, "nobody"),
    ):
        call = Call(
            provider="test",
            provider_call_id=f"call-{label}",
            direction="in",
            status="answered",
            client_e164="+79160000000",
            user_id=user_id,
            contact_id=objects["contact"][contact_label],
            started_at=now,
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(call)
        await ctx.session.flush()
        objects["call"][label] = call.id
    for label, card in (
        ("mine", {"contact_id": objects["contact"]["mine"]}),
        ("nobody", {"contact_id": objects["contact"]["nobody"]}),
        ("colleague", {"deal_id": objects["deal"]["colleague"]}),
        ("call taken", {"contact_id": objects["contact"]["colleague"]}),
    ):
        document = await documents.add(
            ctx, actor=system, name=f"{label}.txt", source="api", data=label.encode(), **card
        )
        objects["document"][label] = document.document.id
    await ctx.session.commit()
    actors = {
        "admin": Actor.of_user(admin),
        "manager": Actor.of_user(manager),
        "sales": Actor.of_user(me),
        "api": Actor.api_key(1, "shop", scope="read"),
    }
    return {"objects": objects, "actors": actors, "me": me, "colleague": colleague}


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(
        own_numbers=frozenset({"+74950000000"}), documents_dir=str(tmp_path / "documents")
    )


def expected(role: str, visibility: str, kind: str, owner: str) -> bool:
    """The rule as a table: what the policy must answer, written without the policy."""
    if role != "sales" or visibility == "all":
        return True
    if kind == "call":
        # mine: taken by my extension (on a colleague's client); nobody: an unowned client.
        return owner in ("mine", "nobody")
    if kind == "document":
        # call taken: a colleague's client whose call my extension took (CALL_TAKER_DAYS).
        return owner in ("mine", "nobody", "call taken")
    return owner in ("mine", "nobody")


async def _read(ctx: Ctx, actor: Actor, kind: str, object_id: int) -> bool:
    try:
        if kind == "contact":
            await contacts.get_contact(ctx, actor=actor, contact_id=object_id)
        elif kind == "deal":
            await deals.get(ctx, actor=actor, deal_id=object_id)
        elif kind == "activity":
            await activities.get(ctx, actor=actor, activity_id=object_id)
        elif kind == "conversation":
            stored = await ctx.session.get(Conversation, object_id)
            assert stored is not None
            await manage.conversation_of_contact(ctx, actor=actor, contact_id=stored.contact_id)
        elif kind == "document":
            await documents.get_document(ctx, actor=actor, document_id=object_id)
        else:
            await calls.get_call(ctx, actor=actor, call_id=object_id)
    except NotFound:
        return False
    return True


async def _listed(ctx: Ctx, actor: Actor, kind: str) -> set[int]:
    if kind == "contact":
        page = await contacts.search(ctx, actor=actor, limit=100)
        return {c.id for c in page.items}
    if kind == "deal":
        return {d.id for d in (await deals.list_deals(ctx, actor=actor, limit=100)).items}
    if kind == "activity":
        page = await activities.list_activities(ctx, actor=actor, limit=100)
        return {a.id for a in page.items}
    if kind == "conversation":
        query = select(Conversation.id).where(access.conversation_clause(ctx, actor))
        return set(await ctx.session.scalars(query))
    if kind == "document":
        found = await docsearch.search(ctx, actor, docsearch.DocumentQuery(limit=100))
        return {hit.document.id for hit in found.items}
    return {c.id for c in (await calls.list_calls(ctx, actor=actor, limit=100)).items}


@pytest.mark.parametrize("visibility", ["own", "all"])
async def test_every_role_sees_what_the_policy_says_in_reads_and_lists(
    session: AsyncSession, config: CoreConfig, clock: FakeClock, system: Actor, visibility: str
) -> None:
    setup = Ctx(session=session, config=config, clock=clock)
    world = await _world(setup, system)
    seen_as = replace(config, visibility="all" if visibility == "all" else "own")
    ctx = Ctx(session=session, config=seen_as, clock=clock)
    objects: dict[str, dict[str, int]] = world["objects"]  # type: ignore[assignment]
    actors: dict[str, Actor] = world["actors"]  # type: ignore[assignment]
    wrong = []
    for role in ROLES:
        actor = actors[role]
        for kind, by_owner in objects.items():
            listed = await _listed(ctx, actor, kind)
            for owner, object_id in by_owner.items():
                want = expected(role, visibility, kind, owner)
                got_read = await _read(ctx, actor, kind, object_id)
                got_list = object_id in listed
                if (got_read, got_list) != (want, want):
                    wrong.append((role, kind, owner, f"read={got_read} list={got_list}"))
    assert wrong == []


async def test_a_salesperson_cannot_plan_on_a_deal_they_may_not_see(
    ctx: Ctx, system: Actor
) -> None:
    world = await _world(ctx, system)
    objects: dict[str, dict[str, int]] = world["objects"]  # type: ignore[assignment]
    me: Actor = world["actors"]["sales"]  # type: ignore[index]
    with pytest.raises(InvalidInput, match="deal"):
        await activities.plan(
            ctx, actor=me, title="Позвонить", deal_id=objects["deal"]["colleague"]
        )
    planned = await activities.plan(
        ctx, actor=me, title="Позвонить", deal_id=objects["deal"]["mine"]
    )
    assert planned.deal_id == objects["deal"]["mine"]


def test_managing_needs_the_owner_or_a_manager_while_seeing_may_not() -> None:
    sales = Actor(role="sales", user_id=7, label="sales")
    manager = Actor(role="manager", user_id=8, label="manager")
    assert access.may_manage(sales, 7)
    assert not access.may_manage(sales, None)  # an unowned contact: seen, not given away
    assert not access.may_manage(sales, 9)
    assert access.may_manage(manager, 9)
    assert access.may_assign(sales, 7) and access.may_assign(sales, None)
    assert not access.may_assign(sales, 9)


async def test_the_taker_of_a_call_may_work_on_its_client_for_a_week_but_not_edit_it(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    world = await _world(ctx, system)
    objects: dict[str, dict[str, int]] = world["objects"]  # type: ignore[assignment]
    me: Actor = world["actors"]["sales"]  # type: ignore[index]
    theirs = objects["contact"]["colleague"]  # my extension took a call of this client
    with pytest.raises(NotFound):
        await contacts.get_contact(ctx, actor=me, contact_id=theirs)
    card = await cards.contact_card(ctx, actor=me, contact_id=theirs)
    assert card.contact.id == theirs
    note = await notes.add_note(ctx, actor=me, contact_id=theirs, text="Просит счёт")
    assert note.contact_id == theirs
    step = await activities.plan(ctx, actor=me, title="Выслать счёт", contact_id=theirs)
    assert (step.contact_id, step.owner_id) == (theirs, me.user_id)
    with pytest.raises(NotFound):
        await contacts.update_contact(
            ctx, actor=me, contact_id=theirs, changes={"name": "Чужой клиент"}
        )
    document_id = objects["document"]["call taken"]
    await documents.get_document(ctx, actor=me, document_id=document_id)
    listed = await docsearch.search(ctx, me, docsearch.DocumentQuery(limit=100))
    assert document_id in {hit.document.id for hit in listed.items}
    clock.advance(days=access.CALL_TAKER_DAYS, seconds=1)
    with pytest.raises(NotFound):
        await cards.contact_card(ctx, actor=me, contact_id=theirs)
    with pytest.raises(NotFound):
        await documents.get_document(ctx, actor=me, document_id=document_id)
    listed = await docsearch.search(ctx, me, docsearch.DocumentQuery(limit=100))
    assert document_id not in {hit.document.id for hit in listed.items}


@pytest.mark.parametrize("role", ROLES)
async def test_targets_are_set_by_managers_and_read_by_their_salesperson(
    ctx: Ctx, system: Actor, role: str
) -> None:
    world = await _world(ctx, system)
    actor = world["actors"][role]  # type: ignore[index]
    me, colleague = world["me"], world["colleague"]
    assert isinstance(me, User) and isinstance(colleague, User)
    month = date(2026, 12, 1)
    for person in (me, colleague):
        await targets.set_targets(
            ctx, actor=system, user_id=person.id, month=month, values={"calls_out": Decimal(9)}
        )
    listed = {t.user_id for t in await targets.list_targets(ctx, actor=actor, month=month)}
    assert listed == {p.id for p in (me, colleague) if access.may_see_targets(actor, p.id)}
    assert listed == ({me.id} if role == "sales" else {me.id, colleague.id})
    values = {"calls_out": Decimal(10)}
    if access.may_set_targets(actor):
        await targets.set_targets(ctx, actor=actor, user_id=me.id, month=month, values=values)
    else:
        with pytest.raises(PermissionDenied):
            await targets.set_targets(ctx, actor=actor, user_id=me.id, month=month, values=values)
    assert access.may_set_targets(actor) == (role != "sales")


@pytest.mark.parametrize("visibility", ["own", "all"])
async def test_a_business_chat_is_read_as_a_call_is_predicate_and_list_agree(
    ctx: Ctx, system: Actor, visibility: str
) -> None:
    from sqlalchemy import select

    from core.conversations.models import Conversation

    ctx = replace(ctx, config=replace(ctx.config, visibility=visibility))
    seller = await users.create_user(ctx, actor=system, name="П", role="sales", telegram_user_id=11)
    other = await users.create_user(ctx, actor=system, name="К", role="sales", telegram_user_id=12)
    boss = await users.create_user(ctx, actor=system, name="Р", role="manager", telegram_user_id=13)
    client = await contacts.create_contact(ctx, actor=Actor.of_user(other), name="Клиент")
    chat = await make_conversation(
        ctx, client, 77, channel="business", business_connection_id="bc", user_id=seller.id
    )
    await ctx.session.commit()

    for person, expected in ((seller, True), (other, True), (boss, True)):
        actor = Actor.of_user(person)
        listed = await ctx.session.scalars(
            select(Conversation.id).where(access.conversation_clause(ctx, actor))
        )
        assert access.may_see_conversation(ctx, actor, client, chat) is expected
        assert (chat.id in set(listed)) is expected
    stranger = await users.create_user(
        ctx, actor=system, name="Ч", role="sales", telegram_user_id=14
    )
    actor = Actor.of_user(stranger)
    listed = set(
        await ctx.session.scalars(
            select(Conversation.id).where(access.conversation_clause(ctx, actor))
        )
    )
    hidden = visibility == "own"
    assert access.may_see_conversation(ctx, actor, client, chat) is not hidden
    assert (chat.id in listed) is not hidden
