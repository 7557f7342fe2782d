"""Screen pop (a call ringing, then as it is answered, missed or ends), the post-call prompt
and the missed-call task (with its repeats; without buttons once closed)."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import ActivityCb, CallCb, ContactCb, NewContactCb
from bot.i18n import Texts
from bot.views.contacts import card_text
from bot.views.format import Screen, esc, local_time, markup, phone_link
from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.cards import ContactCard
from core.contacts.models import Contact
from core.users.models import User

PROMPT_OUTCOMES = ("reached", "no_answer", "callback", "wrong_number")


def incoming(
    t: Texts,
    user: User,
    phone: str | None,
    card: ContactCard | None,
    call: Call | None = None,
    rings_at: User | None = None,
) -> Screen:
    """The client's card while the phone rings, or "unknown number" with Create: which way
    the call goes, at whose line it rings (`rings_at`, when not the reader's), and how it
    stands now (answered, ended with its duration, missed)."""
    outbound = call is not None and call.direction == "out"
    head = [_live_state(t, user, call, rings_at)]
    if rings_at is not None and not outbound:
        head.append(t("call-rings-at", name=esc(rings_at.name)))
    status = "".join("\n" + line for line in head if line)
    if card is not None:
        text = (
            t("outgoing-known" if outbound else "incoming-known")
            + status
            + "\n"
            + card_text(t, card, user.timezone)
        )
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
    return Screen(
        t("outgoing-unknown" if outbound else "incoming-unknown", phone=shown) + status,
        markup(rows),
    )


def _live_state(t: Texts, user: User, call: Call | None, rings_at: User | None) -> str:
    """How the call stands now; empty while it rings."""
    if call is None:
        return ""
    if call.ended_at is not None:
        if call.status == "answered":
            talk = call.talk_seconds or 0
            return t("call-live-ended", minutes=talk // 60, seconds=f"{talk % 60:02d}")
        if call.direction == "out":
            return t("call-live-unanswered")
        if call.status == "missed":
            return t("call-live-missed")
        return t("call-live-failed", status=t("call-status-" + call.status))
    if call.status == "answered":
        if rings_at is not None:
            return t("call-live-answered-by", name=esc(rings_at.name))
        return t("call-live-answered")
    return ""


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


def missed(
    t: Texts,
    user: User,
    activity: Activity,
    contact: Contact | None,
    last_missed: datetime | None = None,
    now: datetime | None = None,
) -> Screen:
    """The callback task: who, the number as a tel: link, by when, how many times and when
    last they called, and Done; a closed task has no buttons."""
    phone = activity.callback_phone
    who = esc(contact.name) if contact else t("unknown-caller")
    lines = [t("missed", who=who)]
    if phone:
        lines.append(f"📞 {phone_link(phone)}")
    lines.append(t("missed-due", when=local_time(activity.due_at, user.timezone)))
    if activity.missed_count > 1:
        same_day = (
            last_missed is not None
            and now is not None
            and local_time(last_missed, user.timezone)[:5] == local_time(now, user.timezone)[:5]
        )
        when = local_time(last_missed, user.timezone, with_date=not same_day)
        lines.append(t("missed-repeat", count=activity.missed_count, time=when))
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
