"""Reminders, the day and week lists, the planning prompt."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ActivityCb, ContactCb, PlanCb
from bot.i18n import Texts
from bot.views.format import (
    Screen,
    button_text,
    clip,
    day_and_time,
    esc,
    local_time,
    markup,
    phone_link,
)
from core.activities.models import Activity
from core.contacts.models import Contact

# ActivityCb.minutes / PlanCb.minutes meaning "tomorrow morning in the user's zone": a
# snoozed reminder comes back at SNOOZE_HOUR, a planned step is due at PLAN_HOUR.
TOMORROW = -1
SNOOZE_HOUR = 9
PLAN_HOUR = 10
LIST_LIMIT = 30
# PlanCb.minutes of the two answers to «9:00 или 21:00?» (the candidates are in the FSM data).
AMBIGUOUS_EARLY = -2
AMBIGUOUS_LATE = -3


def activity_text(
    t: Texts, activity: Activity, contact: Contact | None, timezone: str, *, late: bool = False
) -> str:
    icon = "📞" if activity.kind in ("call", "callback") else "📌"
    lines = [f"{icon} <b>{esc(activity.title)}</b>"]
    lines.append(t("activity-due", when=local_time(activity.due_at, timezone)))
    if late:
        lines.append(t("activity-late"))
    if contact is not None:
        lines.append(f"👤 {esc(contact.name)}")
        lines += [f"📞 {phone_link(p.e164)}" for p in contact.phones if p.is_live][:2]
    elif activity.callback_phone:
        lines.append(f"📞 {phone_link(activity.callback_phone)}")
    if activity.notes:
        lines.append(esc(activity.notes[:500]))
    if activity.status != "planned":
        lines.append(t("activity-closed", status=t("status-" + activity.status)))
    return clip("\n".join(lines))


def reminder(
    t: Texts, activity: Activity, contact: Contact | None, timezone: str, *, late: bool = False
) -> Screen:
    """The reminder: Done, Snooze (15 min, 1 h, tomorrow 9:00), Reschedule."""
    text = activity_text(t, activity, contact, timezone, late=late)
    if activity.status != "planned":
        return Screen(text, None)
    aid = activity.id
    rows = [
        [Button(text=t("btn-done"), callback_data=ActivityCb(action="done", id=aid).pack())],
        [
            Button(
                text=t("btn-snooze-15"),
                callback_data=ActivityCb(action="snooze", id=aid, minutes=15).pack(),
            ),
            Button(
                text=t("btn-snooze-60"),
                callback_data=ActivityCb(action="snooze", id=aid, minutes=60).pack(),
            ),
            Button(
                text=t("btn-snooze-tomorrow"),
                callback_data=ActivityCb(action="snooze", id=aid, minutes=TOMORROW).pack(),
            ),
        ],
        [Button(text=t("btn-reschedule"), callback_data=ActivityCb(action="move", id=aid).pack())],
        [
            Button(
                text=t("btn-task-rename"), callback_data=ActivityCb(action="ren", id=aid).pack()
            ),
            Button(
                text=t("btn-task-delete"), callback_data=ActivityCb(action="del", id=aid).pack()
            ),
        ],
    ]
    if activity.contact_id is not None:
        rows[2].append(
            Button(
                text=t("btn-card"),
                callback_data=ContactCb(action="open", id=activity.contact_id).pack(),
            )
        )
    return Screen(text, markup(rows))


def confirm_delete(t: Texts, activity: Activity, contact: Contact | None, timezone: str) -> Screen:
    """Deleting asks first: Delete (the task is canceled, never counted as done) or Back."""
    text = activity_text(t, activity, contact, timezone) + "\n\n" + t("task-delete-ask")
    aid = activity.id
    rows = [
        [
            Button(
                text=t("btn-task-delete-yes"),
                callback_data=ActivityCb(action="delok", id=aid).pack(),
            ),
            Button(text=t("btn-back"), callback_data=ActivityCb(action="back", id=aid).pack()),
        ]
    ]
    return Screen(text, markup(rows))


def agenda(
    t: Texts,
    title: str,
    overdue: Sequence[Activity],
    upcoming: Sequence[Activity],
    timezone: str,
) -> Screen:
    """Overdue first, then the rest; each item opens its reminder view."""
    lines = [f"<b>{esc(title)}</b>"]
    if overdue:
        lines.append(t("agenda-overdue", count=len(overdue)))
        lines += [_line(a, timezone) for a in overdue[:LIST_LIMIT]]
    if upcoming:
        lines.append(t("agenda-planned", count=len(upcoming)))
        lines += [_line(a, timezone) for a in upcoming[:LIST_LIMIT]]
    if not overdue and not upcoming:
        lines.append(t("agenda-empty"))
    items = [*overdue[:LIST_LIMIT], *upcoming[:LIST_LIMIT]][:LIST_LIMIT]
    rows = [
        [
            Button(
                text=button_text(f"{local_time(a.due_at, timezone)} {a.title}"),
                callback_data=ActivityCb(action="open", id=a.id).pack(),
            )
        ]
        for a in items
    ]
    return Screen(clip("\n".join(lines)), markup(rows))


def _line(activity: Activity, timezone: str) -> str:
    return f"• {local_time(activity.due_at, timezone)} {esc(activity.title)}"


def plan_prompt(t: Texts, contact: Contact | None, *, ask: str = "plan-ask") -> Screen:
    """Ask when (free text or quick buttons), with examples (`ask`: the question's key)."""
    prefix = f"👤 <b>{esc(contact.name)}</b>\n" if contact else ""
    rows = [
        [
            Button(text=t("btn-plan-in-1h"), callback_data=PlanCb(minutes=60).pack()),
            Button(text=t("btn-plan-in-3h"), callback_data=PlanCb(minutes=180).pack()),
            Button(text=t("btn-plan-tomorrow"), callback_data=PlanCb(minutes=TOMORROW).pack()),
        ]
    ]
    return Screen(prefix + t(ask), markup(rows))


def ambiguous(t: Texts, early: str, late: str) -> Screen:
    """«9:00 или 21:00?»: a bare hour after noon is asked, never guessed."""
    rows = [
        [
            Button(text=early, callback_data=PlanCb(minutes=AMBIGUOUS_EARLY).pack()),
            Button(text=late, callback_data=PlanCb(minutes=AMBIGUOUS_LATE).pack()),
        ]
    ]
    return Screen(t("plan-ambiguous", early=early, late=late), markup(rows))


def planned(t: Texts, activity: Activity, timezone: str) -> str:
    return t(
        "plan-done", title=esc(activity.title), when=day_and_time(t, activity.due_at, timezone)
    )
