"""Files on cards: a document or photo sent to a card is kept on it; the card lists them.

1. Where a file goes: sent in reply to a message about a client (a card, a screen pop, a
   reminder) or to a deal's card, it goes on that contact or deal; sent without a reply, on
   the card the user last opened with a button, for CARD_OPEN_MINUTES, until they type
   something else (a search may have shown another client: then they reply to its card).
   With no card, a hint says how; spreadsheets then go on to the contacts import.
2. The size is checked before the download (Telegram's file_size against DOCUMENTS_MAX_MB;
   bots download 20 MB at most from the cloud Bot API), the bytes are downloaded (I/O only)
   and core stores them (type from the bytes, safe name, one copy per content, the
   extraction queued for the background); the answer names the card and the file.
3. "📎 Documents (N)" on a card lists its files; a tap sends one back by its Telegram file
   reference, or uploads it from storage when Telegram no longer knows the reference (the
   new reference is kept).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject
from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ContactCb, DealCb, DocCb
from bot.handlers.common import show
from bot.i18n import Texts
from bot.request import Request
from bot.views import contacts as contact_views
from bot.views.format import Screen, button_text, esc, local_time, markup
from core.activities import service as activities
from core.calls import service as calls
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.documents import service
from core.documents.models import Document
from core.errors import NotFound

CARD_OPEN_MINUTES = 30
PAGE = 8
MB = 1024 * 1024
BOT_API_DOWNLOAD_LIMIT = 20 * MB  # the cloud Bot API; a self-hosted server allows 2,000 MB
SPREADSHEETS = (".xlsx", ".xlsm", ".csv")
Card = tuple[str, int]  # ("contact" | "deal", id)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Incoming:
    """The file of a message: its Telegram reference, name and size."""

    file_id: str
    unique_id: str
    name: str | None
    size: int | None
    photo: bool


def incoming(message: Message) -> Incoming | None:
    if message.document is not None:
        doc = message.document
        return Incoming(doc.file_id, doc.file_unique_id, doc.file_name, doc.file_size, False)
    if message.photo:
        largest = message.photo[-1]
        return Incoming(largest.file_id, largest.file_unique_id, None, largest.file_size, True)
    return None


# --- which card is open -------------------------------------------------------------------


def _memory(state: FSMContext) -> FSMContext:
    """The open card lives beside the dialog state, so ending a dialog does not forget it."""
    return FSMContext(storage=state.storage, key=replace(state.key, destiny="open_card"))


async def remember_card(state: FSMContext, clock_now: datetime, card: Card) -> None:
    await _memory(state).set_data({"kind": card[0], "id": card[1], "at": clock_now.timestamp()})


async def forget_card(state: FSMContext) -> None:
    await _memory(state).set_data({})


async def open_card(state: FSMContext, now: datetime) -> Card | None:
    data = await _memory(state).get_data()
    if not data or "at" not in data:
        return None
    if now.timestamp() - float(data["at"]) > CARD_OPEN_MINUTES * 60:
        return None
    return str(data["kind"]), int(data["id"])


def card_of_button(data: str) -> Card | None:
    """The card a button belongs to: a contact's or a deal's buttons, or a Documents list."""
    try:
        if data.startswith(DocCb.__prefix__ + ":"):
            doc = DocCb.unpack(data)
            if doc.action == "list":
                return ("deal" if doc.kind == "d" else "contact", doc.id)
        elif data.startswith(ContactCb.__prefix__ + ":"):
            return ("contact", ContactCb.unpack(data).id)
        elif data.startswith(DealCb.__prefix__ + ":"):
            return ("deal", DealCb.unpack(data).id)
    except (ValueError, TypeError):
        return None  # a crafted or old button: not a card
    return None


class CardTaps(BaseMiddleware):
    """Notes the card behind every tapped button; typing anything forgets it."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        request: Request | None = data.get("request")
        if state is not None and request is not None:
            if isinstance(event, CallbackQuery):
                card = card_of_button(event.data or "")
                if card is not None:
                    await remember_card(state, request.now(), card)
            elif isinstance(event, Message) and event.text:
                await forget_card(state)
        return await handler(event, data)


class FileForCard(Filter):
    """A document or photo with a card to go on: the replied-to card, else the open one.
    Gives `card` (("contact"|"deal"|"call"|"activity", id))."""

    async def __call__(
        self, message: Message, state: FSMContext, request: Request | None = None
    ) -> bool | dict[str, Card]:
        if request is None or incoming(message) is None:
            return False  # a client's file (their conversation) is not a card's
        replied = message.reply_to_message
        if replied is not None and replied.reply_markup is not None:
            rows = replied.reply_markup.inline_keyboard
            # A card's Documents button names it best (a deal's card also opens its client).
            for data in (b.callback_data or "" for row in rows for b in row):
                card = card_of_button(data) if data.startswith(DocCb.__prefix__ + ":") else None
                if card is not None:
                    return {"card": card}
            subject = contact_views.subject_of(rows)
            if subject is not None:
                return {"card": subject}
        card = await open_card(state, request.now())
        return {"card": card} if card is not None else False


class FileWithoutCard(Filter):
    """A document or photo with no card to go on (spreadsheets go on to the import)."""

    async def __call__(self, message: Message, request: Request | None = None) -> bool:
        found = incoming(message)
        if request is None or found is None:
            return False
        return not (found.name or "").casefold().endswith(SPREADSHEETS)


# --- attaching ------------------------------------------------------------------------------


async def _target(ctx: Ctx, actor: Actor, card: Card) -> tuple[int | None, int | None, str]:
    """(contact_id, deal_id, what to call it) of a card; NotFound when it is not the actor's."""
    kind, object_id = card
    if kind == "deal":
        deal = await deals.get(ctx, actor=actor, deal_id=object_id)
        return None, deal.id, deal.title
    if kind == "call":
        call = await calls.get_call(ctx, actor=actor, call_id=object_id)
        if call.contact_id is None:
            raise NotFound(f"call {object_id} has no contact")
        object_id = call.contact_id
    elif kind == "activity":
        activity = await activities.get(ctx, actor=actor, activity_id=object_id)
        if activity.contact_id is None:
            raise NotFound(f"activity {object_id} has no contact")
        object_id = activity.contact_id
    contact = await contacts.get_contact_for_work(ctx, actor=actor, contact_id=object_id)
    return contact.id, None, contact.name


async def _download(bot: Bot, file_id: str) -> bytes:
    buffer = await bot.download(file_id, destination=io.BytesIO())
    return buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""


def _size(size: int) -> str:
    return f"{size / MB:.1f}"


def size_text(t: Texts, size: int) -> str:
    """A file's size as people read it: KB under a megabyte, else MB with one decimal."""
    if size < MB:
        return t("document-size-kb", size=max(1, round(size / 1024)) if size else 0)
    return t("document-size-mb", size=_size(size))


async def attach(
    message: Message, card: Card, bot: Bot, request: Request, state: FSMContext
) -> None:
    """Keep the file on the card and say where it went."""
    ctx, t, actor = request.ctx, request.t, request.actor
    file = incoming(message)
    assert file is not None
    contact_id, deal_id, title = await _target(ctx, actor, card)
    limit = ctx.config.documents_max_bytes
    if (file.size or 0) > limit:
        text = t("document-too-large", size=_size(file.size or 0), limit=f"{limit / MB:.0f}")
        await message.reply(text)
        return
    try:
        data = await _download(bot, file.file_id)
    except TelegramBadRequest as error:
        if "too big" in str(error):
            await message.reply(t("document-too-big-for-bot-api", size=_size(file.size or 0)))
        else:  # gone from Telegram's servers, or a reference it does not know
            await message.reply(t("document-download-failed"))
        return
    name = file.name
    if file.photo:  # a photo has no name: when it was taken, in the user's zone
        stamp = request.now().astimezone(ZoneInfo(request.timezone))
        name = f"photo_{stamp:%Y-%m-%d_%H-%M-%S}.jpg"
    outcome = await service.store(
        ctx,
        actor=actor,
        name=name,
        source="bot",
        data=data,
        contact_id=contact_id,
        deal_id=deal_id,
        telegram_file_id=file.file_id,
        telegram_file_unique_id=file.unique_id,
    )
    kept: Card = ("deal", deal_id) if deal_id is not None else ("contact", contact_id or 0)
    await remember_card(state, ctx.clock.now(), kept)  # the next file goes to the same card
    count = await service.count_documents(ctx, contact_id=contact_id, deal_id=deal_id)
    await message.reply(**_saved(t, outcome, title, count))


def _saved(t: Texts, outcome: service.StoreOutcome, title: str, count: int) -> dict[str, Any]:
    document = outcome.document
    lines = [
        t(
            "document-saved",
            name=esc(document.file_name),
            card=esc(title),
            type=kind_label(t, document),
            size=size_text(t, document.size_bytes),
        )
    ]
    if outcome.renamed_from is not None:
        lines.append(
            t(
                "document-renamed",
                given=esc(outcome.renamed_from),
                type=kind_label(t, document),
                name=esc(document.file_name),
            )
        )
    button = documents_button(t, document.deal_id, document.contact_id, count)
    return {"text": "\n".join(lines), "reply_markup": markup([[button]])}


def kind_label(t: Texts, document: Document) -> str:
    return t("document-kind", kind=document.kind)


def documents_button(t: Texts, deal_id: int | None, contact_id: int | None, count: int) -> Button:
    kind, object_id = ("d", deal_id) if deal_id is not None else ("c", contact_id or 0)
    return Button(
        text=t("btn-documents", count=count),
        callback_data=DocCb(action="list", kind=kind, id=object_id).pack(),
    )


async def no_card(message: Message, request: Request) -> None:
    await message.answer(request.t("document-no-card"))


# --- the list and sending back ----------------------------------------------------------------


async def list_documents(query: CallbackQuery, callback_data: DocCb, request: Request) -> None:
    ctx, actor = request.ctx, request.actor
    deal_id = callback_data.id if callback_data.kind == "d" else None
    contact_id = None if deal_id is not None else callback_data.id
    page = max(callback_data.page, 0)
    found = await service.list_documents(
        ctx, actor=actor, contact_id=contact_id, deal_id=deal_id, limit=PAGE, offset=page * PAGE
    )
    if deal_id is not None:
        title = (await deals.get(ctx, actor=actor, deal_id=deal_id)).title
        back = DealCb(action="open", id=deal_id).pack()
    else:
        title = (
            await contacts.get_contact_for_work(ctx, actor=actor, contact_id=callback_data.id)
        ).name
        back = ContactCb(action="open", id=callback_data.id).pack()
    await show(
        query,
        documents_screen(
            request.t, request.timezone, title, found.items, found.total, callback_data, back
        ),
    )


def documents_screen(
    t: Texts,
    timezone: str,
    title: str,
    items: list[Document],
    total: int,
    shown: DocCb,
    back: str,
) -> Screen:
    text = t("documents-title", card=esc(title), count=total)
    if not items:
        text += "\n" + t("documents-none")
    rows = [
        [
            Button(
                text=button_text(
                    f"{d.file_name} · {local_time(d.created_at, timezone)} · "
                    f"{size_text(t, d.size_bytes)}"
                ),
                callback_data=DocCb(action="get", id=d.id).pack(),
            )
        ]
        for d in items
    ]
    pager = []
    if shown.page > 0:
        pager.append(Button(text="◀", callback_data=replace_page(shown, shown.page - 1)))
    if (shown.page + 1) * PAGE < total:
        pager.append(Button(text="▶", callback_data=replace_page(shown, shown.page + 1)))
    if pager:
        rows.append(pager)
    rows.append([Button(text=t("btn-documents-back"), callback_data=back)])
    return Screen(text, markup(rows))


def replace_page(shown: DocCb, page: int) -> str:
    return DocCb(action="list", kind=shown.kind, id=shown.id, page=page).pack()


async def send_back(query: CallbackQuery, callback_data: DocCb, bot: Bot, request: Request) -> None:
    ctx, actor = request.ctx, request.actor
    document = await service.get_document(ctx, actor=actor, document_id=callback_data.id)
    chat_id = query.from_user.id
    caption = request.t(
        "document-caption",
        name=esc(document.file_name),
        when=local_time(document.created_at, request.timezone),
    )
    if document.telegram_file_id and await _by_reference(bot, chat_id, document, caption):
        return
    _, data = await service.read_content(ctx, actor=actor, document_id=document.id)
    sent = await bot.send_document(
        chat_id, BufferedInputFile(data, filename=document.file_name), caption=caption
    )
    if sent.document is not None:
        await service.remember_telegram_file(
            ctx,
            document_id=document.id,
            file_id=sent.document.file_id,
            file_unique_id=sent.document.file_unique_id,
        )


async def _by_reference(bot: Bot, chat_id: int, document: Document, caption: str) -> bool:
    """Send by the kept Telegram reference; False when Telegram no longer takes it."""
    file_id = document.telegram_file_id
    assert file_id is not None
    senders: list[Callable[[], Awaitable[Message]]] = []
    if document.kind == "image":  # a photo's reference is sent as a photo
        senders.append(lambda: bot.send_photo(chat_id, file_id, caption=caption))
    senders.append(lambda: bot.send_document(chat_id, file_id, caption=caption))
    for send in senders:
        try:
            await send()
            return True
        except TelegramBadRequest:
            continue  # expired, from another bot, or of another type: try the next way
    return False


def router() -> Router:
    r = Router(name="documents")
    r.callback_query.outer_middleware(CardTaps())
    r.message.outer_middleware(CardTaps())
    r.message(FileForCard())(attach)
    r.message(FileWithoutCard())(no_card)
    r.callback_query(DocCb.filter(F.action == "list"))(list_documents)
    r.callback_query(DocCb.filter(F.action == "get"))(send_back)
    return r
