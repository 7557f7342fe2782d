"""/team: managers check on people, admins change roles, extensions and access.

1. Managers and admins see everyone with open, overdue and today's tasks (each in their own
   zone) and open one person's contacts, tasks and deals; sales people are refused by core.
2. Only an admin changes a role, an extension or access (core.users.service says so too).
3. A role change, a switch-off and a switch-on only ask first; the change happens on
   [Yes]. Changing one's own admin role says what one loses before asking.
4. The last active admin keeps their role and access: core refuses (`LastAdmin`) and the
   admin reads why, in their language. A change shows [Undo]; a switched-off person stays
   listed with [Reactivate].
5. A person whose role or access changed gets their role's command menu at once.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import TeamCb
from bot.handlers.common import FREE_TEXT, Flow, ask, cancelable, show
from bot.menus import set_menu_for
from bot.middlewares import error_text
from bot.request import Request
from bot.views import activities as activity_views
from bot.views import contacts as contact_views
from bot.views import deals as deal_views
from bot.views import team as views
from bot.views.format import Screen, esc
from core.activities import service as activities
from core.contacts import service as contacts
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.users import service as users
from core.users.models import User

TEAM_LIMIT = 100
LIST_LIMIT = 20


def _admin(request: Request, callback_answer: CallbackAnswer) -> bool:
    """Admins go on; anyone else reads who may change roles, extensions and access."""
    if not request.actor.is_admin:
        callback_answer.text = request.t("team-admin-only")
    return request.actor.is_admin


async def _team(request: Request) -> Screen:
    ctx = request.ctx
    page = await users.list_users(ctx, limit=TEAM_LIMIT)
    people = sorted(page.items, key=lambda p: (not p.active, p.id))
    return views.team(request.t, await users.workloads(ctx, actor=request.actor, people=people))


async def _person(request: Request, user_id: int, notice: str = "") -> Screen:
    ctx, actor = request.ctx, request.actor
    person = await users.get_user(ctx, user_id=user_id)
    [load] = await users.workloads(ctx, actor=actor, people=[person])
    return views.person(
        request.t, person, load, admin=actor.is_admin, me=actor.user_id or 0, notice=notice
    )


async def _seen(request: Request, user_id: int) -> User:
    """The person whose work a manager looks at (sales people may not look at others)."""
    if not request.actor.sees_all:
        raise PermissionDenied("only a manager can see the team's work")
    return await users.get_user(request.ctx, user_id=user_id)


async def _send(query: CallbackQuery, screen: Screen) -> None:
    """A list as a new message, so the person's screen stays to come back to."""
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup)


async def team(message: Message, request: Request) -> None:
    """/team: everyone with their open, overdue and today's tasks."""
    screen = await _team(request)
    await message.answer(screen.text, reply_markup=screen.markup)


async def back(query: CallbackQuery, request: Request) -> None:
    await show(query, await _team(request))


async def person(query: CallbackQuery, callback_data: TeamCb, request: Request) -> None:
    await show(query, await _person(request, callback_data.user_id))


async def their_contacts(query: CallbackQuery, callback_data: TeamCb, request: Request) -> None:
    t = request.t
    seen = await _seen(request, callback_data.user_id)
    page = await contacts.search(
        request.ctx, actor=request.actor, owner_id=seen.id, limit=LIST_LIMIT
    )
    name = esc(seen.name)
    if not page.items:
        await _send(query, Screen(t("team-contacts-none", name=name)))
        return
    screen = contact_views.search_results(t, "", page.items, len(page.items), 0, None)
    await _send(query, Screen(t("team-contacts-of", name=name, count=page.total), screen.markup))


async def their_tasks(query: CallbackQuery, callback_data: TeamCb, request: Request) -> None:
    t = request.t
    seen = await _seen(request, callback_data.user_id)
    page = await activities.list_activities(
        request.ctx,
        actor=request.actor,
        owner_id=seen.id,
        statuses=["planned"],
        limit=LIST_LIMIT * 3,
    )
    now = request.now()
    late = [a for a in page.items if a.due_at is not None and a.due_at < now]
    coming = [a for a in page.items if a not in late]
    title = t("team-tasks-of", name=seen.name)
    await _send(query, activity_views.agenda(t, title, late, coming, request.timezone))


async def their_deals(query: CallbackQuery, callback_data: TeamCb, request: Request) -> None:
    ctx, t = request.ctx, request.t
    seen = await _seen(request, callback_data.user_id)
    page = await deals.list_deals(
        ctx, actor=request.actor, owner_id=seen.id, open_only=True, limit=LIST_LIMIT
    )
    name = esc(seen.name)
    if not page.items:
        await _send(query, Screen(t("team-deals-none", name=name)))
        return
    screen = deal_views.my_deals(t, page.items, page.total, await deals.stages(ctx))
    await _send(query, Screen(t("team-deals-of", name=name, count=page.total), screen.markup))


# Role, access and extension: asked, confirmed, undoable; admins only.


async def ask_confirmation(
    query: CallbackQuery,
    callback_data: TeamCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """A new role, or a switch-off or switch-on, picked: asks the admin to confirm it."""
    if not _admin(request, callback_answer):
        return
    target = await users.get_user(request.ctx, user_id=callback_data.user_id)
    if callback_data.action != "role":
        on = callback_data.action == "on"
        await show(query, views.confirm_access(request.t, target, on=on))
    elif target.role != callback_data.role:
        me = request.actor.user_id or 0
        await show(query, views.confirm_role(request.t, target, callback_data.role, me=me))


async def set_role(
    query: CallbackQuery,
    callback_data: TeamCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """[Yes] on a role change: changed (the last admin stays), with [Undo]."""
    ctx, t, actor = request.ctx, request.t, request.actor
    target = await users.get_user(ctx, user_id=callback_data.user_id)
    before, name = target.role, target.name
    try:
        changed = await users.set_role(ctx, actor=actor, user_id=target.id, role=callback_data.role)
    except users.LastAdmin:
        await _refuse_last_admin(query, request, callback_answer, name, target.id)
        return
    if query.bot is not None:
        await set_menu_for(query.bot, changed)
    notice = t(
        "team-role-changed",
        name=esc(name),
        **{"from": t("role-" + before), "to": t("role-" + changed.role)},
    )
    if changed.id == actor.user_id and changed.role != "admin":
        await show(query, Screen(notice))  # no admin buttons for who is no longer an admin
        return
    screen = await _person(request, changed.id, notice)
    await show(query, views.undo_row(t, screen, "role", changed.id, before))


async def set_access(
    query: CallbackQuery,
    callback_data: TeamCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """[Yes] on a switch-off or a switch-on: done (the last admin stays), with [Undo]."""
    ctx, t, actor = request.ctx, request.t, request.actor
    target = await users.get_user(ctx, user_id=callback_data.user_id)
    name, on = target.name, callback_data.action == "seton"
    try:
        if on:
            changed = await users.activate(ctx, actor=actor, user_id=target.id)
        else:
            changed = await users.deactivate(ctx, actor=actor, user_id=target.id)
    except users.LastAdmin:
        await _refuse_last_admin(query, request, callback_answer, name, target.id)
        return
    if on and query.bot is not None:
        await set_menu_for(query.bot, changed)
    notice = t("team-turned-on" if on else "team-turned-off", name=esc(name))
    screen = await _person(request, changed.id, notice)
    undo = "off" if on else "on"
    await show(query, views.undo_row(t, screen, undo, changed.id))


async def ask_extension(
    query: CallbackQuery,
    callback_data: TeamCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    t = request.t
    if not _admin(request, callback_answer):
        return
    data = {"user_id": callback_data.user_id}
    await ask(query, t, state, Flow.extension, data, t("ask-extension"))


async def set_extension(message: Message, request: Request, state: FSMContext) -> None:
    """The typed extensions: saved, or the mistake said and asked again."""
    ctx, t = request.ctx, request.t
    data = await state.get_data()
    extensions = (message.text or "").replace(",", " ").split()
    try:
        changed = await users.set_extensions(
            ctx, actor=request.actor, user_id=int(data["user_id"]), extensions=extensions
        )
    except (InvalidInput, Conflict) as error:
        # The dialog stays open: the next text is another try, not a search.
        prompt = cancelable(t, error_text(t, error) + "\n" + t("ask-extension"))
        await message.answer(prompt.text, reply_markup=prompt.markup)
        return
    await state.clear()
    screen = await _person(request, changed.id)
    await message.answer(
        t("extension-set", name=esc(changed.name)) + "\n" + screen.text,
        reply_markup=screen.markup,
    )


async def _refuse_last_admin(
    query: CallbackQuery,
    request: Request,
    callback_answer: CallbackAnswer,
    name: str,
    user_id: int,
) -> None:
    """Say why, on the button and on the screen, and show the person unchanged."""
    text = request.t("team-last-admin", name=esc(name))
    callback_answer.text = text[:200]
    callback_answer.show_alert = True
    await show(query, await _person(request, user_id, text))


def router() -> Router:
    r = Router(name="team")
    r.message.register(team, Command("team"))
    r.callback_query.register(back, TeamCb.filter(F.action == "list"))
    r.callback_query.register(person, TeamCb.filter(F.action == "open"))
    r.callback_query.register(their_contacts, TeamCb.filter(F.action == "contacts"))
    r.callback_query.register(their_tasks, TeamCb.filter(F.action == "tasks"))
    r.callback_query.register(their_deals, TeamCb.filter(F.action == "deals"))
    r.callback_query.register(ask_confirmation, TeamCb.filter(F.action == "role"))
    r.callback_query.register(ask_confirmation, TeamCb.filter(F.action.in_({"off", "on"})))
    r.callback_query.register(set_role, TeamCb.filter(F.action == "setrole"))
    r.callback_query.register(set_access, TeamCb.filter(F.action.in_({"setoff", "seton"})))
    r.callback_query.register(ask_extension, TeamCb.filter(F.action == "ext"))
    r.message.register(set_extension, Flow.extension, FREE_TEXT)
    return r
