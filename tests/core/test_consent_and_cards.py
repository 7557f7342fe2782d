"""Client opt-in (token, consent with its time, /stop) and the contact card summary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FakeClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.errors import Conflict, NotFound
from core.events import CallEvent
from core.services import activities, calls, cards, consent, contacts, deals, notes, users


async def people(ctx: Ctx) -> tuple[Actor, Actor]:
    system = Actor.system("t")
    one = await users.create_user(ctx, actor=system, name="Пётр", role="sales", telegram_user_id=1)
    two = await users.create_user(ctx, actor=system, name="Лев", role="sales", telegram_user_id=2)
    return Actor.of_user(one), Actor.of_user(two)


async def test_consent_is_recorded_once_with_its_time_and_revoked_by_stop(
    ctx: Ctx, clock: FakeClock
) -> None:
    seller, _ = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна", phones=["+79161234567"])
    token = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    assert token == await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    assert len("c_" + token) <= 64

    accepted = await consent.accept(ctx, token=token, chat_id=4242)
    assert (accepted.telegram_chat_id, accepted.marketing_consent) == (4242, True)
    assert accepted.consent_at == clock.now()
    clock.advance(hours=1)
    again = await consent.accept(ctx, token=token, chat_id=4242)
    assert again.consent_at == clock.now() - timedelta(hours=1)
    with pytest.raises(Conflict):
        await consent.accept(ctx, token=token, chat_id=5555)

    assert await consent.revoke(ctx, chat_id=4242) == 1
    assert (contact.marketing_consent, contact.consent_at) == (False, None)
    assert await consent.revoke(ctx, chat_id=4242) == 0


async def test_a_token_is_only_for_those_who_see_the_contact_and_unknown_tokens_fail(
    ctx: Ctx,
) -> None:
    seller, other = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна")
    with pytest.raises(NotFound):
        await consent.invite_token(ctx, actor=other, contact_id=contact.id)
    with pytest.raises(NotFound):
        await consent.accept(ctx, token="nope", chat_id=1)


async def test_the_card_sums_up_owner_last_touch_open_deals_and_next_step(
    ctx: Ctx, clock: FakeClock, config: CoreConfig
) -> None:
    seller, other = await people(ctx)
    contact = await contacts.create_contact(
        ctx, actor=seller, name="Анна", phones=["+79161234567"], company_name="Ромашка"
    )
    empty = await cards.contact_card(ctx, actor=seller, contact_id=contact.id)
    assert (empty.company_name, empty.owner and empty.owner.name) == ("Ромашка", "Пётр")
    assert (empty.last_interaction, empty.open_deals, empty.next_activity) == (None, [], None)

    await notes.add_note(ctx, actor=seller, contact_id=contact.id, text="первая")
    clock.advance(minutes=10)
    await calls.apply_event(
        ctx,
        event=CallEvent(
            provider="t",
            provider_call_id="x",
            kind="ringing",
            occurred_at=clock.now(),
            direction="in",
            client_number="+79161234567",
        ),
    )
    await deals.create(ctx, actor=seller, title="Открытая", contact_id=contact.id)
    await deals.create(
        ctx, actor=seller, title="Проиграна", contact_id=contact.id, stage="lost", lost_reason="-"
    )
    later = await activities.plan(
        ctx,
        actor=seller,
        title="позже",
        contact_id=contact.id,
        due_at=clock.now() + timedelta(days=2),
    )
    sooner = await activities.plan(
        ctx,
        actor=seller,
        title="скоро",
        contact_id=contact.id,
        due_at=clock.now() + timedelta(hours=1),
    )
    card = await cards.contact_card(ctx, actor=seller, contact_id=contact.id)
    assert card.last_interaction == clock.now()
    assert [d.title for d in card.open_deals] == ["Открытая"]
    assert card.next_activity is not None and card.next_activity.id == sooner.id != later.id
    with pytest.raises(NotFound):
        await cards.contact_card(ctx, actor=other, contact_id=contact.id)
