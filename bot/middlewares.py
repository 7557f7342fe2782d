"""Per-update middlewares: errors → friendly replies, one DB session, the current user.

Order (outermost first, after aiogram's own): errors, session, user. The user middleware
gives each update the object its handlers take (bot/request.py): a team member's `request`,
a client's `client` (anyone not on the team who writes: bot/handlers/clients.py), a Telegram
Business update's `business_update`. A client's buttons get a neutral refusal. Deactivated
accounts only reach `/start` and `/stop` (with neither object); everything else gets a
refusal that shows their Telegram id. Group chats get "private chats only".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.callback_answer import CallbackAnswer

from bot.deps import BotDeps
from bot.i18n import Texts, pick_locale, texts
from bot.request import BusinessUpdate, ClientRequest, Request
from bot.views.format import esc
from core.context import Actor, Ctx
from core.conversations.clients import TelegramPerson
from core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from core.telemetry import log_context
from core.users import service as users
from core.users.models import User

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
OPEN_COMMANDS = ("/start", "/stop")


def error_text(t: Texts, error: DomainError, *, html: bool = True) -> str:
    """A short, friendly sentence for a core error, wholly in the user's language.

    1. A coded error renders `err-<code>` with its parameters.
    2. Otherwise the kind decides (not found, forbidden, finished, a known field's hint).
    3. Anything else gets a generic sentence: the English `message` never reaches a user.
    Parameters are escaped for HTML messages; a button's notice (`html=False`) is plain text.
    """
    if error.code and t.has("err-" + error.code):
        # Parameters may carry what a user typed (a company name): escaped for HTML.
        params = {k: esc(v) if html and isinstance(v, str) else v for k, v in error.params.items()}
        return t("err-" + error.code, **params)
    if error.code:
        log.warning("no text for error code %s", error.code)
    if isinstance(error, NotFound):
        return t("error-not-found")
    if isinstance(error, PermissionDenied):
        return t("error-forbidden")
    if isinstance(error, InvalidInput) and error.field == "status":
        return t("error-finished")
    if isinstance(error, Conflict):
        return t("error-conflict-generic")
    if isinstance(error, InvalidInput) and error.field:
        field = (
            error.field.split("[")[0].rstrip("s")
            if error.field.startswith("phone")
            else error.field
        )
        if t.has("invalid-" + field):
            return t("invalid-" + field)
    return t("error-invalid-generic")


class ErrorMiddleware(BaseMiddleware):
    """Core errors become a short reply; anything else is logged with the update id."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        try:
            return await handler(event, data)
        except DomainError as error:
            t = data.get("t") or texts(data["deps"].default_locale)
            notice = event.callback_query is not None
            await _tell(data["bot"], event, error_text(t, error, html=not notice))
        except Exception:
            log.exception("update %s failed", event.update_id)
            t = data.get("t") or texts(data["deps"].default_locale)
            await _tell(data["bot"], event, t("error-unexpected"))
        return None


async def _tell(bot: Bot, update: Update, text: str) -> None:
    """Answer the button (as a notice) or the chat; a Telegram failure here is only logged."""
    with contextlib.suppress(TelegramAPIError):
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, text=text[:200])
            return
        if update.message is not None:
            await bot.send_message(update.message.chat.id, text)


class SessionMiddleware(BaseMiddleware):
    """One AsyncSession per update; the core service commits its own unit of work."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        deps: BotDeps = data["deps"]
        async with deps.sessions() as session:
            data["session"] = session
            data["ctx"] = Ctx(session=session, config=deps.config, clock=deps.clock)
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Resolves who writes: a team member, a client or a Business update; refuses strangers'
    buttons, deactivated accounts and group chats."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if _is_business(event):  # a salesperson's own chat: core checks the connection
            data["business_update"] = BusinessUpdate(ctx=data["ctx"], log=data["business_log"])
            return await handler(event, data)
        edit = event.edited_message
        if event.message is None and event.callback_query is None and edit is None:
            return None  # channel posts, membership changes: nothing to do
        tg_user: TgUser | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if tg_user is None or tg_user.is_bot:
            return None
        deps: BotDeps = data["deps"]
        ctx: Ctx = data["ctx"]
        user = await users.get_by_telegram_id(ctx, telegram_user_id=tg_user.id)
        locale = user.locale if user else pick_locale(tg_user.language_code, deps.default_locale)
        t = data["t"] = texts(locale)
        if edit is not None:  # an employee's edited message (a note follows it); else silence
            if user is None and edit.chat.type == "private":
                _as_client(data, tg_user, t)  # a client edited a message
                return await handler(event, data)
            if user is None or not user.active or edit.chat.type != "private":
                return None
            _identify(data, user, t)
            return await handler(event, data)
        if chat is not None and chat.type != "private":
            await _tell(data["bot"], event, t("private-only"))
            return None
        if user is not None and user.active:
            _identify(data, user, t)
            return await handler(event, data)
        text = (event.message.text or "") if event.message else ""
        if text.split(maxsplit=1)[:1] and text.split(maxsplit=1)[0].split("@")[0] in OPEN_COMMANDS:
            if user is None:  # else a switched-off account: neither a request nor a client
                _as_client(data, tg_user, t)
            return await handler(event, data)
        if user is None and event.message is not None:
            # Anyone not on the team who writes is a client (bot/handlers/clients.py).
            _as_client(data, tg_user, t)
            return await handler(event, data)
        # Anyone not on the team may be a client: a neutral reply, never "ask an admin".
        key = "refused-inactive" if user is not None else "client-no-messages"
        await _tell(data["bot"], event, t(key, id=str(tg_user.id)))
        return None


def _identify(data: dict[str, Any], user: User, t: Texts) -> None:
    """A team member: their request (bot/request.py)."""
    actor = Actor.of_user(user)
    data["request"] = Request(ctx=data["ctx"], t=t, user=user, actor=actor, deps=data["deps"])


def _as_client(data: dict[str, Any], tg_user: TgUser, t: Texts) -> None:
    """Someone not on the team who writes: a client's request (bot/request.py)."""
    person = TelegramPerson(
        user_id=tg_user.id,
        first_name=tg_user.first_name,
        last_name=tg_user.last_name,
        username=tg_user.username,
        language_code=tg_user.language_code,
    )
    data["client"] = ClientRequest(ctx=data["ctx"], t=t, person=person, deps=data["deps"])


def _is_business(update: Update) -> bool:
    """A Telegram Business update (bot/handlers/business.py): no staff member writes to the bot."""
    return (
        update.business_connection is not None
        or update.business_message is not None
        or update.edited_business_message is not None
        or update.deleted_business_messages is not None
    )


class CallbackAnswerMiddleware(BaseMiddleware):
    """Every pressed button is answered once: the handler's notice, or a core error's text.

    Handlers set `callback_answer.text`; unexpected errors pass on, unanswered, to
    ErrorMiddleware, which answers with "something went wrong".
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, CallbackQuery)
        notice = data["callback_answer"] = CallbackAnswer(answered=False)
        try:
            result = await handler(event, data)
        except DomainError as error:
            notice.text = error_text(data["t"], error, html=False)[:200]
            result = None
        if not notice.disabled:
            with contextlib.suppress(TelegramAPIError):
                await event.answer(text=notice.text, show_alert=notice.show_alert)
        return result


class LogContextMiddleware(BaseMiddleware):
    """Every log line written while an update is handled names its update id."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_id = getattr(event, "update_id", None)
        with log_context(update_id=update_id):
            return await handler(event, data)
