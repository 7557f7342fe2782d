"""Client chats in the company bot: how their outbox rows become Telegram requests.

1. `client_relay` (a client's message to a staff member): one message where Telegram allows —
   text: the header (who wrote) and the text in one message; media that takes a caption: a
   copy (`copyMessage`, no "forwarded" header) with the header and the client's caption as its
   caption. Otherwise (media without a caption, a caption too long with the header, an album)
   the header message and then the copy (`copyMessages` for an album). The header carries the
   [Open card] button. Every message it becomes is recorded as a relay (a reply to any of
   them answers the client). The recipient must still see the contact when it goes.
2. `client_message` (to the client): a copy of the staff member's own message (any media),
   else the file by its Telegram `file_id` with the text as caption, else the text, sent as
   plain text (no HTML: the client's words are not markup). Sent once: a message already
   marked sent renders as nothing.
3. `client_blocked`: the salesperson is told the client blocked the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.enums import ParseMode
from aiogram.methods import (
    CopyMessage,
    CopyMessages,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ClientCb, ContactCb
from bot.i18n import Texts
from bot.notifications import Rendered
from bot.text_split import CAPTION_LIMIT, MESSAGE_LIMIT, split_html, telegram_length
from bot.views.format import esc
from core import access
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage, Conversation
from core.users.models import User

log = logging.getLogger(__name__)
KIND_LABELS = ("album", "video_note", "sticker", "location", "contact", "other")
CAPTIONED = ("photo", "document", "video", "audio", "voice", "animation")
COPYABLE = (*CAPTIONED, "text", "video_note", "sticker", "location", "venue", "contact")
SENDERS: dict[str, Callable[..., TelegramMethod[Any]]] = {
    "photo": lambda chat_id, file_id, **kw: SendPhoto(chat_id=chat_id, photo=file_id, **kw),
    "document": lambda chat_id, file_id, **kw: SendDocument(
        chat_id=chat_id, document=file_id, **kw
    ),
    "video": lambda chat_id, file_id, **kw: SendVideo(chat_id=chat_id, video=file_id, **kw),
    "audio": lambda chat_id, file_id, **kw: SendAudio(chat_id=chat_id, audio=file_id, **kw),
    "voice": lambda chat_id, file_id, **kw: SendVoice(chat_id=chat_id, voice=file_id, **kw),
    "animation": lambda chat_id, file_id, **kw: SendAnimation(
        chat_id=chat_id, animation=file_id, **kw
    ),
}


def _card_button(t: Texts, contact_id: int, message_id: int | None = None) -> InlineKeyboardMarkup:
    """[Open card]; on a relay it also names the relayed message (ClientCb)."""
    data = (
        ClientCb(action="card", id=contact_id, message=message_id).pack()
        if message_id is not None
        else ContactCb(action="open", id=contact_id).pack()
    )
    button = InlineKeyboardButton(text=t("btn-card"), callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def header(t: Texts, contact: Contact, message: ChatMessage) -> str:
    """Who wrote, and what when it is no text (the relay's first line)."""
    line = t("client-relay-header", name=esc(contact.name))
    if message.kind not in ("text", *CAPTIONED) or message.media_group_id:
        kind = "album" if message.media_group_id else message.kind
        kind = kind if t.has(f"client-kind-{kind}") else "other"
        line += " " + t(f"client-kind-{kind}")
    if (message.extra or {}).get("forwarded"):
        line += " " + t("client-forwarded")
    return line


def relay_methods(
    t: Texts, chat_id: int, client_chat_id: int, contact: Contact, message: ChatMessage
) -> list[TelegramMethod[Any]]:
    """The requests that show a client's message to a staff member (step 1)."""
    card = _card_button(t, contact.id, message.id)
    top = header(t, contact, message)
    body = esc(message.text) if message.text else ""
    full = f"{top}\n{body}" if body else top
    extra = message.extra or {}
    items = [i["message_id"] for i in extra.get("items") or [] if isinstance(i, dict)]
    source = message.telegram_message_id
    if message.kind == "text" or source is None or extra.get("protected"):
        parts = split_html(full, MESSAGE_LIMIT)
        return [
            SendMessage(
                chat_id=chat_id,
                text=part,
                parse_mode=ParseMode.HTML,
                reply_markup=card if last else None,
            )
            for last, part in ((i == len(parts) - 1, p) for i, p in enumerate(parts))
        ]
    if message.media_group_id and len(items) > 1:
        first = SendMessage(
            chat_id=chat_id, text=full, parse_mode=ParseMode.HTML, reply_markup=card
        )
        album = CopyMessages(
            chat_id=chat_id, from_chat_id=client_chat_id, message_ids=sorted(items)
        )
        return [first, album]
    if message.kind in CAPTIONED and telegram_length(full) <= CAPTION_LIMIT:
        return [
            CopyMessage(
                chat_id=chat_id,
                from_chat_id=client_chat_id,
                message_id=source,
                caption=full,
                parse_mode=ParseMode.HTML,
                reply_markup=card,
            )
        ]
    parts = split_html(full, MESSAGE_LIMIT)
    texts_first: list[TelegramMethod[Any]] = [
        SendMessage(
            chat_id=chat_id,
            text=part,
            parse_mode=ParseMode.HTML,
            reply_markup=card if last else None,
        )
        for last, part in ((i == len(parts) - 1, p) for i, p in enumerate(parts))
    ]
    if message.kind not in COPYABLE:
        return texts_first
    return [
        *texts_first,
        CopyMessage(chat_id=chat_id, from_chat_id=client_chat_id, message_id=source),
    ]


def _plain_parts(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    parts, rest = [], text
    while telegram_length(rest) > limit:
        cut = limit // 2  # characters; safe for any mix of UTF-16 widths
        space = rest.rfind("\n", cut // 2, cut)
        cut = space if space > 0 else cut
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return [*parts, rest] if rest.strip() else parts


def client_methods(chat_id: int, message: ChatMessage) -> list[TelegramMethod[Any]]:
    """The requests that deliver a message to a client (step 2)."""
    copy_of = (message.extra or {}).get("copy_of")
    if isinstance(copy_of, list) and len(copy_of) == 2:
        return [CopyMessage(chat_id=chat_id, from_chat_id=copy_of[0], message_id=copy_of[1])]
    text = message.text or ""
    sender = SENDERS.get(message.kind)
    if message.file_id and sender is not None:
        if telegram_length(text) <= CAPTION_LIMIT:
            return [sender(chat_id, message.file_id, caption=text or None, parse_mode=None)]
        media = sender(chat_id, message.file_id)
        return [
            media,
            *(SendMessage(chat_id=chat_id, text=p, parse_mode=None) for p in _plain_parts(text)),
        ]
    if message.file_id and message.kind == "video_note":
        return [SendVideoNote(chat_id=chat_id, video_note=message.file_id)]
    return [SendMessage(chat_id=chat_id, text=p, parse_mode=None) for p in _plain_parts(text)]


async def render_relay(
    ctx: Ctx, t: Texts, user: User | None, chat_id: int, payload: dict[str, Any]
) -> Rendered | None:
    """A `client_relay` row (step 1); None when it is gone or no longer theirs to see."""
    message = await ctx.session.get(ChatMessage, payload.get("chat_message_id"))
    if message is None or user is None:
        return None
    conversation = await ctx.session.get(Conversation, message.conversation_id)
    contact = await ctx.session.get(Contact, message.contact_id)
    if conversation is None or contact is None:
        return None
    if not access.may_see_conversation(ctx, Actor.of_user(user), contact):
        log.info("relay of message %s: user %s may no longer see the client", message.id, user.id)
        return None
    methods = relay_methods(t, chat_id, conversation.chat_id, contact, message)
    return Rendered(chat_id=chat_id, text="", methods=methods)


async def render_client_message(
    ctx: Ctx, t: Texts, user: User | None, chat_id: int, payload: dict[str, Any]
) -> Rendered | None:
    """A `client_message` row (step 2); None once sent or when the chat is closed."""
    message = await ctx.session.get(ChatMessage, payload.get("chat_message_id"))
    if message is None or message.status != "pending":
        return None
    conversation = await ctx.session.get(Conversation, message.conversation_id)
    if conversation is None or conversation.status == "closed":
        return None
    return Rendered(chat_id=chat_id, text="", methods=client_methods(chat_id, message))


async def render_blocked(
    ctx: Ctx, t: Texts, user: User | None, chat_id: int, payload: dict[str, Any]
) -> Rendered | None:
    """`client_blocked` (step 3)."""
    contact = await ctx.session.get(Contact, payload.get("contact_id"))
    if contact is None or user is None:
        return None
    text = t("client-blocked-bot", name=esc(contact.name))
    return Rendered(chat_id=chat_id, text=text, reply_markup=_card_button(t, contact.id))


ClientRenderer = Callable[
    [Ctx, Texts, User | None, int, dict[str, Any]], Awaitable[Rendered | None]
]
RENDERERS: dict[str, ClientRenderer] = {
    "client_relay": render_relay,
    "client_message": render_client_message,
    "client_blocked": render_blocked,
}
