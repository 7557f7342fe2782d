"""The company bot as a client channel (issue 17 §1): clients write, salespeople answer.

1. Anyone not on the team who writes to the bot is a client (the user middleware gives their
   update a `client` request, bot/request.py; staff join only by invite, and a deactivated
   employee is still refused). Their
   message — text, photo, document, voice, video, video note, location, a shared contact,
   albums as one entry — goes to core.conversations.inbound: kept on the contact's
   timeline, relayed to the owner, slowed down when flooding, auto-answered out of hours.
   Service messages and what carries nothing (an empty update) are ignored with a log line.
2. A new client gets the welcome (their language, an admin's text if set) with a button to
   share their phone (`request_contact`); their own shared phone matches a known contact.
   The welcome to a first message goes through the outbox (queued by the use case, before
   anything else to that chat), so the handler never waits for Telegram's rate limit; at
   /start it is the bot's answer (`welcome_client`).
3. A staff member answers by replying to a relayed message, with text or any media: the
   client gets a copy from the bot. A grouped relay (several clients' messages as one, when
   they came faster than Telegram lets the bot write to one chat) sends the reply to the
   client it quotes, else the bot asks whom it is for (a button per client). "Write to
   client" on the card does the same without a relayed message; an admin blocks a client
   from the card (a second press lets them back).
4. A client's edited message keeps its earlier text in the history; a staff member's reply is
   never taken for a note (this router comes before the card's).
`/start` and `/stop` stay with bot/handlers/start.py (`welcome_client` is used there).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import ClientCb, ContactCb
from bot.handlers.common import answer, ask
from bot.handlers.contacts import card_screen
from bot.keyboards import client_keyboard
from bot.request import ClientRequest, Request
from bot.views.format import esc
from core.contacts.models import Contact
from core.conversations import clients, inbound, manage, relay, texts
from core.conversations.clients import IncomingMessage, file_of
from core.conversations.models import Conversation
from core.errors import NotFound, PermissionDenied

log = logging.getLogger(__name__)
OPEN_COMMANDS = ("/start", "/stop")


class ClientChat(StatesGroup):
    write = State()  # data: conversation_id


class IsClient(Filter):
    """The sender is not on the team (the user middleware says so), and it is no /start or
    /stop (joining, greetings opt-in and opt-out stay with the start router)."""

    async def __call__(self, message: Message, client: ClientRequest | None = None) -> bool:
        if client is None:
            return False
        first = (message.text or "").split(maxsplit=1)[:1]
        return not (first and first[0].split("@")[0] in OPEN_COMMANDS)


class RepliedToRelay(Filter):
    """A staff member's reply to a relayed client message; gives `targets`: the clients it
    shows (a grouped relay may show several; core.conversations.relay step 3)."""

    async def __call__(
        self, message: Message, request: Request | None = None
    ) -> bool | dict[str, list[relay.ReplyTarget]]:
        replied = message.reply_to_message
        if replied is None or request is None:
            return False
        ctx, actor = request.ctx, request.actor
        targets = await relay.reply_targets(
            ctx, actor=actor, staff_chat_id=message.chat.id, staff_message_id=replied.message_id
        )
        if not targets and replied.reply_markup is not None:
            # The relay is not recorded yet (its send is being recorded): its buttons say.
            named = [
                ClientCb.unpack(data).message
                for row in replied.reply_markup.inline_keyboard
                for button in row
                if (data := button.callback_data or "").startswith(ClientCb.__prefix__ + ":")
            ]
            if named:
                targets = await relay.targets_of_messages(ctx, actor=actor, message_ids=named)
        return {"targets": targets} if targets else False


def _file(message: Message) -> tuple[str, object] | None:
    """The message's media kind and object (the largest photo size)."""
    if message.photo:
        return "photo", message.photo[-1]
    for kind in ("document", "video", "voice", "video_note", "audio", "animation", "sticker"):
        value = getattr(message, kind, None)
        if value is not None:
            return kind, value
    return None


def _extra(message: Message) -> dict[str, object]:
    extra: dict[str, object] = {}
    if message.forward_origin is not None:
        extra["forwarded"] = message.forward_origin.type
    if message.has_protected_content:
        extra["protected"] = True
    return extra


def incoming_of(message: Message) -> IncomingMessage | None:
    """The message as core keeps it; None for a service message (nothing a person wrote)."""
    stored = IncomingMessage(
        telegram_message_id=message.message_id,
        sent_at=message.date,
        media_group_id=message.media_group_id,
        extra=_extra(message),
    )
    media = _file(message)
    if message.text is not None:
        stored.text = message.text
    elif media is not None:
        kind, item = media
        caption = message.caption or (getattr(item, "emoji", None) if kind == "sticker" else None)
        stored = replace(stored, kind=kind, text=caption, **file_of(item))
    elif message.contact is not None:
        card = message.contact
        stored.kind, stored.text = (
            "contact",
            " ".join(p for p in (card.first_name, card.last_name or "", card.phone_number) if p),
        )
        stored.extra.update(phone=card.phone_number, user_id=card.user_id)
    elif message.venue is not None:
        venue = message.venue
        stored.kind, stored.text = "location", f"{venue.title}, {venue.address}"
        stored.extra.update(latitude=venue.location.latitude, longitude=venue.location.longitude)
    elif message.location is not None:
        stored.kind = "location"
        stored.extra.update(
            latitude=message.location.latitude, longitude=message.location.longitude
        )
    elif message.poll is not None:
        stored.kind, stored.text = "other", message.poll.question
        stored.extra["type"] = "poll"
    elif message.dice is not None:
        stored.kind, stored.text = "other", message.dice.emoji
        stored.extra.update(type="dice", value=message.dice.value)
    else:
        return None
    return stored


async def welcome_client(
    message: Message, client: ClientRequest, language: str | None, *, show_id: bool = False
) -> None:
    """The welcome in the client's language, with the share-phone button (step 2); at /start
    it ends with their Telegram id in small print (an employee-to-be finds it there)."""
    t = client.t
    text = esc(await texts.get(client.ctx, key=texts.WELCOME, locale=language))
    await client.ctx.session.commit()  # ends the read before Telegram is called
    if show_id and message.from_user is not None:
        text += "\n\n" + t("client-start-id", id=str(message.from_user.id))
    await message.answer(text, reply_markup=client_keyboard(t))


PUBLIC_LINK = "hello"  # start=hello or start=hello_<source tag>
SOURCE_MAX = 64


def public_source(payload: str) -> str | None:
    """The source tag of a public link's payload ("hello" alone: "hello"); None otherwise."""
    if payload == PUBLIC_LINK:
        return PUBLIC_LINK
    if payload.startswith(PUBLIC_LINK + "_") and len(payload) > len(PUBLIC_LINK) + 1:
        return payload[len(PUBLIC_LINK) + 1 :][:SOURCE_MAX]
    return None


async def start_client(
    message: Message,
    client: ClientRequest,
    *,
    source: str | None,
    contact: Contact | None = None,
) -> inbound.Outcome:
    """A client's /start: their conversation opens (or is found), with where they came from."""
    return await inbound.start(
        client.ctx,
        person=client.person,
        chat_id=message.chat.id,
        source=source,
        contact=contact,
    )


async def client_message(message: Message, client: ClientRequest) -> None:
    """Step 1."""
    stored = incoming_of(message)
    if stored is None:
        log.info("client chat %s: service message %s ignored", message.chat.id, message.message_id)
        return
    person, t = client.person, client.t
    outcome = await inbound.receive(
        client.ctx, person=person, chat_id=message.chat.id, message=stored
    )
    if outcome.new_conversation:
        return  # the welcome is on its way through the outbox (core.conversations.inbound)
    if stored.kind == "contact" and stored.extra.get("user_id") == person.user_id:
        await message.answer(t("client-phone-thanks"), reply_markup=client_keyboard(t, phone=False))


async def client_edited(message: Message, client: ClientRequest) -> None:
    """Step 4: the client edited a message (its earlier text kept)."""
    ctx = client.ctx
    conversation = await clients.find_conversation(ctx, chat_id=message.chat.id)
    if conversation is None or conversation.status == "blocked":
        return
    await clients.log_edit(
        ctx,
        conversation=conversation,
        telegram_message_id=message.message_id,
        text_value=message.text if message.text is not None else message.caption,
        edited_at=edited if isinstance(edited := message.edit_date, datetime) else ctx.clock.now(),
    )
    await ctx.session.commit()


async def _write(message: Message, request: Request, conversation: Conversation) -> bool:
    stored = incoming_of(message)
    if stored is None:
        return False
    await manage.write(
        request.ctx,
        actor=request.actor,
        conversation=conversation,
        copy_of=(message.chat.id, message.message_id),
        message=stored,
    )
    return True


async def answer_by_reply(
    message: Message, targets: list[relay.ReplyTarget], request: Request
) -> None:
    """Step 3: the reply goes to the client (silence means it is on its way). A grouped relay
    showing several clients: the one the reply quotes, else the bot asks whom it is for."""
    t = request.t
    if incoming_of(message) is None:
        await message.reply(t("client-reply-unsupported"))
        return
    quote = message.quote.text if message.quote is not None else None
    chosen = relay.choose(targets, quote)
    if len(chosen) == 1:
        await _write(message, request, chosen[0].conversation)
        return
    await request.ctx.session.commit()  # ends the read before Telegram is called
    rows = [
        [
            InlineKeyboardButton(
                text=t("btn-client-card", name=(target.contact.name or "")[:32]),
                callback_data=ClientCb(
                    action="to", id=target.contact.id, message=target.message_id
                ).pack(),
            )
        ]
        for target in chosen
    ]
    await message.reply(
        t("client-reply-which"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def answer_chosen(query: CallbackQuery, callback_data: ClientCb, request: Request) -> None:
    """Step 3: the salesperson said whom their reply to a grouped relay is for; the reply is
    the message the bot's question answered (sent once: the question loses its buttons)."""
    asked = query.message if isinstance(query.message, Message) else None
    reply = asked.reply_to_message if asked is not None else None
    if asked is None or reply is None:
        raise NotFound("the answer to send is gone")
    ctx, t = request.ctx, request.t
    conversation = await relay.conversation_of_message(
        ctx, actor=request.actor, message_id=callback_data.message
    )
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if not await _write(reply, request, conversation):
        await asked.edit_text(t("client-reply-unsupported"))
        return
    done = t("client-reply-sent-to", name=esc(contact.name if contact else ""))
    await asked.edit_text(done, reply_markup=None)


async def ask_write(
    query: CallbackQuery, callback_data: ContactCb, request: Request, state: FSMContext
) -> None:
    """ "Write to client" on the card: the next message goes to the client."""
    ctx, t = request.ctx, request.t
    conversation = await manage.conversation_of_contact(
        ctx, actor=request.actor, contact_id=callback_data.id
    )
    contact = await ctx.session.get(Contact, conversation.contact_id)
    name = esc(contact.name if contact else "")
    prompt = t("client-write-prompt", name=name)
    await ask(query, t, state, ClientChat.write, {"conversation_id": conversation.id}, prompt)


async def write_to_client(message: Message, request: Request, state: FSMContext) -> None:
    data = await state.get_data()
    conversation = await request.ctx.session.get(Conversation, data.get("conversation_id"))
    if conversation is None:
        await state.clear()
        raise NotFound("the conversation is gone")
    if not await _write(message, request, conversation):
        await message.reply(request.t("client-reply-unsupported"))
        return
    await state.clear()
    await message.answer(request.t("client-write-sent"))


async def open_card(query: CallbackQuery, callback_data: ClientCb, request: Request) -> None:
    """[Open card] on a relayed message."""
    await answer(query, await card_screen(request, callback_data.id))


async def toggle_block(
    query: CallbackQuery,
    callback_data: ContactCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """An admin blocks the client from the card, or lets them write again."""
    ctx, actor = request.ctx, request.actor
    current = await manage.conversation_of_contact(ctx, actor=actor, contact_id=callback_data.id)
    blocked = current.status != "blocked"
    await manage.set_blocked(ctx, actor=actor, contact_id=callback_data.id, blocked=blocked)
    callback_answer.text = request.t("client-blocked" if blocked else "client-unblocked")


async def client_texts(message: Message, command: CommandObject, request: Request) -> None:
    """/clienttext (admins): show the texts to clients, or set one (`key locale text`)."""
    ctx, t, actor = request.ctx, request.t, request.actor
    args = (command.args or "").split(maxsplit=2)
    if len(args) < 2:
        if not actor.is_admin:
            raise PermissionDenied("only an admin edits the texts to clients", code="admin-only")
        lines = [t("client-text-usage")]
        for key in texts.KEYS:
            for locale in texts.LOCALES:
                current = esc(await texts.get(ctx, key=key, locale=locale))
                lines.append(t("client-text-current", name=key, language=locale, text=current))
        await ctx.session.commit()
        await message.answer("\n\n".join(lines))
        return
    key, locale = args[0], args[1]
    saved = await texts.set_text(
        ctx, actor=actor, key=key, locale=locale, text=args[2] if len(args) > 2 else ""
    )
    await message.answer(t("client-text-saved", text=esc(saved)))


def router() -> Router:
    """Client messages and replies to relays: first of all routers (before flows and notes)."""
    r = Router(name="clients")
    r.message.register(client_message, IsClient())
    r.edited_message.register(client_edited, IsClient())
    r.message.register(answer_by_reply, RepliedToRelay())
    return r


def card_router() -> Router:
    """The card's Write-to-client and Block buttons, and the message written to the client
    (after the dialogs router, so «cancel» ends it instead of reaching the client)."""
    r = Router(name="clients-card")
    r.callback_query.register(ask_write, ContactCb.filter(F.action == "cwrite"))
    r.callback_query.register(toggle_block, ContactCb.filter(F.action == "cblock"))
    r.callback_query.register(open_card, ClientCb.filter(F.action == "card"))
    r.callback_query.register(answer_chosen, ClientCb.filter(F.action == "to"))
    r.message.register(write_to_client, ClientChat.write, ~F.text.startswith("/"))
    r.message.register(client_texts, Command("clienttext"))
    return r
