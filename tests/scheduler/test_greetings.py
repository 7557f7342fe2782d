"""Greetings: birthdays and holidays at the local hour in each contact's own zone, once per
contact, occasion and year; opted-in clients from the bot, everyone else on the owner's list."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.contacts import consent
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.greetings import service as greetings
from core.greetings.service import GreetingOptions, Holiday, parse_holidays
from core.models import Contact, User
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import SYSTEM, make_user, outbox

NO_HOLIDAYS = GreetingOptions(holidays=())


@pytest.fixture
async def anna(ctx: Ctx) -> User:
    """The salesperson who owns the clients (Telegram id 101)."""
    return await make_user(ctx, "Анна", tg=101)


async def _client(
    ctx: Ctx,
    owner: User | None,
    name: str,
    *,
    phone: str | None = None,
    birthday: date | None = None,
    timezone: str | None = None,
    chat: int | None = None,
) -> Contact:
    contact = await contacts.create_contact(
        ctx,
        actor=SYSTEM,
        name=name,
        phones=[phone] if phone else [],
        owner_id=owner.id if owner else None,
        birthday=birthday,
        timezone=timezone,
    )
    if chat is not None:  # the client opts in through their own link
        token = await consent.invite_token(ctx, actor=SYSTEM, contact_id=contact.id)
        contact = await consent.accept(ctx, token=token, chat_id=chat)
    if timezone is None:  # no zone of its own: the greetings job falls back to the phone's
        await ctx.session.execute(
            update(Contact).where(Contact.id == contact.id).values(timezone=None)
        )
        await ctx.session.commit()
    return contact


def _items(rows: list) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(i["contact_id"], i["occasion"]) for row in rows for i in row.payload["items"]]


async def test_a_birthday_is_greeted_at_the_local_hour_in_the_contacts_own_zone_once(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    east = await _client(
        ctx, anna, "Иван", birthday=date(1990, 11, 27), timezone="Asia/Vladivostok"
    )
    west = await _client(ctx, anna, "Олег", birthday=date(1985, 11, 27), timezone="Europe/Moscow")
    clock.set(datetime(2026, 11, 26, 23, 59, tzinfo=UTC))  # 09:59 in Vladivostok
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 0
    clock.set(datetime(2026, 11, 27, 0, 0, tzinfo=UTC))  # 10:00 in Vladivostok, 03:00 Moscow
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 0
    clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # 10:00 in Moscow
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 0
    lists = await outbox(ctx, "greet_today")
    assert [(n.user_id, n.chat_id) for n in lists] == [(anna.id, 101)] * 2
    assert _items(lists) == [(east.id, "birthday"), (west.id, "birthday")]
    assert "Иван" in lists[0].payload["items"][0]["text"]
    assert await outbox(ctx, "greeting") == []


async def test_greetings_come_once_a_year_across_the_year_boundary(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    ivan = await _client(
        ctx, anna, "Иван", birthday=date(1990, 12, 31), timezone="Asia/Vladivostok"
    )
    options = GreetingOptions(holidays=(Holiday("01-01", "new_year"),))
    clock.set(datetime(2026, 12, 31, 1, 0, tzinfo=UTC))  # 11:00 on 31 Dec in Vladivostok
    assert await greetings.send_due(ctx, options=options) == 1  # the birthday
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))  # 10:00 on 1 Jan there
    assert await greetings.send_due(ctx, options=options) == 1  # New Year 2027
    clock.set(datetime(2027, 1, 1, 12, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=options) == 0
    clock.set(datetime(2027, 12, 31, 1, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=options) == 1  # the birthday, next year
    clock.set(datetime(2028, 1, 1, 0, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=options) == 1
    assert await greetings.send_due(ctx, options=options) == 0
    assert _items(await outbox(ctx, "greet_today")) == [
        (ivan.id, "birthday"),
        (ivan.id, "new_year"),
        (ivan.id, "birthday"),
        (ivan.id, "new_year"),
    ]


async def test_a_holiday_comes_at_the_local_hour_of_each_client_zone_from_the_phone_too(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    options = GreetingOptions(holidays=(Holiday("03-08", "womens_day"),))
    new_york = await _client(ctx, anna, "Mary", timezone="America/New_York")
    novosibirsk = await _client(ctx, anna, "Ольга", phone="+73832123456")  # zone from the phone
    default = await _client(ctx, anna, "Мария", phone="+79161234567")  # mobile: default zone
    expected = [
        (datetime(2027, 3, 8, 3, 0, tzinfo=UTC), novosibirsk),  # 10:00 UTC+7
        (datetime(2027, 3, 8, 7, 0, tzinfo=UTC), default),  # 10:00 Moscow
        (datetime(2027, 3, 8, 15, 0, tzinfo=UTC), new_york),  # 10:00 EST (DST from 14 March)
    ]
    for at, contact in expected:
        clock.set(at - timedelta(seconds=1))
        before = len(_items(await outbox(ctx, "greet_today")))
        assert await greetings.send_due(ctx, options=options) == 0
        clock.set(at)
        assert await greetings.send_due(ctx, options=options) == 1
        assert _items(await outbox(ctx, "greet_today"))[before:] == [(contact.id, "womens_day")]


async def test_an_opted_in_client_is_greeted_by_the_bot_until_they_stop(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    fan = await _client(
        ctx, anna, "Иван", birthday=date(1990, 5, 20), timezone="Europe/Moscow", chat=555
    )
    other = await _client(ctx, anna, "Олег", birthday=date(1991, 5, 20), timezone="Europe/Moscow")
    clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 2
    sent = await outbox(ctx, "greeting")
    assert [(n.chat_id, n.user_id) for n in sent] == [(555, None)]
    assert "Иван" in sent[0].payload["text"]
    assert _items(await outbox(ctx, "greet_today")) == [(other.id, "birthday")]
    # /stop: the consent is revoked; next year the owner greets them instead.
    assert await consent.revoke(ctx, chat_id=555) == 1
    clock.set(datetime(2028, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 2
    assert len(await outbox(ctx, "greeting")) == 1
    lists = await outbox(ctx, "greet_today")
    assert sorted(_items(lists[1:])) == sorted([(fan.id, "birthday"), (other.id, "birthday")])
    assert len(lists) == 2  # one list per owner per occasion


async def test_nobody_to_tell_and_deleted_contacts_are_skipped(
    ctx: Ctx, clock: FakeClock, system: Actor, anna: User
) -> None:
    no_telegram = await make_user(ctx, "Пётр")
    await _client(ctx, None, "Ничей", birthday=date(1990, 6, 1), timezone="Europe/Moscow")
    await _client(ctx, no_telegram, "Петин", birthday=date(1990, 6, 1), timezone="Europe/Moscow")
    gone = await _client(ctx, anna, "Удалён", birthday=date(1990, 6, 1), timezone="Europe/Moscow")
    await contacts.delete_contact(ctx, actor=system, contact_id=gone.id)
    clock.set(datetime(2027, 6, 1, 9, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 0
    assert await outbox(ctx) == []


async def test_a_29_february_birthday_is_greeted_on_the_28th_in_other_years(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    leap = await _client(ctx, anna, "Касьян", birthday=date(1988, 2, 29), timezone="Europe/Moscow")
    clock.set(datetime(2027, 2, 28, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    clock.set(datetime(2028, 2, 28, 8, 0, tzinfo=UTC))  # 2028 has its own 29th
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 0
    clock.set(datetime(2028, 2, 29, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    assert _items(await outbox(ctx, "greet_today")) == [(leap.id, "birthday")] * 2


async def test_many_clients_of_one_owner_come_in_lists_of_limited_size(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    for n in range(7):
        await _client(ctx, anna, f"Клиент {n}", timezone="Europe/Moscow")
    options = GreetingOptions(holidays=(Holiday("06-12", "russia_day"),), list_size=3)
    clock.set(datetime(2027, 6, 12, 7, 30, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=options) == 7
    lists = await outbox(ctx, "greet_today")
    assert [len(n.payload["items"]) for n in lists] == [3, 3, 1]
    assert all("России" in i["text"] for n in lists for i in n.payload["items"])


def test_the_holiday_calendar_is_parsed_from_the_setting_and_bad_items_are_named() -> None:
    holidays = parse_holidays("01-01, 09-01=День знаний ,")
    assert holidays == (
        Holiday("01-01", "new_year"),
        Holiday("09-01", "holiday_09-01", "День знаний"),
    )
    assert parse_holidays("") == ()
    for bad in ("13-01", "02-30", "1-1", "01/01"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            parse_holidays(bad)


async def test_clients_not_yet_due_elsewhere_do_not_hold_back_those_due_now(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    for n in range(5):
        await _client(ctx, anna, f"West {n}", timezone="America/New_York")
    for n in range(2):
        await _client(ctx, anna, f"Без зоны {n}", phone=f"+7916123456{n}")  # default zone
    moscow = [await _client(ctx, anna, f"Москва {n}", timezone="Europe/Moscow") for n in range(3)]
    options = GreetingOptions(holidays=(Holiday("11-04", "unity_day"),), page_size=2)
    clock.set(datetime(2027, 11, 4, 7, 0, tzinfo=UTC))  # 10:00 Moscow, 03:00 New York
    assert await greetings.send_due(ctx, options=options) == 5
    greeted = {contact_id for contact_id, _ in _items(await outbox(ctx, "greet_today"))}
    assert {c.id for c in moscow} <= greeted
    assert len(greeted) == 5


async def test_only_the_clients_own_link_opens_their_chat_to_greetings(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    bday = {"birthday": date(1990, 5, 20), "timezone": "Europe/Moscow"}
    await _client(ctx, anna, "Свой", chat=555, **bday)
    # Opted in, then withdrawn and re-recorded by an integration: its chat stays closed.
    shop = Actor.api_key(1, "shop", scope="integration")
    recorded = await _client(ctx, anna, "Магазин", chat=556, **bday)
    for change in (
        {"marketing_consent": False},
        {"marketing_consent": True, "consent_source": "checkout"},
    ):
        await contacts.update_contact(ctx, actor=shop, contact_id=recorded.id, changes=change)
    # Rows from before the source was kept: consent from the link had its time; the state
    # defect 2 left (consent turned back on over a kept chat, no time) did not.
    legacy_link = await _client(ctx, anna, "Старая ссылка", **bday)
    legacy_reopened = await _client(ctx, anna, "Открыт заново", **bday)
    for contact, chat, at in ((legacy_link, 557, clock.now()), (legacy_reopened, 558, None)):
        await ctx.session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(marketing_consent=True, telegram_chat_id=chat, consent_at=at)
        )
    await ctx.session.commit()

    clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 4
    assert sorted(n.chat_id for n in await outbox(ctx, "greeting")) == [555, 557]
    assert sorted(_items(await outbox(ctx, "greet_today"))) == sorted(
        [(recorded.id, "birthday"), (legacy_reopened.id, "birthday")]
    )


async def test_a_stop_skips_a_greeting_already_queued_for_that_chat(
    ctx: Ctx, clock: FakeClock, anna: User
) -> None:
    await _client(ctx, anna, "Иван", birthday=date(1990, 5, 20), timezone="Europe/Moscow", chat=555)
    clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    assert [n.status for n in await outbox(ctx, "greeting")] == ["pending"]  # Telegram is down

    assert await consent.revoke(ctx, chat_id=555) == 1
    assert [n.status for n in await outbox(ctx, "greeting")] == ["skipped"]
    clock.set(datetime(2028, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=NO_HOLIDAYS) == 1
    assert len(await outbox(ctx, "greeting")) == 1  # next year: the owner's list, not the chat


async def test_two_instances_greet_each_opted_in_client_once_in_their_chat(
    ctx: Ctx,
    clock: FakeClock,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    anna: User,
) -> None:
    bday = {"birthday": date(1990, 5, 20), "timezone": "Europe/Moscow"}
    for n in range(12):
        await _client(ctx, anna, f"Клиент {n}", chat=9000 + n if n % 2 else None, **bday)
    clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))

    async def instance() -> int:
        async with sessions() as session:
            other = Ctx(session=session, config=config, clock=clock)
            return await greetings.send_due(other, options=NO_HOLIDAYS)

    assert sum(await asyncio.gather(instance(), instance())) == 12
    chats = [n.chat_id for n in await outbox(ctx, "greeting")]
    assert sorted(chats) == [9000 + n for n in range(1, 12, 2)]
    assert sorted(_items(await outbox(ctx, "greet_today")))[0][1] == "birthday"
