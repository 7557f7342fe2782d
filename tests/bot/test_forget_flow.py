"""Forgetting a client who wrote to the company bot: what they wrote, their request and the
copies queued for the salesperson are gone; nothing about them is delivered afterwards."""

from __future__ import annotations

from sqlalchemy import update

from core.contacts.models import Contact
from core.conversations.models import ChatMessage, Conversation
from core.deals.models import Deal
from core.notes.models import Note
from core.outbox.models import Notification
from core.users.models import User
from tests.app.conftest import cli_db as cli_db  # the CLI's database set-up
from tests.app.test_forget_cli import in_thread
from tests.bot.conftest import Tg
from tests.orders_helpers import deliver

CLIENT_TG, SELLER_TG = 880001, 7301


async def test_a_forgotten_client_leaves_nothing_to_deliver_or_read(tg: Tg, cli_db: str) -> None:
    seller = await tg.employee(SELLER_TG, name="Анна")
    async with tg.db.sessions() as session:
        await session.execute(update(User).where(User.id == seller.id).values(on_duty=True))
        await session.commit()
    client = tg.user(CLIENT_TG, first_name="Мария")
    await client.say("/start")
    await client.say("Мой паспорт 4510 123456, нужен договор")
    await client.say("✍️ Оставить заявку")
    await client.say("Счёт на 10 коробок")
    contact = await tg.db.one(Contact)
    assert await tg.db.count(ChatMessage) >= 1
    assert await tg.db.count(Notification) >= 1

    assert await in_thread("contacts", "forget", str(contact.id), "--yes") == 0

    before = len(tg.fake.calls)
    await deliver(tg.deps, tg.bot)
    about_her = [c for c in tg.fake.calls[before:] if "Мария" in str(c.params)]
    assert about_her == []
    for model in (Contact, ChatMessage, Conversation, Note, Notification):
        assert await tg.db.count(model) == 0, model
    deal = await tg.db.one(Deal)  # the team's deal stays, unlinked
    assert deal.contact_id is None and deal.title == f"#{deal.id}"
