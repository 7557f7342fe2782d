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
   marked sent renders as nothing. The welcome (`extra.keyboard == "client"`) carries the
   client's reply keyboard in the conversation's language.
3. `client_blocked`: the salesperson is told the client blocked the bot.
4. Grouped relays (`render_relay_group`): when several `client_relay` rows wait for one staff
   chat (the outbox sender hands them over together once the chat's ~1 message a second
   budget lets the next one go), their texts go as ONE message: grouped by client in the
   order they first wrote, each client's header then their messages in order, and a card
   button per client shown. Over Telegram's 4096 characters it is split between messages
   (a client's header repeated where a part starts with them; one giant text cut cleanly by
   `split_html`). Media (and anything not sent as text) is copied after it as in step 1,
   each with its own header. Every part records which rows it shows (`GroupRendered.shows`),
   so the relays recorded say which client each staff message shows, and a reply to it still
   reaches the right client (core.conversations.relay `reply_targets`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClientCb, ContactCb
from bot.deps import BotDeps
from bot.i18n import Texts, texts
from bot.keyboards import client_keyboard
from bot.notifications import Rendered
from bot.text_split import CAPTION_LIMIT, MESSAGE_LIMIT, split_html, telegram_length
from bot.views.format import esc
from core import access
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage, Conversation
from core.outbox.models import Notification
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


def as_text(message: ChatMessage) -> bool:
    """A relay that goes as text alone (no copy of the client's message): step 1's first case."""
    extra = message.extra or {}
    return (
        message.kind == "text"
        or message.telegram_message_id is None
        or bool(extra.get("protected"))
    )


def _texts(chat_id: int, html: str, card: InlineKeyboardMarkup) -> list[TelegramMethod[Any]]:
    """The relay's text as messages of MESSAGE_LIMIT at most, the card button on the last."""
    parts = split_html(html, MESSAGE_LIMIT)
    return [
        SendMessage(
            chat_id=chat_id,
            text=part,
            parse_mode=ParseMode.HTML,
            reply_markup=card if last else None,
        )
        for last, part in ((i == len(parts) - 1, p) for i, p in enumerate(parts))
    ]


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
    if source is None or as_text(message):
        return _texts(chat_id, full, card)
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
    texts_first = _texts(chat_id, full, card)
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
    methods = client_methods(chat_id, message)
    if (message.extra or {}).get("keyboard") == "client" and isinstance(methods[-1], SendMessage):
        # The welcome: the client's keyboard comes with it (bot.keyboards.client_keyboard).
        keyboard = client_keyboard(texts(conversation.language or "ru"))
        methods[-1] = methods[-1].model_copy(update={"reply_markup": keyboard})
    return Rendered(chat_id=chat_id, text="", methods=methods)


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


@dataclass
class GroupRendered(Rendered):
    """Several `client_relay` rows of one staff chat as the requests that show them (step 4)."""

    shows: list[list[int]] = field(default_factory=list)  # per request: the rows it shows
    skipped: list[int] = field(default_factory=list)  # rows with nothing left to show


_Shown = tuple[int, ChatMessage]  # (notification id, the client message)
BUTTON_NAME = 32  # characters of a client's name on their card button


def _client_cards(t: Texts, cards: list[tuple[Contact, int]]) -> InlineKeyboardMarkup:
    """One [👤 name] button per client a grouped relay shows (opens the card, step 4)."""
    rows = [
        [
            InlineKeyboardButton(
                text=t("btn-client-card", name=(contact.name or "")[:BUTTON_NAME]),
                callback_data=ClientCb(action="card", id=contact.id, message=message_id).pack(),
            )
        ]
        for contact, message_id in cards
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _line(t: Texts, contact: Contact, message: ChatMessage) -> str:
    """One client message in a grouped relay: what the header of step 1 would add, then the
    text."""
    label = header(t, contact, message)[len(t("client-relay-header", name=esc(contact.name))) :]
    body = esc(message.text) if message.text else ""
    return " ".join(p for p in (label.strip(), body) if p)


@dataclass
class _Part:
    lines: list[str] = field(default_factory=list)
    shows: list[int] = field(default_factory=list)
    cards: list[tuple[Contact, int]] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines)


def group_parts(
    t: Texts, sections: list[tuple[Contact, list[_Shown]]], limit: int = MESSAGE_LIMIT
) -> list[_Part]:
    """The grouped texts as messages of at most `limit` (step 4): sections of clients, a
    client's header again where a part starts inside their section."""
    parts: list[_Part] = []
    current = _Part()
    for contact, shown in sections:
        head = t("client-relay-header", name=esc(contact.name))
        for nid, message in shown:
            line = _line(t, contact, message)
            opens = not current.cards or current.cards[-1][0].id != contact.id
            addition = ([""] if current.lines and opens else []) + ([head] if opens else [])
            candidate = "\n".join([*current.lines, *addition, line])
            if telegram_length(candidate) > limit and current.lines:
                parts.append(current)
                current, opens, addition = _Part(), True, [head]
            if opens:
                current.cards.append((contact, message.id))
            alone = "\n".join([*current.lines, *addition, line])
            if telegram_length(alone) > limit:  # one text longer than a message: cut it
                pieces = split_html("\n".join([*addition, line]), limit)
                for piece in pieces[:-1]:
                    parts.append(_Part([piece], [nid], [(contact, message.id)]))
                current = _Part([pieces[-1]], [nid], [(contact, message.id)])
                continue
            current.lines += [*addition, line]
            current.shows.append(nid)
    if current.lines:
        parts.append(current)
    return parts


async def render_relay_group(
    session: AsyncSession, deps: BotDeps, rows: list[Notification]
) -> GroupRendered | None:
    """`client_relay` rows of one staff chat, waiting together, as one message (step 4);
    None when none of them has anything left to show."""
    first = rows[0]
    user = await session.get(User, first.user_id) if first.user_id is not None else None
    if user is None or not user.active or user.telegram_user_id is None:
        return None
    chat_id = first.chat_id or user.telegram_user_id
    t = texts(user.locale or deps.default_locale)
    ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
    actor = Actor.of_user(user)
    sections: dict[int, tuple[Contact, list[_Shown]]] = {}
    media: list[tuple[int, Contact, Conversation, ChatMessage]] = []
    skipped: list[int] = []
    for row in rows:
        message = await session.get(ChatMessage, (row.payload or {}).get("chat_message_id"))
        conversation = await session.get(Conversation, message.conversation_id) if message else None
        contact = await session.get(Contact, message.contact_id) if message else None
        if message is None or conversation is None or contact is None:
            skipped.append(row.id)
            continue
        if not access.may_see_conversation(ctx, actor, contact):
            log.info("relay of message %s: user %s may no longer see it", message.id, user.id)
            skipped.append(row.id)
            continue
        if as_text(message):
            sections.setdefault(contact.id, (contact, []))[1].append((row.id, message))
        else:
            media.append((row.id, contact, conversation, message))
    rendered = GroupRendered(chat_id=chat_id, text="", methods=[], skipped=skipped)
    assert rendered.methods is not None
    for part in group_parts(t, list(sections.values())):
        rendered.methods.append(
            SendMessage(
                chat_id=chat_id,
                text=part.text(),
                parse_mode=ParseMode.HTML,
                reply_markup=_client_cards(t, part.cards),
            )
        )
        rendered.shows.append(part.shows)
    for nid, contact, conversation, message in media:
        for method in relay_methods(t, chat_id, conversation.chat_id, contact, message):
            rendered.methods.append(method)
            rendered.shows.append([nid])
    return rendered if rendered.methods else None
