"""/team: people with their workload; one person's screen; confirmations; escalation buttons."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ContactCb, EscalationCb, TeamCb
from bot.i18n import Texts
from bot.views.format import Screen, button_text, clip, esc, markup
from core.users.models import ROLES, User
from core.users.service import Workload


def _line(t: Texts, person: User) -> str:
    extensions = ", ".join(person.extension_list) or "—"
    state = "" if person.active else " · " + t("team-inactive")
    return f"• {esc(person.name)} · {t('role-' + person.role)} · {esc(extensions)}{state}"


def _work(t: Texts, load: Workload | None) -> str:
    if load is None:
        return ""
    return t("team-workload", open=load.open, overdue=load.overdue, today=load.today)


def team(t: Texts, loads: Sequence[Workload]) -> Screen:
    """Everyone, active first: role, extensions, and open / overdue / today's tasks."""
    lines = [t("team-title", count=len(loads))]
    for load in loads:
        lines.append(_line(t, load.user))
        if load.user.active:
            lines.append("   " + _work(t, load))
    rows = [
        [
            Button(
                text=button_text(load.user.name + ("" if load.user.active else " ⛔")),
                callback_data=TeamCb(action="open", user_id=load.user.id).pack(),
            )
        ]
        for load in loads
    ]
    return Screen(clip("\n".join(lines)), markup(rows))


def _button(text: str, action: str, user_id: int, role: str = "") -> Button:
    return Button(text=text, callback_data=TeamCb(action=action, user_id=user_id, role=role).pack())


def person(
    t: Texts, user: User, load: Workload | None, *, admin: bool, me: int, notice: str = ""
) -> Screen:
    """One person: their work (contacts, tasks, deals); for an admin also role, extension,
    access. Changes only ask here; they happen after a confirmation."""
    uid = user.id
    rows = [
        [
            _button(t("btn-team-contacts"), "contacts", uid),
            _button(t("btn-team-tasks"), "tasks", uid),
            _button(t("btn-team-deals"), "deals", uid),
        ]
    ]
    if admin:
        rows.append(
            [
                _button(("✅ " if user.role == role else "") + t("role-" + role), "role", uid, role)
                for role in ROLES
            ]
        )
        rows.append([_button(t("btn-extension"), "ext", uid)])
        if not user.active:
            rows.append([_button(t("btn-activate"), "on", uid)])
        elif uid != me:
            rows.append([_button(t("btn-deactivate"), "off", uid)])
    rows.append([_button(t("btn-back"), "list", 0)])
    lines = [notice] if notice else []
    lines.append(_line(t, user))
    if load is not None and user.active:
        lines.append(t("team-person-work", open=load.open, overdue=load.overdue, today=load.today))
    return Screen("\n".join(lines), markup(rows))


def confirm_role(t: Texts, user: User, role: str, *, me: int) -> Screen:
    """Ask before a role changes; one's own role change states what one loses."""
    names = {"name": esc(user.name), "from": t("role-" + user.role), "to": t("role-" + role)}
    losing_admin = user.id == me and user.role == "admin" and role != "admin"
    text = t("team-confirm-role-self" if losing_admin else "team-confirm-role", **names)
    return _confirm(t, text, TeamCb(action="setrole", user_id=user.id, role=role).pack(), user.id)


def confirm_access(t: Texts, user: User, *, on: bool) -> Screen:
    """Ask before someone is switched off (or back on)."""
    if on:
        text = t("team-confirm-on", name=esc(user.name), role=t("role-" + user.role))
    else:
        text = t("team-confirm-off", name=esc(user.name))
    action = "seton" if on else "setoff"
    return _confirm(t, text, TeamCb(action=action, user_id=user.id).pack(), user.id)


def _confirm(t: Texts, text: str, yes: str, user_id: int) -> Screen:
    no = TeamCb(action="open", user_id=user_id).pack()
    rows = [[Button(text=t("btn-confirm"), callback_data=yes)]]
    rows.append([Button(text=t("btn-keep"), callback_data=no)])
    return Screen(text, markup(rows))


def undo_row(t: Texts, screen: Screen, action: str, user_id: int, role: str = "") -> Screen:
    """The screen after a change, with one button that asks to change it back."""
    rows = [[_button(t("btn-undo"), action, user_id, role)]]
    if screen.markup is not None:
        rows += [list(row) for row in screen.markup.inline_keyboard]
    return Screen(screen.text, markup(rows))


def escalation_buttons(t: Texts, activity_id: int, contact_id: int | None) -> list[list[Button]]:
    """The manager's own buttons on an overdue callback: remind, give to someone, take it."""
    rows = [
        [
            Button(
                text=t("btn-esc-remind"),
                callback_data=EscalationCb(action="remind", id=activity_id).pack(),
            )
        ],
        [
            Button(
                text=t("btn-esc-reassign"),
                callback_data=EscalationCb(action="pick", id=activity_id).pack(),
            ),
            Button(
                text=t("btn-esc-take"),
                callback_data=EscalationCb(action="take", id=activity_id).pack(),
            ),
        ],
    ]
    if contact_id is not None:
        rows.append(
            [
                Button(
                    text=t("btn-card"),
                    callback_data=ContactCb(action="open", id=contact_id).pack(),
                )
            ]
        )
    return rows


def pick_owner(t: Texts, activity_id: int, people: Sequence[User], current: int | None) -> Screen:
    """Who should call back instead: the active team but the current owner."""
    rows = [
        [
            Button(
                text=button_text(f"{p.name} · {t('role-' + p.role)}"),
                callback_data=EscalationCb(action="to", id=activity_id, user_id=p.id).pack(),
            )
        ]
        for p in people
        if p.active and p.id != current
    ]
    return Screen(t("esc-pick"), markup(rows))
