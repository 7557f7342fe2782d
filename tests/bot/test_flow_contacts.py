"""Finding, creating and working with contacts by typing and tapping."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb, OwnerCb
from core.clock import FakeClock
from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Company, Contact
from core.context import Actor, Ctx
from core.notes.models import Note
from core.users.models import User
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, answers, buttons, make_user, sent, texts_of
from tests.fakes.telegram_api import FakeTelegram

SELLER_TG = 8001
OTHER_TG = 8002


@pytest.fixture
async def seller(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> User:
    return await make_user(sessions, config, clock, telegram_id=SELLER_TG, name="Пётр")


async def add_contact(
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    owner: User,
    name: str,
    phones: list[str],
    company: str | None = None,
) -> Contact:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        return await contacts.create_contact(
            ctx,
            actor=Actor.of_user(owner),
            name=name,
            phones=phones,
            company_name=company,
        )


@pytest.mark.parametrize("typed", ["+7 916 123-45-67", "89161234567", "(916) 123 45 67"])
async def test_search_finds_a_contact_by_phone_in_any_format(
    typed: str,
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await add_contact(sessions, config, clock, seller, "Анна Смирнова", ["+79161234567"])
    await add_contact(sessions, config, clock, seller, "Борис", ["+79990000001"])
    user = TgUser(feed, fake_tg, SELLER_TG)

    # The only match opens its card at once.
    card = sent(await user.say(typed))[0]
    assert "<b>Анна Смирнова</b>" in (card.text or "")
    assert 'href="tel:+79161234567"' in (card.text or "")
    assert "Ответственный: Пётр" in (card.text or "")


async def test_search_by_lower_case_cyrillic_company_and_paging(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    for i in range(10):
        await add_contact(
            sessions, config, clock, seller, f"Клиент {i:02d}", [f"+7916000{i:04d}"], "ООО Ромашка"
        )
    user = TgUser(feed, fake_tg, SELLER_TG)

    first = sent(await user.say("ромашка"))[0]
    assert "Найдено 10 контактов" in (first.text or "")
    assert len(buttons(first.params["reply_markup"])) == 8 + 1  # 8 results and ▶️
    await user.tap(first, "▶️")
    page2 = user.current(first)
    assert "стр. 2" in (page2.text or "")
    assert [b["text"].split(" · ")[0] for b in buttons(page2.params["reply_markup"])][:2] == [
        "Клиент 08",
        "Клиент 09",
    ]


async def test_an_unknown_phone_offers_to_create_the_contact(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    seller: User,
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    result = sent(await user.say("8 (903) 555-12-34"))[0]
    assert "Ничего не найдено" in (result.text or "")

    asked = texts_of(await user.tap(result, "Создать контакт +79035551234"))
    assert "+79035551234" in asked[-1]
    created = sent(await user.say("Галина Петровна"))[0]
    assert "Контакт создан" in (created.text or "")
    async with sessions() as session:
        contact = (await session.scalars(select(Contact))).one()
    assert contact.name == "Галина Петровна"
    assert [p.e164 for p in contact.phones] == ["+79035551234"]
    assert (contact.owner_id, contact.source) == (seller.id, "bot")


async def test_new_contact_button_asks_name_then_phone(
    feed: Feed, fake_tg: FakeTelegram, sessions: async_sessionmaker[AsyncSession], seller: User
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    asked = texts_of(await user.say("➕ Новый контакт"))[0]
    assert asked.startswith("Как зовут контакт?") and "через запятую" in asked
    assert "Телефон" in texts_of(await user.say("Дмитрий 🚀"))[0]
    card = sent(await user.say("+7 926 111 22 33"))[0]
    assert "Контакт создан" in (card.text or "") and "Дмитрий 🚀" in (card.text or "")


async def test_a_company_after_a_comma_in_the_new_contacts_name_is_its_company(
    feed: Feed, fake_tg: FakeTelegram, sessions: async_sessionmaker[AsyncSession], seller: User
) -> None:
    """Issue 21 §10: «<name>, ООО Вектор» was taken whole as the name."""
    user = TgUser(feed, fake_tg, SELLER_TG)
    await user.say("➕ Новый контакт")
    await user.say("Иван Петров, ООО Вектор")
    card = sent(await user.say("+7 926 111 22 44"))[0]
    assert "<b>Иван Петров</b>" in (card.text or "") and "ООО Вектор" in (card.text or "")
    async with sessions() as session:
        contact = (await session.scalars(select(Contact))).one()
        company = await session.get(Company, contact.company_id)
    assert contact.name == "Иван Петров"
    assert company is not None and company.name == "ООО Вектор"


async def test_a_duplicate_phone_opens_the_existing_contact(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    existing = await add_contact(sessions, config, clock, seller, "Анна", ["+79161234567"])
    user = TgUser(feed, fake_tg, SELLER_TG)

    shared = sent(
        await user.send(
            contact={"phone_number": "79161234567", "first_name": "Аня", "user_id": 999}
        )
    )[0]
    assert "уже есть у контакта" in (shared.text or "")
    assert "<b>Анна</b>" in (shared.text or "")

    await user.say("➕ Новый контакт")
    await user.say("Другая Анна")
    typed = sent(await user.say("8-916-123-45-67"))[0]
    assert "уже есть у контакта" in (typed.text or "")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
    assert existing.id


async def test_a_shared_telegram_contact_creates_the_contact(
    feed: Feed, fake_tg: FakeTelegram, sessions: async_sessionmaker[AsyncSession], seller: User
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    reply = sent(
        await user.send(
            contact={"phone_number": "+79057778899", "first_name": "Sam", "last_name": "Lee"}
        )
    )[0]
    assert "Контакт создан" in (reply.text or "") and "<b>Sam Lee</b>" in (reply.text or "")


async def test_replying_to_a_card_adds_a_note(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    contact = await add_contact(sessions, config, clock, seller, "Анна", ["+79161234567"])
    user = TgUser(feed, fake_tg, SELLER_TG)
    card = sent(await user.say("анна"))[0]

    reply = texts_of(await user.reply(card, "Просила <b>скидку</b> 10% ‏مرحبا"))
    assert reply == ["📝 Заметка добавлена."]
    async with sessions() as session:
        note = (await session.scalars(select(Note))).one()
    assert (note.contact_id, note.author_id) == (contact.id, seller.id)
    assert note.text == "Просила <b>скидку</b> 10% ‏مرحبا"

    await user.tap(card, "История")
    timeline = user.current(card)
    assert "Просила &lt;b&gt;скидку&lt;/b&gt;" in (timeline.text or "")


async def test_a_crafted_callback_for_someone_elses_contact_is_refused(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    other = await make_user(sessions, config, clock, telegram_id=OTHER_TG, name="Чужой")
    theirs = await add_contact(sessions, config, clock, other, "Секретный", ["+79160000099"])
    user = TgUser(feed, fake_tg, SELLER_TG)

    for data in (
        ContactCb(action="open", id=theirs.id).pack(),
        ContactCb(action="tl", id=theirs.id).pack(),
        ContactCb(action="note", id=theirs.id).pack(),
        OwnerCb(id=theirs.id, user_id=seller.id).pack(),
    ):
        calls = await user.press(data)
        assert answers(calls) in (
            ["Не найдено или уже недоступно."],
            ["Это действие вам недоступно."],
        )
        assert not [c for c in calls if c.method == "sendMessage" and "Секретный" in (c.text or "")]
    async with sessions() as session:
        stored = await session.get(Contact, theirs.id)
        assert stored is not None and stored.owner_id == other.id
    assert "Секретный" not in " ".join(texts_of(await user.say("секретный")))


async def test_a_button_of_a_deleted_contact_gets_a_short_notice(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    contact = await add_contact(sessions, config, clock, seller, "Анна", ["+79161234567"])
    user = TgUser(feed, fake_tg, SELLER_TG)
    card = sent(await user.press(ContactCb(action="open", id=contact.id).pack()))[0]
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await contacts.delete_contact(ctx, actor=Actor.of_user(seller), contact_id=contact.id)

    assert answers(await user.tap(card, "Заметка")) == ["Не найдено или уже недоступно."]


async def test_editing_a_field_and_inviting_the_client_to_greetings(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    contact = await add_contact(sessions, config, clock, seller, "Анна", ["+79161234567"])
    user = TgUser(feed, fake_tg, SELLER_TG)
    card = sent(await user.press(ContactCb(action="open", id=contact.id).pack()))[0]
    await user.tap(card, "Изменить")
    await user.tap(card, "Компания")
    updated = sent(await user.say("Ромашка"))[0]
    assert "🏢 Ромашка" in (updated.text or "")

    link_text = texts_of(await user.tap(updated, "Пригласить клиента"))[0]
    assert "https://t.me/perezvon_test_bot?start=c_" in link_text
    token = link_text.split("start=")[1].split()[0]

    client = TgUser(feed, fake_tg, 4242, first_name="Анна")
    assert "Спасибо" in texts_of(await client.say(f"/start {token}"))[0]
    async with sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None
        assert (stored.telegram_chat_id, stored.marketing_consent) == (4242, True)
        assert stored.consent_at == clock.now()

    assert "отписались" in texts_of(await client.say("/stop"))[0]
    async with sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None and stored.marketing_consent is False


async def test_the_timeline_pages_newest_first(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    from core.notes import service as notes

    contact = await add_contact(sessions, config, clock, seller, "Анна", ["+79161234567"])
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        for i in range(7):
            clock.advance(minutes=1)
            await notes.add_note(
                ctx, actor=Actor.of_user(seller), contact_id=contact.id, text=f"заметка {i}"
            )
    user = TgUser(feed, fake_tg, SELLER_TG)
    card = sent(await user.press(ContactCb(action="open", id=contact.id).pack()))[0]
    await user.tap(card, "История")
    first = user.current(card).text or ""
    assert "История: 7 записей" in first
    assert first.index("заметка 6") < first.index("заметка 2") and "заметка 1" not in first
    await user.tap(card, "▶️")
    second = user.current(card).text or ""
    assert "заметка 1" in second and "заметка 0" in second and "заметка 2" not in second
    await user.tap(card, "◀️")
    assert "заметка 6" in (user.current(card).text or "")


async def test_search_folds_yo_fixes_the_keyboard_layout_and_lists_several_matches(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await add_contact(sessions, config, clock, seller, "Фёдорова Анна", ["+79161234567"])
    await add_contact(sessions, config, clock, seller, "Федоров Пётр", ["+79161234568"])
    await add_contact(sessions, config, clock, seller, "Привалов Сергей", ["+79161234569"])
    user = TgUser(feed, fake_tg, SELLER_TG)

    both = sent(await user.say("федоров"))[0]
    captions = sorted(b["text"] for b in buttons(both.params["reply_markup"]))
    assert captions == ["Федоров Пётр · +79161234568", "Фёдорова Анна · +79161234567"]
    one = sent(await user.say("ФЁДОРОВА"))[0]
    assert "<b>Фёдорова Анна</b>" in (one.text or "")
    swapped = sent(await user.say("ghbdfkjd"))[0]  # «привалов» typed on an English layout
    assert "«привалов»" in (swapped.text or "") and "<b>Привалов Сергей</b>" in (swapped.text or "")
