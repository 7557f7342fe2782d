"""Renders outbox notifications into Telegram messages (HTML, user data escaped).

The delivery (bot/delivery.py) claims a notification, asks `render` for the message and sends
it. `render` reads the current state, so a reminder for work already done, or a card for a
user who left, renders as None: nothing to send. Kinds: incoming_call, post_call,
missed_call, reminder, callback_overdue, callback_escalation, greet_today, greeting,
colleague_note (a note a colleague left on the owner's client), the import jobs'
import_preview, import_done, import_refused and import_failed, and any kind
whose payload carries a file ("content_b64": digest and reports) as a document, captioned
by `caption` or by a locale key (`caption_key` with `caption_args`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ContactCb
from bot.deps import BotDeps
from bot.i18n import Texts, texts
from bot.text_split import CAPTION_LIMIT
from bot.views import activities as activity_views
from bot.views import calls as call_views
from bot.views import reports as report_views
from bot.views.format import Screen, button_text, clip, esc, markup
from core.context import Actor, Ctx
from core.errors import NotFound
from core.models.calls import Call
from core.models.contacts import Contact
from core.models.system import Notification
from core.models.users import User
from core.models.work import Activity, Note
from core.services import cards

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
    renderer = RENDERERS.get(notification.kind)
    if renderer is None:
        log.warning("notification %s: no renderer for kind %s", notification.id, notification.kind)
        return None
    ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
    screen = await renderer(_Job(ctx=ctx, t=t, user=user, payload=payload))
    if screen is None:
        return None
    return Rendered(chat_id=chat_id, text=clip(screen.text), reply_markup=screen.markup)


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
    card = None
    contact_id = job.payload.get("contact_id")
    if contact_id:
        try:
            card = await cards.contact_card(
                job.ctx, actor=Actor.system("screen-pop"), contact_id=int(contact_id)
            )
        except NotFound:
            card = None
    return call_views.incoming(job.t, job.user, job.payload.get("phone"), card)


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
    return call_views.missed(job.t, job.user, activity, contact)


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
    screen = await _reminder(job)
    if screen is None:
        return None
    owner_id = job.payload.get("owner_id")
    owner = await job.ctx.session.get(User, int(owner_id)) if owner_id else None
    who = esc(owner.name) if owner else job.t("card-no-owner")
    return Screen(job.t("callback-escalation", owner=who) + "\n" + screen.text, screen.markup)


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


def _import(kind: str) -> Renderer:
    """An import job's message (core/services/import_jobs.py), rendered by its view."""

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
}
