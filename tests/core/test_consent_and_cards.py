"""Client opt-in (a link spent once, rotated, expiring; consent with its source and time; a
final /stop) and the contact card summary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.activities import service as activities
from core.calls import service as calls
from core.config import CoreConfig
from core.contacts import cards, consent
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, NotFound
from core.events import CallEvent
from core.notes import service as notes
from core.users import service as users
from tests.fakes.clock import FakeClock


async def people(ctx: Ctx) -> tuple[Actor, Actor]:
    system = Actor.system("t")
    one = await users.create_user(ctx, actor=system, name="Пётр", role="sales", telegram_user_id=1)
    two = await users.create_user(ctx, actor=system, name="Лев", role="sales", telegram_user_id=2)
    return Actor.of_user(one), Actor.of_user(two)


async def test_a_link_is_spent_by_the_chat_that_opens_it_and_stop_is_final(
    ctx: Ctx, clock: FakeClock
) -> None:
    seller, _ = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна", phones=["+79161234567"])
    token = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    assert len("c_" + token) <= 64

    accepted = await consent.accept(ctx, token=token, chat_id=4242)
    assert (accepted.telegram_chat_id, accepted.marketing_consent) == (4242, True)
    assert (accepted.consent_at, accepted.consent_source) == (clock.now(), "telegram")
    assert consent.greets_in_chat(accepted)
    # Spent: neither the client again nor anyone else can use it; the first binding stays.
    for chat in (4242, 5555):
        with pytest.raises(consent.LinkDead):
            await consent.accept(ctx, token=token, chat_id=chat)
    assert await consent.is_subscribed(ctx, chat_id=4242)
    assert not await consent.is_subscribed(ctx, chat_id=5555)

    clock.advance(hours=1)
    assert await consent.revoke(ctx, chat_id=4242) == 1
    await ctx.session.refresh(contact)
    assert (contact.marketing_consent, contact.telegram_chat_id) == (False, None)
    assert (contact.consent_stopped_at, contact.greeting_token) == (clock.now(), None)
    assert not consent.greets_in_chat(contact)
    assert await consent.revoke(ctx, chat_id=4242) == 0
    # Only the client's own action opens it again: a NEW link, opened by them.
    fresh = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    again = await consent.accept(ctx, token=fresh, chat_id=4242)
    assert (again.marketing_consent, again.consent_stopped_at) == (True, None)


async def test_reissuing_rotates_the_link_and_links_expire(
    ctx: Ctx, clock: FakeClock, config: CoreConfig
) -> None:
    seller, _ = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна")
    old = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    new = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    assert old != new
    with pytest.raises(consent.LinkDead):
        await consent.accept(ctx, token=old, chat_id=1)

    clock.advance(days=config.greeting_link_days, seconds=1)
    with pytest.raises(consent.LinkDead):
        await consent.accept(ctx, token=new, chat_id=1)
    newest = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    clock.advance(days=config.greeting_link_days)  # the last moment it lives
    assert (await consent.accept(ctx, token=newest, chat_id=1)).telegram_chat_id == 1


async def test_consent_recorded_elsewhere_needs_its_source_and_never_reopens_a_stop(
    ctx: Ctx, clock: FakeClock
) -> None:
    seller, _ = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна")
    bad: list[tuple[dict[str, object], str]] = [
        ({"marketing_consent": True}, "consent_source"),
        ({"marketing_consent": True, "consent_source": "  "}, "consent_source"),
        ({"consent_source": "shop"}, "consent_source"),
        ({"marketing_consent": False, "consent_at": clock.now()}, "consent_at"),
        (
            {
                "marketing_consent": True,
                "consent_source": "shop",
                "consent_at": clock.now() + timedelta(days=1),
            },
            "consent_at",
        ),
    ]
    for changes, field in bad:
        with pytest.raises(InvalidInput) as refused:
            await contacts.update_contact(ctx, actor=seller, contact_id=contact.id, changes=changes)
        assert refused.value.field == field, changes
        await ctx.session.rollback()

    given = clock.now() - timedelta(days=3)
    key = Actor.api_key(1, "shop", scope="integration")
    changes = {"marketing_consent": True, "consent_source": "shop checkout", "consent_at": given}
    recorded = await contacts.update_contact(ctx, actor=key, contact_id=contact.id, changes=changes)
    assert (recorded.consent_source, recorded.consent_at) == ("api:shop checkout", given)
    assert not consent.greets_in_chat(recorded)  # no chat: the owner greets them
    # Already on: the first record stands (a nightly sync does not rewrite it).
    clock.advance(days=1)
    changes_again = {**changes, "consent_source": "newsletter", "consent_at": clock.now()}
    same = await contacts.update_contact(
        ctx, actor=key, contact_id=contact.id, changes=changes_again
    )
    assert (same.consent_source, same.consent_at) == ("api:shop checkout", given)

    token = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
    await consent.accept(ctx, token=token, chat_id=4242)
    await consent.revoke(ctx, chat_id=4242)
    with pytest.raises(Conflict, match="/stop"):
        await contacts.update_contact(ctx, actor=key, contact_id=contact.id, changes=changes)
    await ctx.session.rollback()
    # Withdrawing is always allowed.
    withdrawn = await contacts.update_contact(
        ctx, actor=key, contact_id=contact.id, changes={"marketing_consent": False}
    )
    assert (withdrawn.marketing_consent, withdrawn.consent_stopped_at) == (False, clock.now())


async def test_merging_keeps_one_consent_and_a_stop_on_either_side_holds(
    ctx: Ctx, clock: FakeClock
) -> None:
    seller, _ = await people(ctx)
    opted = await contacts.create_contact(ctx, actor=seller, name="Анна")
    stopped = await contacts.create_contact(ctx, actor=seller, name="Анна П.")
    for contact, chat in ((opted, 1), (stopped, 2)):
        token = await consent.invite_token(ctx, actor=seller, contact_id=contact.id)
        await consent.accept(ctx, token=token, chat_id=chat)
    clock.advance(minutes=1)
    await consent.revoke(ctx, chat_id=2)
    merged = await contacts.merge_contacts(
        ctx, actor=seller, source_id=stopped.id, target_id=opted.id
    )
    assert (merged.marketing_consent, merged.telegram_chat_id) == (False, None)
    assert merged.consent_stopped_at == clock.now()


async def test_a_token_is_only_for_those_who_see_the_contact_and_unknown_tokens_fail(
    ctx: Ctx,
) -> None:
    seller, other = await people(ctx)
    contact = await contacts.create_contact(ctx, actor=seller, name="Анна")
    with pytest.raises(NotFound):
        await consent.invite_token(ctx, actor=other, contact_id=contact.id)
    for token in ("nope", "", "  "):
        with pytest.raises(consent.LinkDead):
            await consent.accept(ctx, token=token, chat_id=1)


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
    later, sooner = [
        await activities.plan(
            ctx, actor=seller, title=title, contact_id=contact.id, due_at=clock.now() + wait
        )
        for title, wait in (("позже", timedelta(days=2)), ("скоро", timedelta(hours=1)))
    ]
    card = await cards.contact_card(ctx, actor=seller, contact_id=contact.id)
    assert card.last_interaction == clock.now()
    assert [d.title for d in card.open_deals] == ["Открытая"]
    assert card.next_activity is not None and card.next_activity.id == sooner.id != later.id
    with pytest.raises(NotFound):
        await cards.contact_card(ctx, actor=other, contact_id=contact.id)
