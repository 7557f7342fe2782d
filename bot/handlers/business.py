"""Telegram Business: the salesperson's own chats, logged; never a message on their behalf.

1. `business_connection`: recorded by core (active for a staff member, refused and logged for
   anyone else, disabled when switched off); the salesperson hears of it through the outbox.
2. `business_message` / `edited_business_message` / `deleted_business_messages`: read into
   core's records and logged (or ignored with a line: a service message, an excluded chat, a
   connection that is not active, a sender who is neither side of the chat). Nothing is sent
   from here: no reply into a business chat, ever.
3. A connection core has never seen (its update was lost, or came before the bot listened
   for it) is asked of Telegram once (`getBusinessConnection`) and recorded like any other;
   one Telegram does not know (a crafted id) leaves the update ignored.
4. `/business` lists the salesperson's chats with a toggle each; the notice of a new chat has
   the same toggle. Excluding a chat deletes what was logged from it.
5. Messages, edits and deletions go through the process' group commit (`BusinessUpdate.log`,
   core/conversations/business_writer.py): a burst of them shares a few commits.
The updates of 1–3 come with no user: their handlers take a `business_update`; `/business`
and its toggles are a team member's `request` (bot/request.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BusinessConnection, BusinessMessagesDeleted, CallbackQuery, Message

from bot.business_read import chat_in, connection_in, message_in
from bot.callbacks import BusinessCb
from bot.handlers.common import show
from bot.request import BusinessUpdate, Request
from bot.views import business as views
from bot.views.format import Screen
from core.context import Ctx
from core.conversations import business, business_chats, business_connections
from core.conversations.business import Logged, MessageIn

log = logging.getLogger(__name__)
CHATS_LIMIT = 20

Unit = Callable[[Ctx, str, MessageIn], Awaitable[Logged]]


async def connection_changed(
    business_connection: BusinessConnection, business_update: BusinessUpdate
) -> None:
    connection = connection_in(business_connection)
    await business_connections.record_connection(business_update.ctx, connection=connection)


async def new_message(message: Message, business_update: BusinessUpdate, bot: Bot) -> None:
    await _log(business_update, bot, message, business.message_unit)


async def edited_message(message: Message, business_update: BusinessUpdate, bot: Bot) -> None:
    await _log(business_update, bot, message, business.edit_unit)


async def deleted_messages(
    deleted: BusinessMessagesDeleted, business_update: BusinessUpdate
) -> None:
    connection_id, chat = deleted.business_connection_id, chat_in(deleted.chat)
    ids = list(deleted.message_ids)
    await business_update.log.apply(lambda c: business.deletion_unit(c, connection_id, chat, ids))


async def _log(update: BusinessUpdate, bot: Bot, message: Message, unit: Unit) -> None:
    """Log the message through the process' group commit; a connection never seen is asked
    of Telegram once, then the message is logged again."""
    connection_id = message.business_connection_id
    incoming = message_in(message)
    if not connection_id or incoming is None:
        log.info("business message %s ignored: nothing a person wrote", message.message_id)
        return
    outcome = await update.log.apply(lambda c: unit(c, connection_id, incoming))
    if outcome == "unknown_connection" and await _fetch_connection(update.ctx, bot, connection_id):
        outcome = await update.log.apply(lambda c: unit(c, connection_id, incoming))
    if outcome == "unknown_connection":
        log.info("business message ignored: its connection is not ours")


async def _fetch_connection(ctx: Ctx, bot: Bot, connection_id: str) -> bool:
    """Ask Telegram about a connection core has not seen; True once it is recorded."""
    try:
        connection = await bot.get_business_connection(business_connection_id=connection_id)
    except TelegramAPIError as exc:
        log.warning("business connection unknown to Telegram too (%s)", type(exc).__name__)
        return False
    if connection.id != connection_id:
        return False
    await business_connections.record_connection(ctx, connection=connection_in(connection))
    return True


async def my_chats(message: Message, request: Request) -> None:
    """/business: the connection's state, or how to connect, and the chats with toggles."""
    screen = await _chats_screen(request)
    await message.answer(screen.text, reply_markup=screen.markup)


async def toggle_chat(query: CallbackQuery, callback_data: BusinessCb, request: Request) -> None:
    """[Don't log this chat] / [Log this chat]: on the notice, or in the /business list."""
    chat = await business_chats.set_excluded(
        request.ctx,
        actor=request.actor,
        conversation_id=callback_data.id,
        excluded=callback_data.action == "off",
    )
    if callback_data.view == "l":
        await show(query, await _chats_screen(request))
    else:
        await show(query, views.toggled(request.t, chat.conversation, chat.contact))


async def _chats_screen(request: Request) -> Screen:
    ctx, actor, username = request.ctx, request.actor, request.deps.bot_username
    connection = await business_connections.connection_of(ctx, user_id=request.user.id)
    chats = await business_chats.my_chats(ctx, actor=actor, limit=CHATS_LIMIT)
    bot = f"@{username}" if username else "—"
    return views.chats(request.t, connection, chats, bot)


def router() -> Router:
    router = Router(name="business")
    router.business_connection.register(connection_changed)
    router.business_message.register(new_message)
    router.edited_business_message.register(edited_message)
    router.deleted_business_messages.register(deleted_messages)
    router.message.register(my_chats, Command("business"))
    router.callback_query.register(toggle_chat, BusinessCb.filter(F.action.in_({"on", "off"})))
    return router
