"""Admin's /team: people, roles, extensions, active; one person's actions."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import TeamCb
from bot.i18n import Texts
from bot.views.format import Screen, button_text, clip, esc, markup
from core.models.users import ROLES, User


def _line(t: Texts, person: User) -> str:
    extensions = ", ".join(person.extension_list) or "—"
    state = "" if person.active else " · " + t("team-inactive")
    return f"• {esc(person.name)} · {t('role-' + person.role)} · {esc(extensions)}{state}"


def team(t: Texts, people: Sequence[User]) -> Screen:
    lines = [t("team-title", count=len(people))] + [_line(t, p) for p in people]
    rows = [
        [
            Button(
                text=button_text(p.name + ("" if p.active else " ⛔")),
                callback_data=TeamCb(action="open", user_id=p.id).pack(),
            )
        ]
        for p in people
    ]
    return Screen(clip("\n".join(lines)), markup(rows))


def person(t: Texts, user: User) -> Screen:
    rows = [
        [
            Button(
                text=("✅ " if user.role == role else "") + t("role-" + role),
                callback_data=TeamCb(action="role", user_id=user.id, role=role).pack(),
            )
            for role in ROLES
        ],
        [
            Button(
                text=t("btn-extension"), callback_data=TeamCb(action="ext", user_id=user.id).pack()
            )
        ],
    ]
    if user.active:
        rows.append(
            [
                Button(
                    text=t("btn-deactivate"),
                    callback_data=TeamCb(action="off", user_id=user.id).pack(),
                )
            ]
        )
    rows.append([Button(text=t("btn-back"), callback_data=TeamCb(action="list", user_id=0).pack())])
    return Screen(_line(t, user), markup(rows))
