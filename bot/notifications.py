"""Renders outbox notifications into Telegram messages (HTML, user data escaped).

The delivery (bot/delivery.py) claims a notification, asks `render` for the message and sends
it. `render` reads the current state, so a reminder for work already done, or a card for a
user who left, renders as None: nothing to send. Kinds: incoming_call, post_call,
missed_call, reminder, callback_overdue, callback_escalation, greet_today, greeting,
colleague_note (a note a colleague left on the owner's client), callback_nudge and
callback_assigned (a manager acting on an escalation), call_update and task_update (an edit
of the screen pop or of the missed-call task message, rendered from the current state as its
original kind and sent as `editMessageText` of the message the original became),
owner_changed (a contact handed over: both owners), user_joined (to admins), client_request
(a client's request from the company bot, to their owner), the import
jobs' import_preview, import_done, import_refused and import_failed, and any kind whose
payload carries a file ("content_b64": digest and reports) as a document, captioned by
`caption` or by a locale key (`caption_key` with `caption_args`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.methods import TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ContactCb, TeamCb
from bot.deps import BotDeps
from bot.i18n import Texts, texts
from bot.text_split import CAPTION_LIMIT
from bot.views import activities as activity_views
from bot.views import business as business_views
from bot.views import calls as call_views
from bot.views import reports as report_views
from bot.views import team as team_views
from bot.views.format import Screen, button_text, clip, esc, markup
from core.activities.models import Activity
from core.calls import missed as missed_calls
from core.calls.models import Call
from core.contacts import cards
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import business_chats
from core.conversations.models import BusinessConnection
from core.errors import NotFound
from core.notes.models import Note
from core.outbox.models import Notification
from core.users.models import User

log = logging.getLogger(__name__)
GREET_ITEMS = 20


@dataclass
class Rendered:
    """One message (or document) ready to send."""

    chat_id: int
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    document: bytes | None = None
    filename: str | None = None
    # An edit (call_update, task_update): the notification whose message it edits, and that
    # message's id once known; `edit_waits` while the original has not gone out yet.
    edit_of: int | None = None
    edit_message_id: int | None = None
    edit_waits: bool = False
    # The requests themselves, when the renderer builds them (client chats: copyMessage, media).
    methods: list[TelegramMethod[Any]] | None = None


@dataclass
class _Job:
    ctx: Ctx
    t: Texts
    user: User | None
    payload: dict[str, Any]

    @property
    def timezone(self) -> str:
        return self.user.timezone if self.user else self.ctx.config.timezone


Renderer = Callable[[_Job], Awaitable[Screen | None]]


async def render(
    session: AsyncSession, deps: BotDeps, notification: Notification
) -> Rendered | None:
    """The message for a notification, or None when there is nobody or nothing to send."""
    user = await session.get(User, notification.user_id) if notification.user_id else None
    if notification.user_id is not None and (
        user is None or not user.active or user.telegram_user_id is None
    ):
        return None
    chat_id = notification.chat_id or (user.telegram_user_id if user else None)
    if chat_id is None:
        return None
    t = texts(user.locale if user else deps.default_locale)
    payload = dict(notification.payload or {})
    if "content_b64" in payload:
        return _document(chat_id, payload, t)
    if notification.kind in EDITS:
        return await _edit(session, deps, notification, chat_id, t, user, payload)
    from bot import client_chats  # it builds on Rendered, defined here

    chat_renderer = client_chats.RENDERERS.get(notification.kind)
    if chat_renderer is not None:
        chat_ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
        return await chat_renderer(chat_ctx, t, user, chat_id, payload)
    renderer = RENDERERS.get(notification.kind)
    if renderer is None:
        log.warning("notification %s: no renderer for kind %s", notification.id, notification.kind)
        return None
    ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
    screen = await renderer(_Job(ctx=ctx, t=t, user=user, payload=payload))
    if screen is None:
        return None
    return Rendered(chat_id=chat_id, text=clip(screen.text), reply_markup=screen.markup)


async def _edit(
    session: AsyncSession,
    deps: BotDeps,
    notification: Notification,
    chat_id: int,
    t: Texts,
    user: User | None,
    payload: dict[str, Any],
) -> Rendered | None:
    """An edit of an earlier message: the original's kind rendered from today's state, aimed
    at the message it became. None when that message never went out (failed, skipped)."""
    original = await session.get(Notification, int(payload.get("of") or 0))
    if original is None or original.kind != EDITS[notification.kind]:
        return None
    if original.message_id is None and original.status != "pending":
        return None  # never sent, or sent before message ids were kept: nothing to edit
    renderer = RENDERERS[original.kind]
    ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
    job = _Job(ctx=ctx, t=t, user=user, payload=dict(original.payload or {}))
    screen = await renderer(job)
    if screen is None:
        return None
    return Rendered(
        chat_id=chat_id,
        text=clip(screen.text),
        reply_markup=screen.markup,
        edit_of=original.id,
        edit_message_id=original.message_id,
        edit_waits=original.message_id is None,
    )


def _document(chat_id: int, payload: dict[str, Any], t: Texts) -> Rendered | None:
    try:
        content = base64.b64decode(str(payload["content_b64"]), validate=True)
    except (binascii.Error, ValueError):
        log.warning("notification to %s: content_b64 is not base64", chat_id)
        return None
    caption = esc(str(payload.get("caption") or ""))
    key, args = payload.get("caption_key"), payload.get("caption_args")
    if isinstance(key, str) and t.has(key):  # a caption from the locale files, in theirs
        caption = t(key, **(args if isinstance(args, dict) else {}))
    return Rendered(
        chat_id=chat_id,
        text=clip(caption, CAPTION_LIMIT),
        document=content,
        filename=str(payload.get("filename") or "report.xlsx"),
    )


async def _incoming_call(job: _Job) -> Screen | None:
    if job.user is None:
        return None
    call = await job.ctx.session.get(Call, int(job.payload.get("call_id") or 0))
    rings_at = None
    if call is not None and call.user_id is not None and call.user_id != job.user.id:
        rings_at = await job.ctx.session.get(User, call.user_id)
    card = None
    contact_id = job.payload.get("contact_id")
    if contact_id:
        try:
            card = await cards.contact_card(
                job.ctx, actor=Actor.system("screen-pop"), contact_id=int(contact_id)
            )
        except NotFound:
            card = None
    return call_views.incoming(job.t, job.user, job.payload.get("phone"), card, call, rings_at)


async def _post_call(job: _Job) -> Screen | None:
    call = await job.ctx.session.get(Call, int(job.payload.get("call_id") or 0))
    if call is None:
        return None
    contact = await _live_contact(job, call.contact_id)
    return call_views.post_call(job.t, call, contact)


async def _missed_call(job: _Job) -> Screen | None:
    activity = await _activity(job)
    if activity is None or job.user is None:
        return None
    contact = await _live_contact(job, activity.contact_id)
    last = (
        await missed_calls.last_missed_at(job.ctx, activity) if activity.missed_count > 1 else None
    )
    now = job.ctx.clock.now()
    return call_views.missed(job.t, job.user, activity, contact, last, now)


async def _reminder(job: _Job) -> Screen | None:
    activity = await _activity(job)
    if activity is None or activity.status != "planned":
        return None
    contact = await _live_contact(job, activity.contact_id)
    late = bool(job.payload.get("late"))
    return activity_views.reminder(job.t, activity, contact, job.timezone, late=late)


async def _callback_overdue(job: _Job) -> Screen | None:
    screen = await _reminder(job)
    if screen is None:
        return None
    return Screen(job.t("callback-overdue") + "\n" + screen.text, screen.markup)


async def _callback_escalation(job: _Job) -> Screen | None:
    """The manager's view of an overdue callback, with the manager's own buttons (remind the
    salesperson, give it to someone, take it), never the salesperson's snooze buttons."""
    activity = await _activity(job)
    if activity is None or activity.status != "planned":
        return None
    contact = await _live_contact(job, activity.contact_id)
    text = activity_views.activity_text(job.t, activity, contact, job.timezone)
    owner = await _user(job, job.payload.get("owner_id"))
    who = esc(owner.name) if owner else job.t("card-no-owner")
    buttons = team_views.escalation_buttons(job.t, activity.id, contact.id if contact else None)
    if owner is None:
        buttons = buttons[1:]  # nobody to remind
    return Screen(job.t("callback-escalation", owner=who) + "\n" + text, markup(buttons))


async def _callback_nudge(job: _Job) -> Screen | None:
    """A manager asks the owner to call back now: the reminder, with who asks."""
    screen = await _reminder(job)
    if screen is None:
        return None
    manager = await _user(job, job.payload.get("by_id"))
    who = esc(manager.name) if manager else "—"
    return Screen(job.t("callback-nudge", manager=who) + "\n" + screen.text, screen.markup)


async def _callback_assigned(job: _Job) -> Screen | None:
    """A callback handed over: the new owner gets the reminder, the old one a line."""
    activity = await _activity(job)
    if activity is None or activity.status != "planned" or job.user is None:
        return None
    if job.payload.get("to_id") != job.user.id:
        new_owner = await _user(job, job.payload.get("to_id"))
        return Screen(job.t("callback-assigned-away", to=esc(new_owner.name if new_owner else "—")))
    screen = await _reminder(job)
    if screen is None:
        return None
    by = await _user(job, job.payload.get("by_id"))
    head = job.t("callback-assigned-to-you", by=esc(by.name if by else "—"))
    return Screen(head + "\n" + screen.text, screen.markup)


async def _owner_changed(job: _Job) -> Screen | None:
    """A contact handed over: the new owner gets the card button, the old owner a line."""
    contact = await _live_contact(job, job.payload.get("contact_id"))
    if contact is None or job.user is None:
        return None
    client = esc(contact.name)
    if job.payload.get("to_id") == job.user.id:
        by = await _user(job, job.payload.get("by_id"))
        text = job.t("owner-changed-to-you", client=client, by=esc(by.name if by else "—"))
        card = InlineKeyboardButton(
            text=job.t("btn-card"), callback_data=ContactCb(action="open", id=contact.id).pack()
        )
        return Screen(text, markup([[card]]))
    new_owner = await _user(job, job.payload.get("to_id"))
    to = esc(new_owner.name) if new_owner else job.t("card-no-owner")
    return Screen(job.t("owner-changed-from-you", client=client, to=to))


async def _user_joined(job: _Job) -> Screen | None:
    """An admin is told who joined, with which role, and can open them in /team."""
    person = await _user(job, job.payload.get("user_id"))
    if person is None:
        return None
    text = job.t("user-joined", name=esc(person.name), role=job.t("role-" + person.role))
    open_button = InlineKeyboardButton(
        text=button_text(person.name), callback_data=TeamCb(action="open", user_id=person.id).pack()
    )
    return Screen(text, markup([[open_button]]))


async def _user(job: _Job, user_id: Any) -> User | None:
    return await job.ctx.session.get(User, int(user_id)) if user_id else None


async def _colleague_note(job: _Job) -> Screen | None:
    """What a colleague wrote on the owner's client: who, on whom, the text, and the card."""
    note = await job.ctx.session.get(Note, int(job.payload.get("note_id") or 0))
    contact = await _live_contact(job, job.payload.get("contact_id"))
    if note is None or contact is None:
        return None
    author = await job.ctx.session.get(User, note.author_id) if note.author_id else None
    text = job.t(
        "colleague-note",
        author=esc(author.name if author else "?"),
        client=esc(contact.name),
        text=esc(note.text),
    )
    card = InlineKeyboardButton(
        text=job.t("btn-card"), callback_data=ContactCb(action="open", id=contact.id).pack()
    )
    return Screen(text, markup([[card]]))


async def _greet_today(job: _Job) -> Screen | None:
    items = [i for i in job.payload.get("items") or [] if isinstance(i, dict)][:GREET_ITEMS]
    lines = [job.t("greet-today", count=len(items))]
    rows: list[list[InlineKeyboardButton]] = []
    for item in items:
        contact = await _live_contact(job, item.get("contact_id"))
        if contact is None:
            continue
        occasion = occasion_name(job.t, str(item.get("occasion") or ""), item.get("title"))
        lines.append(f"🎉 <b>{esc(contact.name)}</b> · {esc(occasion)}")
        if item.get("text"):
            lines.append(f"<code>{esc(str(item['text'])[:500])}</code>")
        rows.append(
            [
                InlineKeyboardButton(
                    text=button_text(contact.name),
                    callback_data=ContactCb(action="open", id=contact.id).pack(),
                )
            ]
        )
    if not rows:
        return None
    return Screen("\n".join(lines), markup(rows))


def occasion_name(t: Texts, code: str, title: Any = None) -> str:
    """A greeting occasion as people say it: a known code's name, the holiday's own title."""
    if code and t.has("occasion-" + code):
        return t("occasion-" + code)
    if isinstance(title, str) and title.strip():
        return title.strip()
    return t("occasion-holiday")


async def _greeting(job: _Job) -> Screen | None:
    text = str(job.payload.get("text") or "").strip()
    return Screen(esc(text)) if text else None


async def _client_request(job: _Job) -> Screen | None:
    """A client's request from the bot (core.conversations.orders.leave_request): who, the
    text, the phone they left, and the card."""
    contact = await _live_contact(job, job.payload.get("contact_id"))
    if contact is None:
        return None
    lines = [
        job.t("client-request", client=esc(contact.name), text=esc(job.payload.get("text") or ""))
    ]
    if job.payload.get("phone"):
        lines.append(job.t("client-request-phone", phone=esc(str(job.payload["phone"]))))
    card = InlineKeyboardButton(
        text=job.t("btn-card"), callback_data=ContactCb(action="open", id=contact.id).pack()
    )
    return Screen("\n".join(lines), markup([[card]]))


def _import(kind: str) -> Renderer:
    """An import job's message (core/imports/jobs.py), rendered by its view."""

    async def render_import(job: _Job) -> Screen | None:
        return report_views.import_notice(job.t, kind, job.payload)

    return render_import


async def _activity(job: _Job) -> Activity | None:
    activity_id = job.payload.get("activity_id")
    return await job.ctx.session.get(Activity, int(activity_id)) if activity_id else None


async def _live_contact(job: _Job, contact_id: Any) -> Contact | None:
    if not contact_id:
        return None
    contact = await job.ctx.session.get(Contact, int(contact_id))
    return contact if contact is not None and contact.deleted_at is None else None


RENDERERS: dict[str, Renderer] = {
    "incoming_call": _incoming_call,
    "post_call": _post_call,
    "missed_call": _missed_call,
    "reminder": _reminder,
    "callback_overdue": _callback_overdue,
    "callback_escalation": _callback_escalation,
    "greet_today": _greet_today,
    "greeting": _greeting,
    "colleague_note": _colleague_note,
    **{kind: _import(kind) for kind in report_views.IMPORT_NOTICES},
    "callback_nudge": _callback_nudge,
    "callback_assigned": _callback_assigned,
    "owner_changed": _owner_changed,
    "user_joined": _user_joined,
    "client_request": _client_request,
}


async def _business_new_chat(job: _Job) -> Screen | None:
    """A Business chat logged for the first time: the client and [Don't log this chat]."""
    found = await business_chats.conversation_for_notice(
        job.ctx, conversation_id=int(job.payload.get("conversation_id") or 0)
    )
    return business_views.new_chat(job.t, *found) if found else None


async def _business_connection(job: _Job) -> Screen | None:
    """The salesperson's Telegram Business connection started or stopped logging."""
    row = await job.ctx.session.get(BusinessConnection, str(job.payload.get("connection_id")))
    if row is None:
        return None
    return Screen(
        job.t("business-connected" if row.status == "active" else "business-disconnected")
    )


RENDERERS.update(
    {
        "business_new_chat": _business_new_chat,
        "business_connected": _business_connection,
        "business_disconnected": _business_connection,
    }
)
# Edit kinds and the kind of the message each edits.
EDITS = {"call_update": "incoming_call", "task_update": "missed_call"}
