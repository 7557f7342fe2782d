"""Files on cards through the fake Bot API: a document or photo sent to a card is kept on it
(reply, or the card just opened), the card's «📎 Документы (N)» lists them and sends any back
(by Telegram's reference, else uploaded from storage); deals too; who may see them; bad input
(too large for us, too large for the cloud Bot API, the same file twice, a lying extension,
no card at all)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb, DealCb, DocCb
from bot.deps import BotDeps
from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor
from core.deals import service as deals
from core.documents.models import Document
from core.jobs.models import BackgroundJob
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, buttons, sent, texts_of
from tests.conftest import Db

SELLER_TG = 9301
COLLEAGUE_TG = 9302
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
NO_CARD = (
    "Чтобы сохранить файл, отправьте его ответом на карточку клиента или сделки "
    "(или откройте карточку кнопкой и пришлите файл)."
)


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(
        own_numbers=frozenset({"+74950000000"}), documents_dir=str(tmp_path / "documents")
    )


seller = employee(SELLER_TG, name="Пётр")
colleague = employee(COLLEAGUE_TG, name="Ольга")


@pytest.fixture
async def anna(db: Db, seller: User) -> Contact:
    async with db.ctx() as ctx:
        contact = await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна", phones=["+79161234567"]
        )
        await contacts.update_contact(
            ctx, actor=Actor.system(), contact_id=contact.id, changes={"owner_id": seller.id}
        )
        return contact


def _labels(call: object) -> list[str]:
    return [b["text"] for b in buttons(call.params["reply_markup"])]  # type: ignore[attr-defined]


async def test_a_file_sent_to_a_card_is_kept_listed_and_sent_back(
    tg: Tg, seller: User, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    assert "📎 Документы (0)" in _labels(card)

    contract = tg.fake.add_file(PDF, "Договор поставки.pdf")
    reply = sent(await user.send(document=contract, reply_to_message=user.bot_message(card)))[0]
    assert reply.text == "📎 Сохранил в «Анна»: Договор поставки.pdf (PDF, 1 КБ)"
    assert _labels(reply) == ["📎 Документы (1)"]
    (kept,) = await tg.db.rows(Document)
    assert (kept.contact_id, kept.deal_id, kept.uploaded_by_id) == (anna.id, None, seller.id)
    assert (kept.source, kept.telegram_file_id, kept.kind) == ("bot", contract["file_id"], "pdf")
    async with tg.db.sessions() as session:
        jobs = list(await session.scalars(select(BackgroundJob.payload)))
    assert jobs == [{"document_id": kept.id}]  # extraction queued, not run in the handler

    # The card is still open: a second file without a reply goes on it too.
    invoice = tg.fake.add_file(PNG, "счёт.png")
    reply = sent(await user.send(document=invoice))[0]
    assert "«Анна»: счёт.png (изображение" in (reply.text or "")
    card_again = await user.open_card(anna.id)
    assert "📎 Документы (2)" in _labels(card_again)

    listing = await user.tap(reply, "📎 Документы (2)")
    screen = user.current(reply)
    assert "📎 Документы: Анна (2)" in (screen.text or "")
    labels = _labels(screen)
    assert labels[0].startswith("счёт.png · ") and labels[1].startswith("Договор поставки.pdf")
    assert not [c for c in listing if c.method == "sendDocument"]

    # Sent back by Telegram's reference: no upload.
    back = await user.tap(reply, labels[1])
    documents = [c for c in back if c.method == "sendDocument" and c.status == 200]
    assert [c.params["document"] for c in documents] == [contract["file_id"]]
    assert not documents[0].files

    # Telegram forgot the reference: uploaded from storage, the new reference kept.
    del tg.fake.files[contract["file_id"]]
    back = await user.tap(reply, labels[1])
    tries = [(c.status, bool(c.files)) for c in back if c.method == "sendDocument"]
    assert tries == [(400, False), (200, True)]
    uploaded = next(c for c in back if c.method == "sendDocument" and c.status == 200)
    assert uploaded.files["document"].content == PDF
    assert uploaded.files["document"].filename == "Договор поставки.pdf"
    refreshed = (await tg.db.rows(Document))[0]
    assert refreshed.telegram_file_id not in (None, contract["file_id"])


async def test_typing_closes_the_card_and_a_file_then_says_where_to_send_it(
    tg: Tg, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="open", id=anna.id).pack())
    await user.say("Иванов")  # a search may show another client's card
    assert texts_of(await user.send(document=tg.fake.add_file(PDF, "a.pdf"))) == [NO_CARD]
    assert await tg.db.rows(Document) == []


async def test_a_deal_card_takes_files_and_they_show_on_the_client_too(
    tg: Tg, seller: User, anna: Contact
) -> None:
    async with tg.db.ctx() as ctx:
        deal = await deals.create(
            ctx, actor=Actor.of_user(seller), title="Поставка бумаги", contact_id=anna.id
        )
    user = tg.user(SELLER_TG)
    deal_card = sent(await user.press(DealCb(action="open", id=deal.id).pack()))[0]
    assert "📎 Документы (0)" in _labels(deal_card)
    scan = tg.fake.add_file(PDF, "акт.pdf")
    reply = sent(await user.send(document=scan, reply_to_message=user.bot_message(deal_card)))[0]
    assert "«Поставка бумаги»: акт.pdf" in (reply.text or "")
    (kept,) = await tg.db.rows(Document)
    assert (kept.deal_id, kept.contact_id) == (deal.id, anna.id)
    card = await user.open_card(anna.id)
    assert "📎 Документы (1)" in _labels(card)


async def test_a_photo_of_a_paper_is_kept_as_an_image_and_sent_back_as_a_photo(
    tg: Tg, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    small = tg.fake.add_file(JPEG[:40], "small")
    large = tg.fake.add_file(JPEG, "large")
    photo = [
        {"file_id": small["file_id"], "file_unique_id": "p1", "width": 90, "height": 90},
        {"file_id": large["file_id"], "file_unique_id": "p2", "width": 900, "height": 900},
    ]
    reply = sent(await user.send(photo=photo, reply_to_message=user.bot_message(card)))[0]
    (kept,) = await tg.db.rows(Document)
    assert (kept.kind, kept.mime_type, kept.size_bytes) == ("image", "image/jpeg", len(JPEG))
    assert kept.file_name.startswith("photo_") and kept.file_name.endswith(".jpg")
    assert kept.telegram_file_id == large["file_id"]  # the largest size
    calls = await user.press(DocCb(action="get", id=kept.id).pack(), reply)
    assert [c.params["photo"] for c in calls if c.method == "sendPhoto"] == [large["file_id"]]


async def test_a_colleague_neither_lists_nor_gets_someone_elses_client_documents(
    tg: Tg, colleague: User, anna: Contact
) -> None:
    owner = tg.user(SELLER_TG)
    card = await owner.open_card(anna.id)
    await owner.send(
        document=tg.fake.add_file(PDF, "a.pdf"), reply_to_message=owner.bot_message(card)
    )
    (kept,) = await tg.db.rows(Document)
    other = tg.user(COLLEAGUE_TG)
    listed = await other.press(DocCb(action="list", kind="c", id=anna.id).pack())
    assert answers(listed) and "не найден" in answers(listed)[0].lower()
    got = await other.press(DocCb(action="get", id=kept.id).pack())
    assert not [c for c in got if c.method in ("sendDocument", "sendPhoto")]
    assert "не найден" in answers(got)[0].lower()
    # Replying to the card they saw somewhere does not put a file on it either.
    replied = await other.send(
        document=tg.fake.add_file(PNG, "b.png"), reply_to_message=owner.bot_message(card)
    )
    assert "не найден" in texts_of(replied)[0].lower()
    assert len(await tg.db.rows(Document)) == 1


async def test_bad_files_get_a_clear_answer(tg: Tg, bot_deps: BotDeps, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    to_card = user.bot_message(card)

    # Over DOCUMENTS_MAX_MB: refused before downloading.
    bot_deps.config = replace(bot_deps.config, documents_max_bytes=1024 * 1024)
    big = tg.fake.add_file(b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024), "big.pdf")
    calls = await user.send(document=big, reply_to_message=to_card)
    assert texts_of(calls) == ["Файл слишком большой: 2.0 МБ, можно до 1 МБ."]
    assert not [c for c in calls if c.method == "getFile"]

    # Our limit above the cloud Bot API's 20 MB: Telegram refuses the download; we say why.
    bot_deps.config = replace(bot_deps.config, documents_max_bytes=50 * 1024 * 1024)
    huge = tg.fake.add_file(b"x" * (21 * 1024 * 1024), "huge.pdf")
    calls = await user.send(document=huge, reply_to_message=to_card)
    assert [c.status for c in calls if c.method == "getFile"] == [400]
    assert "до 20 МБ" in texts_of(calls)[0]

    # A name lying about the type, with a path and control characters.
    liar = tg.fake.add_file(PNG, "../../Счёт\u202e.pdf")
    reply = sent(await user.send(document=liar, reply_to_message=to_card))[0]
    assert reply.text == (
        "📎 Сохранил в «Анна»: Счёт.png (изображение, 1 КБ)\n"
        "⚠️ В имени было .pdf, а внутри изображение: сохранил как Счёт.png"
    )

    # The same bytes again: the first one is named, nothing new is kept.
    again = tg.fake.add_file(PNG, "копия.png")
    calls = await user.send(document=again, reply_to_message=to_card)
    assert texts_of(calls) == ["Этот файл уже есть на карточке: Счёт.png."]

    # A file Telegram no longer has.
    gone = {"file_id": "missing", "file_unique_id": "m1", "file_name": "x.pdf", "file_size": 9}
    calls = await user.send(document=gone, reply_to_message=to_card)
    assert texts_of(calls) == ["Не получилось скачать файл у Telegram. Пришлите его ещё раз."]
    assert [d.file_name for d in await tg.db.rows(Document)] == ["Счёт.png"]
