"""Plan and be reminded: natural dates or quick buttons, /today and /week, reminder buttons.

1. Plan: the card's (or the post-call prompt's) Plan button asks when; free text is read by
   bot.dates in the user's zone ("завтра в 15", "tomorrow 3pm"), or a quick button is used.
   What cannot be read is asked again with examples; nothing is guessed.
2. /today and /week list planned work, overdue first.
3. Reminder buttons: Done (twice completes once: core refuses the second) and then the
   next step is asked (the plan prompt, with Cancel); Snooze 15 min / 1 h / tomorrow 9:00
   keeps the whole reminder (client, phone, Done) under a line saying when it comes back;
   Reschedule (asks for a new time like planning does); Rename (asks for the new title);
   Delete (asks first; the task is canceled, audited, and never counts as work done).
4. A bare hour after noon («в 9») is asked: «9:00 или 21:00?» with both as buttons (the
   two moments wait in the FSM data, the title too).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import ActivityCb, PlanCb
from bot.dates import Ambiguous, NoSuchDate, parse_when
from bot.handlers.common import FREE_TEXT, Flow, answer, ask, cancelable, show, tomorrow_at
from bot.keyboards import button_texts
from bot.request import Request
from bot.views import activities as views
from bot.views.format import Screen, day_and_time, esc, local_time
from core.activities import service as activities
from core.activities.models import Activity
from core.contacts import service as contacts

WEEK_DAYS = 7


async def _plan_at(
    target: Message | CallbackQuery,
    request: Request,
    state: FSMContext,
    due: datetime,
    title: str,
) -> None:
    ctx, t, actor = request.ctx, request.t, request.actor
    data = await state.get_data()
    await state.clear()
    if data.get("activity_id"):
        moved = await activities.reschedule(
            ctx, actor=actor, activity_id=int(data["activity_id"]), due_at=due
        )
        await answer(
            target, Screen(t("rescheduled", when=day_and_time(t, moved.due_at, request.timezone)))
        )
        return
    contact_id = int(data["contact_id"]) if data.get("contact_id") else None
    contact = (
        await contacts.get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
        if contact_id
        else None
    )
    if not title:
        title = t("plan-default-title", name=contact.name) if contact else t("plan-default-task")
    created = await activities.plan(
        ctx, actor=actor, title=title, kind="call", due_at=due, contact_id=contact_id
    )
    await answer(target, Screen(views.planned(t, created, request.timezone)))


async def _planned(
    request: Request, activity_id: int, callback_answer: CallbackAnswer
) -> Activity | None:
    """The task a button acts on, or None (said on the button) once it is done or canceled."""
    activity = await activities.get(request.ctx, actor=request.actor, activity_id=activity_id)
    if activity.status != "planned":
        callback_answer.text = request.t("error-finished")
        return None
    return activity


async def agenda_screen(request: Request, days: int) -> Screen:
    """Overdue first, then what is due today (days=1) or in the next `days` days."""
    ctx, t, actor, user = request.ctx, request.t, request.actor, request.user
    now = request.now()
    late = await activities.overdue(ctx, actor=actor, owner_id=user.id)
    late = [a for a in late if a.owner_id == user.id]
    if days == 1:
        upcoming = await activities.agenda(ctx, user=user)
        title = t("today-title")
    else:
        page = await activities.list_activities(
            ctx,
            actor=actor,
            owner_id=user.id,
            statuses=["planned"],
            due_before=now + timedelta(days=days),
            limit=100,
        )
        upcoming = list(page.items)
        title = t("week-title")
    upcoming = [a for a in upcoming if a.due_at is not None and a.due_at >= now]
    return views.agenda(t, title, late, upcoming, user.timezone)


async def _reminder_screen(request: Request, activity: Activity) -> Screen:
    """The reminder message of an activity, with its contact, in the user's time zone."""
    contact = await activities.contact_of(request.ctx, activity=activity)
    return views.reminder(request.t, activity, contact, request.timezone)


async def today(message: Message, request: Request, state: FSMContext) -> None:
    """/today or its button: overdue, then what is due today."""
    await state.set_state(None)
    screen = await agenda_screen(request, 1)
    await message.answer(screen.text, reply_markup=screen.markup)


async def week(message: Message, request: Request, state: FSMContext) -> None:
    """/week: overdue, then what is due in the next seven days."""
    await state.set_state(None)
    screen = await agenda_screen(request, WEEK_DAYS)
    await message.answer(screen.text, reply_markup=screen.markup)


async def plan_text(message: Message, request: Request, state: FSMContext) -> None:
    """When, as typed: planned, asked again with examples, or «9:00 or 21:00?»."""
    t = request.t
    try:
        when = parse_when(message.text or "", now=request.now(), timezone=request.timezone)
    except NoSuchDate as wrong:
        await message.answer(t("plan-no-such-date", written=esc(wrong.written)))
        return
    if when is None:
        await message.answer(t("plan-unclear"))
        return
    if isinstance(when, Ambiguous):
        await state.update_data(
            early=when.early.timestamp(), late=when.late.timestamp(), title=when.title
        )
        early = local_time(when.early, request.timezone)[-5:]
        late = local_time(when.late, request.timezone)[-5:]
        await answer(message, cancelable(t, views.ambiguous(t, early, late)))
        return
    await _plan_at(message, request, state, when.at, when.title)


async def plan_quick(
    query: CallbackQuery,
    callback_data: PlanCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """A quick button (in 15 min, tomorrow, …) or one of the two hours of an ambiguous one."""
    t = request.t
    now = request.now()
    title = ""
    if callback_data.minutes in (views.AMBIGUOUS_EARLY, views.AMBIGUOUS_LATE):
        data = await state.get_data()
        key = "early" if callback_data.minutes == views.AMBIGUOUS_EARLY else "late"
        if not data.get(key):
            callback_answer.text = t("plan-expired")
            return
        due = datetime.fromtimestamp(float(data[key]), UTC)
        title = str(data.get("title") or "")
        if due <= now:  # answered too late: ask again rather than plan in the past
            await answer(query, cancelable(t, views.plan_prompt(t, None)))
            return
    elif callback_data.minutes == views.TOMORROW:
        due = tomorrow_at(now, request.timezone, views.PLAN_HOUR)
    else:
        due = now + timedelta(minutes=min(max(callback_data.minutes, 1), 60 * 24 * 30))
    await _plan_at(query, request, state, due, title)


async def plan_quick_stale(request: Request, callback_answer: CallbackAnswer) -> None:
    """A quick button of a prompt no longer waiting."""
    callback_answer.text = request.t("plan-expired")


async def open_activity(query: CallbackQuery, callback_data: ActivityCb, request: Request) -> None:
    activity = await activities.get(request.ctx, actor=request.actor, activity_id=callback_data.id)
    await answer(query, await _reminder_screen(request, activity))


async def done(
    query: CallbackQuery,
    callback_data: ActivityCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """Done: the task completes once, then the next step is asked."""
    ctx, t = request.ctx, request.t
    activity = await activities.complete(ctx, actor=request.actor, activity_id=callback_data.id)
    await show(query, await _reminder_screen(request, activity))
    callback_answer.text = t("done-ok")
    # The next step, while the client is in mind: the plan prompt, Cancel to skip it.
    contact = await activities.contact_of(ctx, activity=activity)
    data = {"contact_id": contact.id} if contact else {}
    await ask(
        query, t, state, Flow.plan_when, data, views.plan_prompt(t, contact, ask="next-step-ask")
    )


async def snooze(
    query: CallbackQuery,
    callback_data: ActivityCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """Snooze: the reminder comes back later, whole, under a line saying when."""
    t = request.t
    minutes = callback_data.minutes
    if minutes == views.TOMORROW:
        due = tomorrow_at(request.now(), request.timezone, views.SNOOZE_HOUR)
        minutes = max(int((due - request.now()).total_seconds() // 60), 1)
    activity = await activities.snooze(
        request.ctx, actor=request.actor, activity_id=callback_data.id, minutes=minutes
    )
    when = local_time(activity.remind_at, request.timezone)
    # The reminder stays whole (client, phone, Done) under a line saying when it is back.
    screen = await _reminder_screen(request, activity)
    await show(query, Screen(t("snoozed-head", when=when) + "\n\n" + screen.text, screen.markup))
    callback_answer.text = t("snoozed-short", when=when)


async def ask_change(
    query: CallbackQuery,
    callback_data: ActivityCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """Move (asks when) or Rename (asks the new title) on a task that is still planned."""
    t = request.t
    activity = await _planned(request, callback_data.id, callback_answer)
    if activity is None:
        return
    prompt: Screen | str
    if callback_data.action == "move":
        step, prompt = Flow.plan_when, views.plan_prompt(t, None)
    else:
        step, prompt = Flow.task_title, t("task-rename-ask", title=esc(activity.title))
    await ask(query, t, state, step, {"activity_id": activity.id}, prompt)


async def got_title(message: Message, request: Request, state: FSMContext) -> None:
    data = await state.get_data()
    activity = await activities.rename(
        request.ctx,
        actor=request.actor,
        activity_id=int(data["activity_id"]),
        title=message.text or "",
    )
    await state.clear()
    screen = await _reminder_screen(request, activity)
    await answer(message, Screen(request.t("task-renamed") + "\n\n" + screen.text, screen.markup))


async def ask_delete(
    query: CallbackQuery,
    callback_data: ActivityCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    activity = await _planned(request, callback_data.id, callback_answer)
    if activity is None:
        return
    contact = await activities.contact_of(request.ctx, activity=activity)
    await show(query, views.confirm_delete(request.t, activity, contact, request.timezone))


async def delete(
    query: CallbackQuery,
    callback_data: ActivityCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    activity = await activities.cancel(
        request.ctx, actor=request.actor, activity_id=callback_data.id
    )
    await show(query, await _reminder_screen(request, activity))
    callback_answer.text = request.t("task-deleted")


async def back(query: CallbackQuery, callback_data: ActivityCb, request: Request) -> None:
    activity = await activities.get(request.ctx, actor=request.actor, activity_id=callback_data.id)
    await show(query, await _reminder_screen(request, activity))


def router() -> Router:
    r = Router(name="plan")
    r.message.register(today, F.text.in_(button_texts("kb-today")))
    r.message.register(today, Command("today"))
    r.message.register(week, Command("week"))
    r.message.register(plan_text, Flow.plan_when, FREE_TEXT)
    r.callback_query.register(plan_quick, Flow.plan_when, PlanCb.filter())
    r.callback_query.register(plan_quick_stale, PlanCb.filter())
    r.callback_query.register(open_activity, ActivityCb.filter(F.action == "open"))
    r.callback_query.register(done, ActivityCb.filter(F.action == "done"))
    r.callback_query.register(snooze, ActivityCb.filter(F.action == "snooze"))
    r.callback_query.register(ask_change, ActivityCb.filter(F.action.in_({"move", "ren"})))
    r.message.register(got_title, Flow.task_title, FREE_TEXT)
    r.callback_query.register(ask_delete, ActivityCb.filter(F.action == "del"))
    r.callback_query.register(delete, ActivityCb.filter(F.action == "delok"))
    r.callback_query.register(back, ActivityCb.filter(F.action == "back"))
    return r
