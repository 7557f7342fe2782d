"""A client's "stop" is final, through the fake Bot API (issue 15, defect 3; issue 21 §10).

The salesperson's link is spent by the chat that opens it, dies on /stop, on reissue and
after GREETING_LINK_DAYS; a stranger holding an old link is greeted with nobody's name and
gets no greetings; someone who is not on the team is never told to ask for an invite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor
from core.greetings import service as greetings
from core.greetings.service import GreetingOptions
from core.outbox.models import Notification
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.helpers_clients import sending, welcome_of
from tests.bot.updates import texts_of
from tests.conftest import Db

SELLER_TG = 8101
CLIENT_A = 4242  # the client (or whoever first got the link)
CLIENT_B = 5353  # a stranger holding the same link later
NAME = "Ксения Полякова"
seller = employee(SELLER_TG)


@pytest.fixture
async def client_contact(db: Db, seller: User) -> Contact:
    async with db.ctx() as ctx:
        return await contacts.create_contact(
            ctx,
            actor=Actor.of_user(seller),
            name=NAME,
            phones=["+79161234567"],
            birthday=date(1990, 5, 20),
            timezone="Europe/Moscow",
        )


async def invite(tg: Tg, contact: Contact) -> str:
    """The salesperson opens the card and taps "invite the client": the `/start` payload."""
    seller = tg.user(SELLER_TG)
    card = await seller.open_card(contact.id)
    link_text = texts_of(await seller.tap(card, "Пригласить клиента"))[0]
    return link_text.split("start=")[1].split()[0]


async def stored(db: Db, contact_id: int) -> Contact:
    async with db.sessions() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        return contact


async def test_a_stranger_with_the_link_after_a_stop_is_not_subscribed_nor_greeted(
    tg: Tg, client_contact: Contact
) -> None:
    payload = await invite(tg, client_contact)
    first = tg.user(CLIENT_A, first_name="Аня")
    assert "Спасибо" in texts_of(await first.say(f"/start {payload}"))[0]

    stop = texts_of(await first.say("/stop"))
    assert len(stop) == 1 and "отписались" in stop[0] and "новую" in stop[0]
    contact = await stored(tg.db, client_contact.id)
    assert (contact.marketing_consent, contact.telegram_chat_id) == (False, None)
    assert contact.consent_stopped_at == tg.db.clock.now()

    stranger = tg.user(CLIENT_B, first_name="Борис")
    reply = texts_of(await stranger.say(f"/start {payload}"))
    assert reply == ["Эта ссылка больше не действует. Попросите у вашего менеджера новую."]
    assert NAME.split()[0] not in reply[0]
    contact = await stored(tg.db, client_contact.id)
    assert (contact.marketing_consent, contact.telegram_chat_id) == (False, None)

    # The birthday: nothing goes to either chat; the owner is reminded instead.
    tg.db.clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))
    async with tg.db.ctx() as ctx:
        assert await greetings.send_due(ctx, options=GreetingOptions(holidays=())) == 1
        queued = list(await ctx.session.scalars(select(Notification)))
    assert [(n.kind, n.chat_id) for n in queued] == [("greet_today", SELLER_TG)]


async def test_a_link_is_used_once_and_a_new_one_opens_a_stop_again(
    tg: Tg, client_contact: Contact
) -> None:
    payload = await invite(tg, client_contact)
    client = tg.user(CLIENT_A)
    assert "Спасибо" in texts_of(await client.say(f"/start {payload}"))[0]
    # The client taps it again: told they are subscribed; a stranger cannot take it over.
    assert texts_of(await client.say(f"/start {payload}")) == [
        "Вы уже подписаны на наши поздравления. Отписаться: /stop"
    ]
    assert "не действует" in texts_of(await tg.user(CLIENT_B).say(f"/start {payload}"))[0]
    assert (await stored(tg.db, client_contact.id)).telegram_chat_id == CLIENT_A

    await client.say("/stop")
    assert "не действует" in texts_of(await client.say(f"/start {payload}"))[0]
    assert texts_of(await client.say("/stop")) == ["Вы не подписаны."]
    # Only the client's own action through a NEW link subscribes them again.
    fresh = await invite(tg, client_contact)
    assert "Спасибо" in texts_of(await client.say(f"/start {fresh}"))[0]
    contact = await stored(tg.db, client_contact.id)
    assert (contact.marketing_consent, contact.telegram_chat_id) == (True, CLIENT_A)
    assert (contact.consent_source, contact.consent_stopped_at) == ("telegram", None)


async def test_reissuing_kills_the_old_link_and_links_expire(
    tg: Tg, client_contact: Contact
) -> None:
    old = await invite(tg, client_contact)
    new = await invite(tg, client_contact)
    assert old != new
    client = tg.user(CLIENT_A)
    assert "не действует" in texts_of(await client.say(f"/start {old}"))[0]

    tg.db.clock.advance(days=tg.db.config.greeting_link_days, minutes=1)
    assert "не действует" in texts_of(await client.say(f"/start {new}"))[0]
    assert (await stored(tg.db, client_contact.id)).marketing_consent is False
    newest = await invite(tg, client_contact)
    assert "Спасибо" in texts_of(await client.say(f"/start {newest}"))[0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", "менеджер ответит"),
        ("en", "a manager will answer"),
    ],
)
async def test_a_client_who_writes_to_the_bot_is_never_told_to_ask_for_an_invite(
    tg: Tg, client_contact: Contact, language: str, expected: str
) -> None:
    payload = await invite(tg, client_contact)
    client = tg.user(CLIENT_A, language_code=language)
    await client.say(f"/start {payload}")
    someone = tg.user(CLIENT_B, language_code=language)
    # Anyone not on the team is a client (issue 17): a new one is welcomed (by the outbox:
    # the bot does not answer itself), then every message goes to their manager without a
    # reply from the bot.
    for person in (client, someone):
        for text in ("Здравствуйте, когда доставка?", "/today"):
            assert texts_of(await person.say(text)) == []
    queued = await tg.db.rows(Notification, Notification.kind == "client_message")
    assert [n.chat_id for n in queued] == [CLIENT_B]  # the one who wrote first, welcomed once
    async with sending(tg.bot, tg.deps):
        welcome = (await welcome_of(tg.fake, CLIENT_B)).text or ""
    assert expected in welcome
    for word in ("админ", "admin", "приглаш", "invite", "зарегистр", "registered"):
        assert word not in welcome.lower(), welcome
    hello = texts_of(await someone.say("/start"))[0]
    assert str(CLIENT_B) in hello  # an employee-to-be still finds their id here
    assert "админ" not in hello.lower() and "admin" not in hello.lower()
