"""Joining and being recognised: /start <code>, client opt-in (c_<token>), /stop, /lang.

1. `/start <invite code>` registers this Telegram account with the invite's role, once.
2. `/start c_<token>` is a client opening the salesperson's greeting link: consent recorded
   (core.contacts.consent). A dead link (spent, rotated, expired, unknown) gets one friendly
   answer naming nobody — or "you are already subscribed" when this chat already is.
3. `/start` alone greets an employee with the reply keyboard; anyone else is a client: their
   conversation with the company opens and they get the welcome with the share-phone button
   (bot/handlers/clients.py). So does the public link `start=hello` or `start=hello_<tag>`
   (a website, a QR code), the tag kept as the conversation's source; an opted-in client
   (`c_<token>`) gets the same conversation, source "greeting".
4. `/stop` is final for greetings: consent off, the link dead, the chat unbound; the reply
   says how to subscribe again (a new link from their manager). It does not close the
   client's conversation: they can still write to the company, and be answered.
   `/lang` switches the language (and shows the help of the user's role). `/invite` and
   `/help` live in bot/handlers/invites.py.
5. `/start` and `/stop` answer everyone: a team member (their `request`), a client (their
   `client` request) and a switched-off account, which has neither (bot/request.py); so they
   take the session and texts one by one, and the two requests as optional.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import LangCb
from bot.handlers import clients
from bot.handlers.common import show
from bot.i18n import LOCALES, Texts, pick_locale, texts
from bot.keyboards import client_keyboard, main_keyboard
from bot.menus import help_text, set_menu_for
from bot.request import ClientRequest, Request
from bot.views.format import Screen, esc, markup
from core.contacts import consent
from core.context import Ctx
from core.users import service as users


async def start(
    message: Message,
    command: CommandObject,
    ctx: Ctx,
    t: Texts,
    state: FSMContext,
    request: Request | None = None,
    client: ClientRequest | None = None,
) -> None:
    """/start: a client's opt-in link, an invite, a welcome back, or a client's welcome."""
    await state.clear()
    user = request.user if request is not None else None
    payload = (command.args or "").strip()
    tg = message.from_user
    assert tg is not None
    if payload.startswith(consent.TOKEN_PREFIX):
        chat_id = message.chat.id
        try:
            accepted = await consent.accept(
                ctx, token=payload[len(consent.TOKEN_PREFIX) :], chat_id=chat_id
            )
        except consent.LinkDead:
            subscribed = await consent.is_subscribed(ctx, chat_id=chat_id)
            await message.answer(t("client-link-subscribed" if subscribed else "client-link-dead"))
            return
        if client is not None:  # their chat with the company
            await clients.start_client(message, client, source="greeting", contact=accepted)
        await message.answer(t("client-welcome"), reply_markup=client_keyboard(t))
        return
    if user is not None and payload:
        # An invite opened by someone already on the team changes nothing: say so and
        # how a role is changed, instead of a welcome that hides it.
        await message.answer(
            t("invite-already-member", name=esc(user.name), role=t("role-" + user.role)),
            reply_markup=main_keyboard(t),
        )
        return
    if user is not None:
        await message.answer(t("welcome-back", name=esc(user.name)), reply_markup=main_keyboard(t))
        return
    if not payload and not await users.has_staff(ctx):
        # Nobody works here yet, so there is no admin to ask: say how the first is made.
        await message.answer(t("first-admin-how", id=str(tg.id)))
        return
    if client is None:  # a switched-off account
        await message.answer(t("refused-inactive", id=str(tg.id)))
        return
    source = clients.public_source(payload)
    if not payload or source is not None:  # a client: /start, or the public link
        outcome = await clients.start_client(message, client, source=source)
        await clients.welcome_client(
            message, client, outcome.conversation.language, show_id=not payload
        )
        return
    joined = await users.accept_invite(
        ctx,
        code=payload,
        telegram_user_id=tg.id,
        name=tg.full_name,
        username=tg.username,
        locale=pick_locale(tg.language_code),
    )
    t = texts(joined.locale)
    if message.bot is not None:
        await set_menu_for(message.bot, joined)  # their role's commands, at once
    await message.answer(
        t("joined", name=esc(joined.name), role=t("role-" + joined.role)),
        reply_markup=main_keyboard(t),
    )


async def stop(message: Message, ctx: Ctx, t: Texts, request: Request | None = None) -> None:
    """/stop: greetings off for good (a client's conversation stays open)."""
    changed = await consent.revoke(ctx, chat_id=message.chat.id)
    if changed:
        await message.answer(t("client-stopped-final"))
    elif request is not None:
        await message.answer(t("stop-nothing"))
    else:
        await message.answer(t("client-stop-nothing"))


async def lang(message: Message, request: Request) -> None:
    """/lang: the languages as buttons."""
    rows = [
        [Button(text=texts(code)("lang-name"), callback_data=LangCb(locale=code).pack())]
        for code in LOCALES
    ]
    await message.answer(request.t("lang-which"), reply_markup=markup(rows))


async def set_lang(query: CallbackQuery, callback_data: LangCb, request: Request) -> None:
    """A language picked: saved, said in it, and the role's help in it."""
    user = request.user
    updated = await users.update_profile(
        request.ctx, actor=request.actor, user_id=user.id, locale=callback_data.locale
    )
    t = texts(updated.locale)
    await show(query, Screen(t("lang-set")))
    if query.bot is not None:
        await query.bot.send_message(
            user.telegram_user_id or query.from_user.id,
            help_text(t, updated.role),
            reply_markup=main_keyboard(t),
        )


def router() -> Router:
    r = Router(name="start")
    r.message.register(start, Command("start"))
    r.message.register(stop, Command("stop"))
    r.message.register(lang, Command("lang"))
    r.callback_query.register(set_lang, LangCb.filter())
    return r
