"""Admin's team screen: roles, PBX extensions, deactivation (permissions in core.services.users)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import TeamCb
from bot.handlers.common import FREE_TEXT, Flow, show
from bot.i18n import Texts
from bot.views import team as views
from bot.views.format import esc
from core.context import Actor, Ctx
from core.errors import PermissionDenied
from core.services import users

TEAM_LIMIT = 100


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can manage the team")


def router() -> Router:
    r = Router(name="team")

    @r.message(Command("team"))
    async def team(message: Message, ctx: Ctx, t: Texts, actor: Actor) -> None:
        _require_admin(actor)
        page = await users.list_users(ctx, limit=TEAM_LIMIT)
        screen = views.team(t, page.items)
        await message.answer(screen.text, reply_markup=screen.markup)

    @r.callback_query(TeamCb.filter(F.action == "list"))
    async def back(query: CallbackQuery, ctx: Ctx, t: Texts, actor: Actor) -> None:
        _require_admin(actor)
        page = await users.list_users(ctx, limit=TEAM_LIMIT)
        await show(query, views.team(t, page.items))

    @r.callback_query(TeamCb.filter(F.action == "open"))
    async def person(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        _require_admin(actor)
        await show(query, views.person(t, await users.get_user(ctx, user_id=callback_data.user_id)))

    @r.callback_query(TeamCb.filter(F.action == "role"))
    async def role(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        changed = await users.update_profile(
            ctx, actor=actor, user_id=callback_data.user_id, role=callback_data.role
        )
        await show(query, views.person(t, changed))

    @r.callback_query(TeamCb.filter(F.action == "off"))
    async def deactivate(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        changed = await users.deactivate(ctx, actor=actor, user_id=callback_data.user_id)
        await show(query, views.person(t, changed))

    @r.callback_query(TeamCb.filter(F.action == "ext"))
    async def ask_extension(
        query: CallbackQuery, callback_data: TeamCb, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        _require_admin(actor)
        await state.set_state(Flow.extension)
        await state.set_data({"user_id": callback_data.user_id})
        if query.bot is not None:
            await query.bot.send_message(query.from_user.id, t("ask-extension"))

    @r.message(Flow.extension, FREE_TEXT)
    async def set_extension(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        data = await state.get_data()
        await state.clear()
        extensions = (message.text or "").replace(",", " ").split()
        changed = await users.set_extensions(
            ctx, actor=actor, user_id=int(data["user_id"]), extensions=extensions
        )
        screen = views.person(t, changed)
        await message.answer(
            t("extension-set", name=esc(changed.name)) + "\n" + screen.text,
            reply_markup=screen.markup,
        )

    return r
