"""A manager's buttons on an overdue callback («<salesperson> did not call back in time»).

1. [Remind the salesperson] queues a nudge to the task's owner; the manager's own
   reminders are untouched (the old escalation carried the owner's snooze buttons, and a
   manager's [15 min] snoozed the salesperson's reminder).
2. [Give to someone else] lists the active team; a pick gives the task to that person.
3. [Take it myself] gives the task to the manager. Old and new owners are told by core.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import EscalationCb
from bot.handlers.common import show
from bot.request import Request
from bot.views import activities as activity_views
from bot.views import team as views
from bot.views.format import Screen, esc
from core.activities import service as activities
from core.calls import escalations
from core.users import service as users

TEAM_LIMIT = 100


async def remind(
    query: CallbackQuery,
    callback_data: EscalationCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """[Remind the salesperson]: a nudge queued to the task's owner."""
    ctx = request.ctx
    activity = await escalations.remind_owner(
        ctx, actor=request.actor, activity_id=callback_data.id
    )
    owner = await users.get_user(ctx, user_id=activity.owner_id or 0)
    callback_answer.text = request.t("esc-reminded", name=owner.name)[:200]


async def pick(query: CallbackQuery, callback_data: EscalationCb, request: Request) -> None:
    """[Give to someone else]: the active team to pick from."""
    ctx = request.ctx
    activity = await escalations.check_open(ctx, actor=request.actor, activity_id=callback_data.id)
    people = (await users.list_users(ctx, active_only=True, limit=TEAM_LIMIT)).items
    screen = views.pick_owner(request.t, activity.id, people, activity.owner_id)
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, screen.text, reply_markup=screen.markup)


async def reassign(
    query: CallbackQuery,
    callback_data: EscalationCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """A person picked, or [Take it myself]: the task is theirs."""
    ctx, t, user = request.ctx, request.t, request.user
    owner_id = user.id if callback_data.action == "take" else callback_data.user_id
    activity = await escalations.reassign(
        ctx, actor=request.actor, activity_id=callback_data.id, owner_id=owner_id
    )
    owner = await users.get_user(ctx, user_id=owner_id)
    callback_answer.text = t("esc-reassigned", name=owner.name)[:200]
    if callback_data.action == "to":
        await show(query, Screen(t("esc-reassigned", name=esc(owner.name))))
        return
    # Taken: the escalation becomes the manager's own reminder, with its own buttons.
    contact = await activities.contact_of(ctx, activity=activity)
    await show(query, activity_views.reminder(t, activity, contact, request.timezone))


def router() -> Router:
    r = Router(name="escalations")
    r.callback_query.register(remind, EscalationCb.filter(F.action == "remind"))
    r.callback_query.register(pick, EscalationCb.filter(F.action == "pick"))
    r.callback_query.register(reassign, EscalationCb.filter(F.action.in_({"to", "take"})))
    return r
