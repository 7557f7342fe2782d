"""Contact card, search results, timeline, calls list, edit and owner menus."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import (
    ActivityCb,
    CallCb,
    ContactCb,
    DocCb,
    EditCb,
    NewContactCb,
    NoteCb,
    OwnerCb,
    SearchCb,
)
from bot.i18n import Texts
from bot.views import messages as message_views
from bot.views.format import (
    Screen,
    button_text,
    clip,
    esc,
    local_time,
    markup,
    money,
    phone_link,
)
from core.calls.models import Call
from core.contacts.cards import ContactCard
from core.contacts.models import Contact
from core.conversations.models import ChatMessage
from core.notes.models import Note
from core.notes.service import Timeline, TimelineEntry
from core.users.models import User

SEARCH_PAGE = 8
TIMELINE_PAGE = 5
NOTE_PREVIEW = 300
EDITABLE_FIELDS = ("name", "company", "email", "phone")


def card_text(t: Texts, card: ContactCard, timezone: str) -> str:
    contact = card.contact
    lines = [f"👤 <b>{esc(contact.name)}</b>"]
    if card.company_name:
        lines.append(f"🏢 {esc(card.company_name)}")
    lines += [f"📞 {phone_link(p.e164)}" for p in contact.phones if p.is_live]
    if contact.email:
        lines.append(f"✉️ {esc(contact.email)}")
    owner = esc(card.owner.name) if card.owner else t("card-no-owner")
    lines.append(t("card-owner", owner=owner))
    lines.append(t("card-last", when=local_time(card.last_interaction, timezone)))
    for deal in card.open_deals:
        amount = f" · {money(deal.amount, deal.currency, t.locale)}" if deal.amount else ""
        stage = card.stage_names.get(deal.stage, deal.stage)
        lines.append(f"💼 {esc(deal.title)} ({esc(stage)}){amount}")
    if card.next_activity is not None:
        activity = card.next_activity
        lines.append(
            t("card-next", when=local_time(activity.due_at, timezone), title=esc(activity.title))
        )
    if contact.marketing_consent:
        lines.append(t("card-consent"))
    return clip("\n".join(lines))


def card(t: Texts, data: ContactCard, user: User) -> Screen:
    """The card with its buttons (assigning an owner only for managers)."""
    cid = data.contact.id
    rows = [
        [
            Button(text=t("btn-note"), callback_data=ContactCb(action="note", id=cid).pack()),
            Button(text=t("btn-plan"), callback_data=ContactCb(action="plan", id=cid).pack()),
        ],
        [
            Button(text=t("btn-timeline"), callback_data=ContactCb(action="tl", id=cid).pack()),
            Button(text=t("btn-calls"), callback_data=ContactCb(action="calls", id=cid).pack()),
        ],
        [
            Button(text=t("btn-deal"), callback_data=ContactCb(action="deal", id=cid).pack()),
            Button(text=t("btn-edit"), callback_data=ContactCb(action="edit", id=cid).pack()),
        ],
        [Button(text=t("btn-invite-client"), callback_data=ContactCb(action="inv", id=cid).pack())],
    ]
    if user.role in ("admin", "manager"):
        rows[-1].append(
            Button(text=t("btn-owner"), callback_data=ContactCb(action="own", id=cid).pack())
        )
    rows.append(
        [
            Button(
                text=t("btn-documents", count=data.documents),
                callback_data=DocCb(action="list", kind="c", id=cid).pack(),
            )
        ]
    )
    if data.contact.telegram_user_id is not None:  # the client wrote to the company bot
        chat = [
            Button(
                text=t("btn-write-client"), callback_data=ContactCb(action="cwrite", id=cid).pack()
            )
        ]
        if user.role == "admin":
            chat.append(
                Button(
                    text=t("btn-block-client"),
                    callback_data=ContactCb(action="cblock", id=cid).pack(),
                )
            )
        rows.append(chat)
    return Screen(card_text(t, data, user.timezone), markup(rows))


def subject_of(buttons: Sequence[Sequence[Button]] | None) -> tuple[str, int] | None:
    """What a message about a client is about, read back from its buttons (a reply to it is
    a note): ("contact", id) for a card or a screen pop, ("call", id) for the post-call
    prompt, ("activity", id) for a reminder or a missed-call task."""
    found: tuple[str, int] | None = None
    for row in buttons or ():
        for button in row:
            data = button.callback_data or ""
            if data.startswith(ContactCb.__prefix__ + ":"):
                return ("contact", ContactCb.unpack(data).id)  # the client itself: best
            if found is None and data.startswith(CallCb.__prefix__ + ":"):
                found = ("call", CallCb.unpack(data).id)
            if found is None and data.startswith(ActivityCb.__prefix__ + ":"):
                found = ("activity", ActivityCb.unpack(data).id)
    return found


def search_results(
    t: Texts,
    query: str,
    items: Sequence[Contact],
    total: int,
    page: int,
    phone: str | None,
    *,
    capped: bool = False,
) -> Screen:
    """A page of matches as buttons; no match for a phone offers to create the contact."""
    if not items:
        rows = []
        if phone is not None:
            rows.append(
                [
                    Button(
                        text=t("btn-create-with-phone", phone=phone),
                        callback_data=NewContactCb(phone=phone.lstrip("+")).pack(),
                    )
                ]
            )
        return Screen(t("search-none", query=esc(query[:100])), markup(rows))
    rows = [
        [
            Button(
                text=button_text(_search_caption(c)),
                callback_data=ContactCb(action="open", id=c.id).pack(),
            )
        ]
        for c in items
    ]
    nav = []
    if page > 0:
        nav.append(Button(text="◀️", callback_data=SearchCb(page=page - 1).pack()))
    if (page + 1) * SEARCH_PAGE < total:
        nav.append(Button(text="▶️", callback_data=SearchCb(page=page + 1).pack()))
    rows.append(nav)
    key = "search-found-many" if capped else "search-found"
    text = t(key, count=total, query=esc(query[:100]), page=page + 1)
    return Screen(text, markup(rows))


def _search_caption(contact: Contact) -> str:
    parts = [contact.name]
    if contact.company is not None:
        parts.append(contact.company.name)
    live = [p.e164 for p in contact.phones if p.is_live]
    if live:
        parts.append(live[0])
    return " · ".join(parts)


def timeline(t: Texts, contact_id: int, data: Timeline, page: int, timezone: str) -> Screen:
    lines = [t("timeline-title", count=data.total)]
    lines += [_entry(t, entry, timezone) for entry in data.entries]
    if not data.entries:
        lines.append(t("timeline-empty"))
    nav = []
    if page > 0:
        nav.append(
            Button(
                text="◀️", callback_data=ContactCb(action="tl", id=contact_id, page=page - 1).pack()
            )
        )
    if (page + 1) * TIMELINE_PAGE < data.total:
        nav.append(
            Button(
                text="▶️", callback_data=ContactCb(action="tl", id=contact_id, page=page + 1).pack()
            )
        )
    back = [
        Button(text=t("btn-back"), callback_data=ContactCb(action="open", id=contact_id).pack())
    ]
    # Each note on the page opens on its own, to be edited or deleted.
    opens = [
        [
            Button(
                text=button_text("📝 " + note_caption(t, entry.item)),
                callback_data=NoteCb(action="open", id=entry.item.id).pack(),
            )
        ]
        for entry in data.entries
        if entry.kind == "note" and isinstance(entry.item, Note)
    ]
    return Screen(clip("\n\n".join(lines)), markup([*opens, nav, back]))


def note_caption(t: Texts, note: Note) -> str:
    """A note as text: a voice note or a photo by its kind (and caption), else its text."""
    if note.kind == "voice":
        return t("note-voice") + (f" · {note.text}" if note.text else "")
    if note.kind == "photo":
        return t("note-photo") + (f" · {note.text}" if note.text else "")
    return note.text


def note_buttons(t: Texts, note: Note) -> list[list[Button]]:
    """Edit and Delete (and Get the file for a voice note or photo)."""
    rows = [
        [
            Button(text=t("btn-note-edit"), callback_data=NoteCb(action="edit", id=note.id).pack()),
            Button(
                text=t("btn-note-delete"), callback_data=NoteCb(action="del", id=note.id).pack()
            ),
        ]
    ]
    if note.kind in ("voice", "photo"):
        rows.append(
            [
                Button(
                    text=t("btn-note-file"), callback_data=NoteCb(action="file", id=note.id).pack()
                )
            ]
        )
    return rows


def note_screen(t: Texts, note: Note, timezone: str, *, head: str = "") -> Screen:
    """One note with Edit, Delete (the file for a voice note or photo) and Back to the history."""
    lines = [head] if head else []
    lines.append(f"📝 {local_time(note.created_at, timezone)}\n{esc(note_caption(t, note))}")
    back = [
        Button(text=t("btn-back"), callback_data=ContactCb(action="tl", id=note.contact_id).pack())
    ]
    return Screen(clip("\n\n".join(lines)), markup([*note_buttons(t, note), back]))


def confirm_note_delete(t: Texts, note: Note, timezone: str) -> Screen:
    text = note_screen(t, note, timezone).text + "\n\n" + t("note-delete-ask")
    rows = [
        [
            Button(
                text=t("btn-note-delete-yes"),
                callback_data=NoteCb(action="delok", id=note.id).pack(),
            ),
            Button(text=t("btn-back"), callback_data=NoteCb(action="open", id=note.id).pack()),
        ]
    ]
    return Screen(text, markup(rows))


def _entry(t: Texts, entry: TimelineEntry, timezone: str) -> str:
    when = local_time(entry.at, timezone)
    item = entry.item
    if entry.kind == "note" and isinstance(item, Note):
        body = note_caption(t, item)
        short = body if len(body) <= NOTE_PREVIEW else body[:NOTE_PREVIEW] + "…"
        return f"📝 {when}\n{esc(short)}"
    if entry.kind == "call" and isinstance(item, Call):
        return f"📞 {when} · {call_summary(t, item)}"
    if entry.kind == "message" and isinstance(item, ChatMessage):
        return message_views.timeline_line(t, item, entry.author, when)
    if entry.kind == "activity":
        title = esc(getattr(item, "title", ""))
        return f"📌 {when} · {title} ({t('status-' + getattr(item, 'status', 'planned'))})"
    to_stage = esc(getattr(item, "to_stage", ""))
    return f"💼 {when} · {esc(entry.deal_title or '')} → {to_stage}"


def call_summary(t: Texts, call: Call) -> str:
    direction = t("call-in") if call.direction == "in" else t("call-out")
    parts = [direction, t("call-status-" + call.status)]
    if call.talk_seconds:
        parts.append(f"{call.talk_seconds // 60}:{call.talk_seconds % 60:02d}")
    if call.outcome:
        parts.append(t("outcome-" + call.outcome))
    return " · ".join(parts)


def calls_list(t: Texts, contact_id: int, calls: Sequence[Call], timezone: str) -> Screen:
    lines = [t("calls-title")]
    lines += [f"📞 {local_time(c.started_at, timezone)} · {call_summary(t, c)}" for c in calls]
    if not calls:
        lines.append(t("calls-empty"))
    back = [
        Button(text=t("btn-back"), callback_data=ContactCb(action="open", id=contact_id).pack())
    ]
    return Screen("\n".join(lines), markup([back]))


def edit_menu(t: Texts, contact_id: int) -> Screen:
    rows = [
        [Button(text=t("field-" + f), callback_data=EditCb(id=contact_id, field=f).pack())]
        for f in EDITABLE_FIELDS
    ]
    rows.append(
        [Button(text=t("btn-back"), callback_data=ContactCb(action="open", id=contact_id).pack())]
    )
    return Screen(t("edit-which"), markup(rows))


def owner_menu(t: Texts, contact_id: int, people: Sequence[User]) -> Screen:
    rows = [
        [
            Button(
                text=button_text(person.name),
                callback_data=OwnerCb(id=contact_id, user_id=person.id).pack(),
            )
        ]
        for person in people
    ]
    return Screen(t("owner-which"), markup(rows))
