"""Client conversations in core: who the client is, the timeline, routing, flood, hours."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations import clients, delivery, inbound, outgoing, routing, texts
from core.conversations.clients import IncomingMessage, TelegramPerson
from core.models import ChatMessage, Contact, Conversation, Notification
from core.users import service as users
from tests.fakes.clock import FakeClock

CLIENT = TelegramPerson(user_id=777, first_name="Иван", last_name="Петров", language_code="ru")


async def staff(ctx: Ctx, system: Actor, name: str, tg: int, *, on_duty: bool = False) -> int:
    user = await users.create_user(ctx, actor=system, name=name, role="sales", telegram_user_id=tg)
    if on_duty:
        user.on_duty = True
        await ctx.session.commit()
    return user.id


def text(clock: FakeClock, message_id: int, value: str, **kw: object) -> IncomingMessage:
    return IncomingMessage(
        telegram_message_id=message_id,
        sent_at=clock.now(),
        text=value,
        **kw,  # type: ignore[arg-type]
    )


def contact_card(clock: FakeClock, message_id: int, phone: str, *, user_id: int) -> IncomingMessage:
    """A contact card sent in the chat: `phone`, and the Telegram user it belongs to."""
    return IncomingMessage(
        telegram_message_id=message_id,
        sent_at=clock.now(),
        kind="contact",
        extra={"phone": phone, "user_id": user_id},
    )


async def test_a_new_client_gets_a_contact_from_the_telegram_name_routed_on_duty(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    await staff(ctx, system, "Анна", 5001)
    boris = await staff(ctx, system, "Борис", 5002, on_duty=True)
    outcome = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 1, "Hi"))
    assert outcome.new_conversation and outcome.relayed == 1
    assert outcome.contact.name == "Иван Петров" and outcome.contact.source == "bot"
    assert outcome.contact.owner_id == boris and outcome.contact.telegram_user_id == 777
    relays = list(
        await ctx.session.scalars(select(Notification).where(Notification.kind == "client_relay"))
    )
    assert [(r.user_id, r.chat_id) for r in relays] == [(boris, 5002)]


async def test_a_redelivered_message_is_kept_once_and_relayed_once(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    await staff(ctx, system, "Анна", 5001)
    await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 1, "Hi"))
    again = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 1, "Hi"))
    assert again.ignored == "duplicate" and again.relayed == 0
    kept = (await ctx.session.scalars(select(ChatMessage).order_by(ChatMessage.id))).all()
    assert [(m.direction, m.author_label) for m in kept] == [("in", None), ("out", "welcome")]


async def test_a_new_conversation_is_welcomed_by_the_outbox_before_anything_else(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    await staff(ctx, system, "Анна", 5001)
    english = replace(CLIENT, language_code="en")
    first = await inbound.receive(ctx, person=english, chat_id=777, message=text(clock, 1, "Hi"))
    await inbound.receive(ctx, person=english, chat_id=777, message=text(clock, 2, "Hello?"))
    assert first.new_conversation and first.relayed == 1
    queued = (await ctx.session.scalars(select(Notification).order_by(Notification.id))).all()
    assert [(n.kind, n.chat_id) for n in queued] == [
        ("client_message", 777),  # the welcome, queued before the relay
        ("client_relay", 5001),
        ("client_relay", 5001),
    ]
    welcome = await ctx.session.get(ChatMessage, queued[0].payload["chat_message_id"])
    assert welcome is not None and (welcome.direction, welcome.status) == ("out", "pending")
    assert welcome.author_label == "welcome" and welcome.author_user_id is None
    assert welcome.text == texts.DEFAULTS["en"][texts.WELCOME]
    assert welcome.extra == {"keyboard": "client"}  # the client's reply keyboard comes with it

    # A chat opened by /start was welcomed by the bot's answer there: no second welcome.
    await inbound.start(ctx, person=replace(CLIENT, user_id=778), chat_id=778)
    await inbound.receive(
        ctx, person=replace(CLIENT, user_id=778), chat_id=778, message=text(clock, 1, "Hi")
    )
    assert await ctx.session.scalar(select(Notification).where(Notification.chat_id == 778)) is None


async def test_sharing_an_own_phone_matches_the_existing_contact(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await staff(ctx, system, "Анна", 5001)
    known = await contacts.create_contact(
        ctx, actor=system, name="Иван Петров (ООО Вектор)", phones=["+79161234567"], owner_id=anna
    )
    first = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 1, "Hi"))
    assert first.contact.id != known.id
    shared = contact_card(clock, 2, "8 916 123 45 67", user_id=777)
    outcome = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=shared)
    assert outcome.contact.id == known.id
    conversation = await ctx.session.get(Conversation, outcome.conversation.id)
    assert conversation is not None and conversation.contact_id == known.id
    messages = (await ctx.session.scalars(select(ChatMessage.contact_id))).all()
    assert set(messages) == {known.id}
    placeholder = await ctx.session.get(Contact, first.contact.id)
    assert placeholder is not None and placeholder.merged_into_id == known.id
    again = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 3, "ok"))
    assert again.contact.id == known.id


async def test_someone_elses_contact_card_is_just_a_message(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    await staff(ctx, system, "Анна", 5001)
    known = await contacts.create_contact(ctx, actor=system, name="Other", phones=["+79161234567"])
    card = contact_card(clock, 2, "+79161234567", user_id=999)
    outcome = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=card)
    assert outcome.contact.id != known.id and outcome.relayed == 1


async def test_an_album_is_one_timeline_entry_relayed_once(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    await staff(ctx, system, "Анна", 5001)
    outcomes = []
    for message_id in (10, 11, 12):
        photo = IncomingMessage(
            telegram_message_id=message_id,
            sent_at=clock.now(),
            kind="photo",
            file_id=f"ph{message_id}",
            media_group_id="g1",
            text="look" if message_id == 10 else None,
        )
        outcomes.append(await inbound.receive(ctx, person=CLIENT, chat_id=777, message=photo))
    assert [o.relayed for o in outcomes] == [1, 0, 0]
    entries = (await ctx.session.scalars(select(ChatMessage).order_by(ChatMessage.id))).all()
    assert [(m.direction, m.author_label) for m in entries] == [("in", None), ("out", "welcome")]
    assert [i["file_id"] for i in entries[0].extra["items"]] == ["ph10", "ph11", "ph12"]


async def test_a_flood_is_slowed_with_one_notice_not_relayed(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    ctx = Ctx(
        session=ctx.session, config=replace(ctx.config, client_rate_per_minute=3), clock=clock
    )
    await staff(ctx, system, "Анна", 5001)
    outcomes = [
        await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, i, f"m{i}"))
        for i in range(1, 7)
    ]
    assert [o.relayed for o in outcomes] == [1, 1, 1, 0, 0, 0]
    notices = (
        await ctx.session.scalars(
            select(ChatMessage).where(ChatMessage.author_label == "flood_notice")
        )
    ).all()
    assert len(notices) == 1
    clock.advance(seconds=61)
    later = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 9, "x"))
    assert later.relayed == 1


async def test_round_robin_takes_salespeople_in_turn(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    a = await staff(ctx, system, "A", 5001)
    b = await staff(ctx, system, "B", 5002)
    chosen = [await routing.round_robin(ctx) for _ in range(3)]
    assert chosen == [a, b, a]


async def test_send_to_client_records_pending_and_queues_it_once_per_key(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await staff(ctx, system, "Анна", 5001)
    outcome = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 1, "Hi"))
    sent, again = [  # the same request twice
        await outgoing.send_to_client(
            ctx,
            conversation=outcome.conversation,
            text="Hello",
            author_user_id=anna,
            idempotency_key="k1",
        )
        for _ in range(2)
    ]
    await ctx.session.commit()
    assert again.id == sent.id and sent.status == "pending" and sent.direction == "out"
    queued = (
        await ctx.session.scalars(
            select(Notification)
            .where(Notification.kind == "client_message")
            .order_by(Notification.id)
        )
    ).all()
    welcome = (
        await ctx.session.scalars(select(ChatMessage).where(ChatMessage.author_label == "welcome"))
    ).one()
    assert [(n.chat_id, n.payload["chat_message_id"]) for n in queued] == [
        (777, welcome.id),  # the new client's welcome
        (777, sent.id),  # and the answer, once
    ]
    assert (await clients.find_conversation(ctx, chat_id=777)) is not None


async def test_a_sent_message_whose_telegram_id_its_chat_already_has_is_still_recorded_sent(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    """Telegram never repeats an id in a private chat; if it did, the record must not fail
    (a failing record leaves the whole batch unrecorded and the outbox sends it again)."""
    anna = await staff(ctx, system, "Анна", 5001)
    outcome = await inbound.receive(ctx, person=CLIENT, chat_id=777, message=text(clock, 5, "Hi"))
    answer = await outgoing.send_to_client(
        ctx, conversation=outcome.conversation, text="Hello", author_user_id=anna
    )
    await ctx.session.commit()
    row = await ctx.session.scalar(
        select(Notification).where(
            Notification.kind == "client_message",
            Notification.payload["chat_message_id"].as_integer() == answer.id,
        )
    )
    assert row is not None
    await delivery.record_sent(ctx, sent={row.id: [5]})  # the client's own message is 5
    await ctx.session.commit()
    await ctx.session.refresh(answer)
    assert (answer.status, answer.telegram_message_id) == ("sent", None)
    await delivery.record_sent(ctx, sent={row.id: [6]})  # a second record changes nothing
    await ctx.session.commit()
    assert answer.telegram_message_id is None
