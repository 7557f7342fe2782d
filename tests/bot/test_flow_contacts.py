"""Finding, creating and working with contacts by typing and tapping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb, OwnerCb
from core.contacts import service as contacts
from core.contacts.models import Company, Contact
from core.context import Actor
from core.notes.models import Note
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, buttons, sent, texts_of
from tests.conftest import Db

SELLER_TG = 8001
OTHER_TG = 8002
seller = employee(SELLER_TG)


async def add_contact(
    db: Db,
    owner: User,
    name: str,
    phones: list[str],
    company: str | None = None,
) -> Contact:
    async with db.ctx() as ctx:
        return await contacts.create_contact(
            ctx,
            actor=Actor.of_user(owner),
            name=name,
            phones=phones,
            company_name=company,
        )


@pytest.mark.parametrize("typed", ["+7 916 123-45-67", "89161234567", "(916) 123 45 67"])
async def test_search_finds_a_contact_by_phone_in_any_format(
    tg: Tg, typed: str, seller: User
) -> None:
    await add_contact(tg.db, seller, "Анна Смирнова", ["+79161234567"])
    await add_contact(tg.db, seller, "Борис", ["+79990000001"])
    user = tg.user(SELLER_TG)

    # The only match opens its card at once.
    card = sent(await user.say(typed))[0]
    assert "<b>Анна Смирнова</b>" in (card.text or "")
    assert 'href="tel:+79161234567"' in (card.text or "")
    assert "Ответственный: Пётр" in (card.text or "")


async def test_search_by_lower_case_cyrillic_company_and_paging(tg: Tg, seller: User) -> None:
    for i in range(10):
        await add_contact(tg.db, seller, f"Клиент {i:02d}", [f"+7916000{i:04d}"], "ООО Ромашка")
    user = tg.user(SELLER_TG)

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


async def test_an_unknown_phone_offers_to_create_the_contact(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    result = sent(await user.say("8 (903) 555-12-34"))[0]
    assert "Ничего не найдено" in (result.text or "")

    asked = texts_of(await user.tap(result, "Создать контакт +79035551234"))
    assert "+79035551234" in asked[-1]
    created = sent(await user.say("Галина Петровна"))[0]
    assert "Контакт создан" in (created.text or "")
    contact = await tg.db.one(Contact)
    assert contact.name == "Галина Петровна"
    assert [p.e164 for p in contact.phones] == ["+79035551234"]
    assert (contact.owner_id, contact.source) == (seller.id, "bot")


async def test_new_contact_button_asks_name_then_phone(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    asked = texts_of(await user.say("➕ Новый контакт"))[0]
    assert asked.startswith("Как зовут контакт?") and "через запятую" in asked
    assert "Телефон" in texts_of(await user.say("Дмитрий 🚀"))[0]
    card = sent(await user.say("+7 926 111 22 33"))[0]
    assert "Контакт создан" in (card.text or "") and "Дмитрий 🚀" in (card.text or "")


async def test_a_company_after_a_comma_in_the_new_contacts_name_is_its_company(
    tg: Tg, seller: User
) -> None:
    """Issue 21 §10: «<name>, ООО Вектор» was taken whole as the name."""
    user = tg.user(SELLER_TG)
    await user.say("➕ Новый контакт")
    await user.say("Иван Петров, ООО Вектор")
    card = sent(await user.say("+7 926 111 22 44"))[0]
    assert "<b>Иван Петров</b>" in (card.text or "") and "ООО Вектор" in (card.text or "")
    async with tg.db.sessions() as session:
        contact = (await session.scalars(select(Contact))).one()
        company = await session.get(Company, contact.company_id)
    assert contact.name == "Иван Петров"
    assert company is not None and company.name == "ООО Вектор"


async def test_a_duplicate_phone_opens_the_existing_contact(tg: Tg, seller: User) -> None:
    existing = await add_contact(tg.db, seller, "Анна", ["+79161234567"])
    user = tg.user(SELLER_TG)

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
    assert await tg.db.count(Contact) == 1
    assert existing.id


async def test_a_shared_telegram_contact_creates_the_contact(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    reply = sent(
        await user.send(
            contact={"phone_number": "+79057778899", "first_name": "Sam", "last_name": "Lee"}
        )
    )[0]
    assert "Контакт создан" in (reply.text or "") and "<b>Sam Lee</b>" in (reply.text or "")


async def test_replying_to_a_card_adds_a_note(tg: Tg, seller: User) -> None:
    contact = await add_contact(tg.db, seller, "Анна", ["+79161234567"])
    user = tg.user(SELLER_TG)
    card = sent(await user.say("анна"))[0]

    reply = texts_of(await user.reply(card, "Просила <b>скидку</b> 10% ‏مرحبا"))
    assert reply == ["📝 Заметка добавлена."]
    note = await tg.db.one(Note)
    assert (note.contact_id, note.author_id) == (contact.id, seller.id)
    assert note.text == "Просила <b>скидку</b> 10% ‏مرحبا"

    await user.tap(card, "История")
    timeline = user.current(card)
    assert "Просила &lt;b&gt;скидку&lt;/b&gt;" in (timeline.text or "")


async def test_a_crafted_callback_for_someone_elses_contact_is_refused(
    tg: Tg, seller: User
) -> None:
    other = await tg.employee(OTHER_TG, name="Чужой")
    theirs = await add_contact(tg.db, other, "Секретный", ["+79160000099"])
    user = tg.user(SELLER_TG)

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
    async with tg.db.sessions() as session:
        stored = await session.get(Contact, theirs.id)
        assert stored is not None and stored.owner_id == other.id
    assert "Секретный" not in " ".join(texts_of(await user.say("секретный")))


async def test_a_button_of_a_deleted_contact_gets_a_short_notice(tg: Tg, seller: User) -> None:
    contact = await add_contact(tg.db, seller, "Анна", ["+79161234567"])
    user = tg.user(SELLER_TG)
    card = await user.open_card(contact.id)
    async with tg.db.ctx() as ctx:
        await contacts.delete_contact(ctx, actor=Actor.of_user(seller), contact_id=contact.id)

    assert answers(await user.tap(card, "Заметка")) == ["Не найдено или уже недоступно."]


async def test_editing_a_field_and_inviting_the_client_to_greetings(tg: Tg, seller: User) -> None:
    contact = await add_contact(tg.db, seller, "Анна", ["+79161234567"])
    user = tg.user(SELLER_TG)
    card = await user.open_card(contact.id)
    await user.tap(card, "Изменить")
    await user.tap(card, "Компания")
    updated = sent(await user.say("Ромашка"))[0]
    assert "🏢 Ромашка" in (updated.text or "")

    link_text = texts_of(await user.tap(updated, "Пригласить клиента"))[0]
    assert "https://t.me/perezvon_test_bot?start=c_" in link_text
    token = link_text.split("start=")[1].split()[0]

    client = tg.user(4242, first_name="Анна")
    assert "Спасибо" in texts_of(await client.say(f"/start {token}"))[0]
    async with tg.db.sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None
        assert (stored.telegram_chat_id, stored.marketing_consent) == (4242, True)
        assert stored.consent_at == tg.db.clock.now()

    assert "отписались" in texts_of(await client.say("/stop"))[0]
    async with tg.db.sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None and stored.marketing_consent is False


async def test_the_timeline_pages_newest_first(tg: Tg, seller: User) -> None:
    from core.notes import service as notes

    contact = await add_contact(tg.db, seller, "Анна", ["+79161234567"])
    async with tg.db.ctx() as ctx:
        for i in range(7):
            tg.db.clock.advance(minutes=1)
            await notes.add_note(
                ctx, actor=Actor.of_user(seller), contact_id=contact.id, text=f"заметка {i}"
            )
    user = tg.user(SELLER_TG)
    card = await user.open_card(contact.id)
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
    tg: Tg, seller: User
) -> None:
    await add_contact(tg.db, seller, "Фёдорова Анна", ["+79161234567"])
    await add_contact(tg.db, seller, "Федоров Пётр", ["+79161234568"])
    await add_contact(tg.db, seller, "Привалов Сергей", ["+79161234569"])
    user = tg.user(SELLER_TG)

    both = sent(await user.say("федоров"))[0]
    captions = sorted(b["text"] for b in buttons(both.params["reply_markup"]))
    assert captions == ["Федоров Пётр · +79161234568", "Фёдорова Анна · +79161234567"]
    one = sent(await user.say("ФЁДОРОВА"))[0]
    assert "<b>Фёдорова Анна</b>" in (one.text or "")
    swapped = sent(await user.say("ghbdfkjd"))[0]  # «привалов» typed on an English layout
    assert "«привалов»" in (swapped.text or "") and "<b>Привалов Сергей</b>" in (swapped.text or "")
