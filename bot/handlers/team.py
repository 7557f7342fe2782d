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
from bot.handlers.common import FREE_TEXT, Flow, cancelable, show
from bot.i18n import Texts
from bot.menus import set_menu_for
from bot.middlewares import error_text
from bot.views import activities as activity_views
from bot.views import contacts as contact_views
from bot.views import deals as deal_views
from bot.views import team as views
from bot.views.format import Screen, esc
from core.activities import service as activities
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.users import service as users
from core.users.models import User

TEAM_LIMIT = 100
LIST_LIMIT = 20


def _admin(actor: Actor, t: Texts, callback_answer: CallbackAnswer) -> bool:
    """Admins go on; anyone else reads who may change roles, extensions and access."""
    if not actor.is_admin:
        callback_answer.text = t("team-admin-only")
    return actor.is_admin


async def _team(ctx: Ctx, t: Texts, actor: Actor) -> Screen:
    page = await users.list_users(ctx, limit=TEAM_LIMIT)
    people = sorted(page.items, key=lambda p: (not p.active, p.id))
    return views.team(t, await users.workloads(ctx, actor=actor, people=people))


async def _person(ctx: Ctx, t: Texts, actor: Actor, user_id: int, notice: str = "") -> Screen:
    person = await users.get_user(ctx, user_id=user_id)
    [load] = await users.workloads(ctx, actor=actor, people=[person])
    return views.person(t, person, load, admin=actor.is_admin, me=actor.user_id or 0, notice=notice)


def router() -> Router:
    r = Router(name="team")

    @r.message(Command("team"))
    async def team(message: Message, ctx: Ctx, t: Texts, actor: Actor) -> None:
        screen = await _team(ctx, t, actor)
        await message.answer(screen.text, reply_markup=screen.markup)

    @r.callback_query(TeamCb.filter(F.action == "list"))
    async def back(query: CallbackQuery, ctx: Ctx, t: Texts, actor: Actor) -> None:
        await show(query, await _team(ctx, t, actor))

    @r.callback_query(TeamCb.filter(F.action == "open"))
    async def person(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        await show(query, await _person(ctx, t, actor, callback_data.user_id))

    @r.callback_query(TeamCb.filter(F.action == "contacts"))
    async def their_contacts(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        person = await _seen(ctx, actor, callback_data.user_id)
        page = await contacts.search(ctx, actor=actor, owner_id=person.id, limit=LIST_LIMIT)
        name = esc(person.name)
        if not page.items:
            await _send(query, Screen(t("team-contacts-none", name=name)))
            return
        screen = contact_views.search_results(t, "", page.items, len(page.items), 0, None)
        await _send(
            query, Screen(t("team-contacts-of", name=name, count=page.total), screen.markup)
        )

    @r.callback_query(TeamCb.filter(F.action == "tasks"))
    async def their_tasks(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        person = await _seen(ctx, actor, callback_data.user_id)
        page = await activities.list_activities(
            ctx, actor=actor, owner_id=person.id, statuses=["planned"], limit=LIST_LIMIT * 3
        )
        now = ctx.clock.now()
        late = [a for a in page.items if a.due_at is not None and a.due_at < now]
        coming = [a for a in page.items if a not in late]
        title = t("team-tasks-of", name=person.name)
        await _send(query, activity_views.agenda(t, title, late, coming, user.timezone))

    @r.callback_query(TeamCb.filter(F.action == "deals"))
    async def their_deals(
        query: CallbackQuery, callback_data: TeamCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        person = await _seen(ctx, actor, callback_data.user_id)
        page = await deals.list_deals(
            ctx, actor=actor, owner_id=person.id, open_only=True, limit=LIST_LIMIT
        )
        name = esc(person.name)
        if not page.items:
            await _send(query, Screen(t("team-deals-none", name=name)))
            return
        screen = deal_views.my_deals(t, page.items, page.total, await deals.stages(ctx))
        await _send(query, Screen(t("team-deals-of", name=name, count=page.total), screen.markup))

    _admin_changes(r)
    return r


async def _seen(ctx: Ctx, actor: Actor, user_id: int) -> User:
    """The person whose work a manager looks at (sales people may not look at others)."""
    if not actor.sees_all:
        raise PermissionDenied("only a manager can see the team's work")
    return await users.get_user(ctx, user_id=user_id)


async def _send(query: CallbackQuery, screen: Screen) -> None:
    """A list as a new message, so the person's screen stays to come back to."""
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup)


def _admin_changes(r: Router) -> None:
    """Role, access and extension: asked, confirmed, undoable; admins only."""

    @r.callback_query(TeamCb.filter(F.action == "role"))
    async def ask_role(
        query: CallbackQuery,
        callback_data: TeamCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        callback_answer: CallbackAnswer,
    ) -> None:
        if not _admin(actor, t, callback_answer):
            return
        person = await users.get_user(ctx, user_id=callback_data.user_id)
        if person.role == callback_data.role:
            return
        await show(query, views.confirm_role(t, person, callback_data.role, me=actor.user_id or 0))

    @r.callback_query(TeamCb.filter(F.action.in_({"off", "on"})))
    async def ask_access(
        query: CallbackQuery,
        callback_data: TeamCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        callback_answer: CallbackAnswer,
    ) -> None:
        if not _admin(actor, t, callback_answer):
            return
        person = await users.get_user(ctx, user_id=callback_data.user_id)
        await show(query, views.confirm_access(t, person, on=callback_data.action == "on"))

    @r.callback_query(TeamCb.filter(F.action == "setrole"))
    async def set_role(
        query: CallbackQuery,
        callback_data: TeamCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        callback_answer: CallbackAnswer,
    ) -> None:
        person = await users.get_user(ctx, user_id=callback_data.user_id)
        before, name = person.role, person.name
        try:
            changed = await users.set_role(
                ctx, actor=actor, user_id=person.id, role=callback_data.role
            )
        except users.LastAdmin:
            await _refuse_last_admin(query, ctx, t, actor, callback_answer, name, person.id)
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
        screen = await _person(ctx, t, actor, changed.id, notice)
        await show(query, views.undo_row(t, screen, "role", changed.id, before))

    @r.callback_query(TeamCb.filter(F.action.in_({"setoff", "seton"})))
    async def set_access(
        query: CallbackQuery,
        callback_data: TeamCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        callback_answer: CallbackAnswer,
    ) -> None:
        person = await users.get_user(ctx, user_id=callback_data.user_id)
        name, on = person.name, callback_data.action == "seton"
        try:
            if on:
                changed = await users.activate(ctx, actor=actor, user_id=person.id)
            else:
                changed = await users.deactivate(ctx, actor=actor, user_id=person.id)
        except users.LastAdmin:
            await _refuse_last_admin(query, ctx, t, actor, callback_answer, name, person.id)
            return
        if on and query.bot is not None:
            await set_menu_for(query.bot, changed)
        notice = t("team-turned-on" if on else "team-turned-off", name=esc(name))
        screen = await _person(ctx, t, actor, changed.id, notice)
        undo = "off" if on else "on"
        await show(query, views.undo_row(t, screen, undo, changed.id))

    @r.callback_query(TeamCb.filter(F.action == "ext"))
    async def ask_extension(
        query: CallbackQuery,
        callback_data: TeamCb,
        t: Texts,
        actor: Actor,
        state: FSMContext,
        callback_answer: CallbackAnswer,
    ) -> None:
        if not _admin(actor, t, callback_answer):
            return
        await state.set_state(Flow.extension)
        await state.set_data({"user_id": callback_data.user_id})
        if query.bot is not None:
            prompt = cancelable(t, t("ask-extension"))
            await query.bot.send_message(
                query.from_user.id, prompt.text, reply_markup=prompt.markup
            )

    @r.message(Flow.extension, FREE_TEXT)
    async def set_extension(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        data = await state.get_data()
        extensions = (message.text or "").replace(",", " ").split()
        try:
            changed = await users.set_extensions(
                ctx, actor=actor, user_id=int(data["user_id"]), extensions=extensions
            )
        except (InvalidInput, Conflict) as error:
            # The dialog stays open: the next text is another try, not a search.
            await ctx.session.rollback()
            prompt = cancelable(t, error_text(t, error) + "\n" + t("ask-extension"))
            await message.answer(prompt.text, reply_markup=prompt.markup)
            return
        await state.clear()
        screen = await _person(ctx, t, actor, changed.id)
        await message.answer(
            t("extension-set", name=esc(changed.name)) + "\n" + screen.text,
            reply_markup=screen.markup,
        )


async def _refuse_last_admin(
    query: CallbackQuery,
    ctx: Ctx,
    t: Texts,
    actor: Actor,
    callback_answer: CallbackAnswer,
    name: str,
    user_id: int,
) -> None:
    """Say why, on the button and on the screen, and show the person unchanged."""
    await ctx.session.rollback()
    text = t("team-last-admin", name=esc(name))
    callback_answer.text = text[:200]
    callback_answer.show_alert = True
    await show(query, await _person(ctx, t, actor, user_id, text))
