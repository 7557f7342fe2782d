"""/find through the fake Bot API: a word form finds the document, the result shows the
contact, the date and a snippet, its button sends the file; paging; what a seller may not
see stays hidden; an empty or hopeless query gets a hint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.callbacks import FindCb
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor
from core.documents import index, service
from core.documents.extract import extract_bytes
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import buttons, sent, texts_of
from tests.conftest import Db
from tests.fakes import documents as fx

SELLER_TG = 9401
OTHER_TG = 9402

seller = employee(SELLER_TG, name="Пётр")
other = employee(OTHER_TG, name="Ольга")


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(
        own_numbers=frozenset({"+74950000000"}), documents_dir=str(tmp_path / "documents")
    )


async def stored(db: Db, owner: User, client: str, files: list[tuple[str, bytes]]) -> list[int]:
    """A contact of `owner` with these files, stored and indexed as the worker leaves them."""
    async with db.ctx() as ctx:
        actor = Actor.of_user(owner)
        contact = await contacts.create_contact(ctx, actor=actor, name=client)
        await contacts.update_contact(
            ctx, actor=Actor.system(), contact_id=contact.id, changes={"owner_id": owner.id}
        )
        ids = []
        for name, data in files:
            document = await service.store_document(
                ctx, actor=actor, name=name, source="api", data=data, contact_id=contact.id
            )
            await index.store(ctx, document, extract_bytes(data, name))
            await ctx.session.commit()
            ids.append(document.id)
        return ids


async def test_find_a_word_form_and_get_the_file(tg: Tg, seller: User) -> None:
    tg.db.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    contract = fx.pdf(["Договор поставки № 17", "между ООО Вектор и ООО Ромашка"])
    await stored(
        tg.db,
        seller,
        "ООО Вектор",
        [("Договор.pdf", contract), ("Прайс.xlsx", fx.xlsx([["Гвозди", "100"]]))],
    )
    user = tg.user(SELLER_TG)
    (reply,) = sent(await user.say("/find договоры поставок"))
    assert reply.text == (
        "🔎 Документы по запросу «договоры поставок»: 1\n\n"
        "1. 📄 <b>Договор.pdf</b> · ООО Вектор · 20.11.2026\n"
        "<b>Договор</b> <b>поставки</b> № 17 между ООО Вектор и ООО Ромашка"
    )
    assert [b["text"] for b in buttons(reply.params["reply_markup"])] == ["1. Договор.pdf"]

    back = await user.tap(reply, "1. Договор.pdf")
    uploads = [c for c in back if c.method == "sendDocument" and c.status == 200]
    assert len(uploads) == 1
    assert uploads[0].files["document"].content == contract
    assert uploads[0].files["document"].filename == "Договор.pdf"


async def test_a_file_sent_to_a_card_is_found_by_its_name_at_once(tg: Tg, seller: User) -> None:
    """Before the scheduler reads its text: the name is indexed when the file is stored."""
    tg.db.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    async with tg.db.ctx() as ctx:
        contact = await contacts.create_contact(ctx, actor=Actor.of_user(seller), name="ООО Вектор")
    user = tg.user(SELLER_TG)
    card = await user.open_card(contact.id)
    scan = tg.fake.add_file(fx.pdf(["Текст прочитают позже"]), "Акт сверки взаиморасчётов.pdf")
    sent(await user.send(document=scan, reply_to_message=user.bot_message(card)))
    (reply,) = sent(await user.say("/find акты сверки"))
    assert reply.text == (
        "🔎 Документы по запросу «акты сверки»: 1\n\n"
        "1. 📄 <b>Акт сверки взаиморасчётов.pdf</b> · ООО Вектор · 20.11.2026"
    )
    assert texts_of(await user.say("/find прочитают")) == [
        "Документов со словами «прочитают» не нашёл."
    ]


async def test_pages_hidden_documents_and_hints(tg: Tg, seller: User, other: User) -> None:
    files = [(f"счёт {i}.docx", fx.docx([f"Счёт на оплату № {i}"])) for i in range(7)]
    await stored(tg.db, seller, "ИП Сидоров", files)
    await stored(tg.db, other, "ООО Чужой", [("чужой.docx", fx.docx(["Счёт"]))])
    user = tg.user(SELLER_TG)
    (first,) = sent(await user.say("/find счета"))
    assert (first.text or "").startswith(
        "🔎 Документы по запросу «счета»: 7\n\n1. 📝 <b>счёт 6.docx"
    )
    assert "чужой" not in (first.text or "")
    labels = [b["text"] for b in buttons(first.params["reply_markup"])]
    assert labels == [
        "1. счёт 6.docx",
        "2. счёт 5.docx",
        "3. счёт 4.docx",
        "4. счёт 3.docx",
        "5. счёт 2.docx",
        "▶",
    ]
    await user.tap(first, "▶")
    second = user.current(first)
    assert "6. 📝 <b>счёт 1.docx</b>" in (second.text or "")
    assert [b["text"] for b in buttons(second.params["reply_markup"])][-1] == "◀"

    other_user = tg.user(OTHER_TG)
    (theirs,) = sent(await other_user.say("/find счёт"))
    assert "«счёт»: 1" in (theirs.text or "") and "чужой.docx" in (theirs.text or "")

    assert texts_of(await user.say("/find"))[0].startswith("Напишите после /find слова")
    assert texts_of(await user.say("/find аренда склада")) == [
        "Документов со словами «аренда склада» не нашёл."
    ]
    assert texts_of(await user.say("/find " + " ".join(f"слово{i}" for i in range(20)))) == [
        "В запросе слишком много слов — оставьте самые важные."
    ]
    # A page button when the query is no longer remembered says so.
    await tg.employee(9403, name="Новый")
    fresh = tg.user(9403)
    assert texts_of(await fresh.press(FindCb(page=1).pack())) == [
        "Поиск устарел — повторите /find."
    ]
