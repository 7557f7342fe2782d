"""Screen pop (incoming call), the post-call prompt and the missed-call task."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ActivityCb, CallCb, ContactCb, NewContactCb
from bot.i18n import Texts
from bot.views.contacts import card_text
from bot.views.format import Screen, esc, local_time, markup, phone_link
from core.models.calls import Call
from core.models.contacts import Contact
from core.models.users import User
from core.models.work import Activity
from core.services.cards import ContactCard

PROMPT_OUTCOMES = ("reached", "no_answer", "callback", "wrong_number")


def incoming(t: Texts, user: User, phone: str | None, card: ContactCard | None) -> Screen:
    """The caller's card while the phone rings, or "unknown number" with Create."""
    if card is not None:
        text = t("incoming-known") + "\n" + card_text(t, card, user.timezone)
        cid = card.contact.id
        rows = [
            [
                Button(text=t("btn-card"), callback_data=ContactCb(action="open", id=cid).pack()),
                Button(text=t("btn-note"), callback_data=ContactCb(action="note", id=cid).pack()),
            ]
        ]
        return Screen(text, markup(rows))
    shown = phone_link(phone) if phone and phone.startswith("+") else esc(phone or "?")
    rows = []
    if phone and phone.startswith("+"):
        rows.append(
            [
                Button(
                    text=t("btn-create"),
                    callback_data=NewContactCb(phone=phone.lstrip("+")).pack(),
                )
            ]
        )
    return Screen(t("incoming-unknown", phone=shown), markup(rows))


def post_call(t: Texts, call: Call, contact: Contact | None) -> Screen:
    """One message after an answered call: outcome buttons, add note, plan the next step."""
    who = esc(contact.name) if contact else esc(call.client_e164 or call.client_raw or "?")
    talk = call.talk_seconds or 0
    text = t("postcall", who=who, minutes=talk // 60, seconds=f"{talk % 60:02d}")
    if call.outcome:
        text += "\n" + t("postcall-outcome", outcome=t("outcome-" + call.outcome))
    rows = [
        [
            Button(
                text=("✅ " if call.outcome == o else "") + t("outcome-" + o),
                callback_data=CallCb(action="out", id=call.id, outcome=o).pack(),
            )
            for o in PROMPT_OUTCOMES[:2]
        ],
        [
            Button(
                text=("✅ " if call.outcome == o else "") + t("outcome-" + o),
                callback_data=CallCb(action="out", id=call.id, outcome=o).pack(),
            )
            for o in PROMPT_OUTCOMES[2:]
        ],
    ]
    if call.contact_id is not None:
        rows.append(
            [
                Button(text=t("btn-note"), callback_data=CallCb(action="note", id=call.id).pack()),
                Button(text=t("btn-plan"), callback_data=CallCb(action="plan", id=call.id).pack()),
            ]
        )
    return Screen(text, markup(rows))


def missed(t: Texts, user: User, activity: Activity, contact: Contact | None) -> Screen:
    """The callback task: who, the number as a tel: link, by when, and Done."""
    phone = activity.callback_phone
    who = esc(contact.name) if contact else t("unknown-caller")
    lines = [t("missed", who=who)]
    if phone:
        lines.append(f"📞 {phone_link(phone)}")
    lines.append(t("missed-due", when=local_time(activity.due_at, user.timezone)))
    if activity.missed_count > 1:
        lines.append(t("missed-times", count=activity.missed_count))
    if activity.status != "planned":
        lines.append(t("activity-closed", status=t("status-" + activity.status)))
        return Screen("\n".join(lines), None)
    rows = [
        [Button(text=t("btn-done"), callback_data=ActivityCb(action="done", id=activity.id).pack())]
    ]
    if contact is not None:
        rows[0].append(
            Button(text=t("btn-card"), callback_data=ContactCb(action="open", id=contact.id).pack())
        )
    elif phone:
        rows[0].append(
            Button(text=t("btn-create"), callback_data=NewContactCb(phone=phone.lstrip("+")).pack())
        )
    return Screen("\n".join(lines), markup(rows))
