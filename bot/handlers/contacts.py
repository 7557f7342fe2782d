"""The contact card and what its buttons do; a reply to a card adds a note.

Every action names the contact by id only; core services check that the actor may see it
(a crafted or stale id is NotFound, answered with a short notice by the error middleware).

Notes:
1. A text reply to any message about a client is a note; so is a voice note or a photo
   sent in reply (kind voice / photo, its caption as the text). Its Telegram file_id is kept
   in the note's audit entry (the schema has no place for files until the documents issue),
   and the note's Get the file button sends it back by that file_id.
2. «Заметка добавлена» carries Edit and Delete; the history lists each note of its page as
   a button that opens it with Edit and Delete (its author or a manager; audited).
3. Editing the text of a message that became a note edits the note: the message's
   chat:message id is kept in the note's audit entry and looked up when Telegram sends the
   edit (no column for it; the lookup scans the author's latest notes only).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.types import InlineKeyboardButton as Button
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import ContactCb, EditCb, NoteCb, OwnerCb
from bot.handlers.common import FREE_TEXT, Flow, answer, ask, show
from bot.request import Request
from bot.views import activities as activity_views
from bot.views import contacts as views
from bot.views.format import Screen, esc, markup
from core.activities import service as activities
from core.calls import service as calls
from core.contacts import cards, consent
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.errors import DomainError, NotFound, PermissionDenied
from core.notes import service as notes
from core.users import service as users

CALLS_SHOWN = 10


async def card_screen(request: Request, contact_id: int) -> Screen:
    """The contact's card as the request's user sees it."""
    card = await cards.contact_card(request.ctx, actor=request.actor, contact_id=contact_id)
    return views.card(request.t, card, request.user)


class RepliedToClient(Filter):
    """Filter: the message replies to one of our messages about a client (a card, a screen
    pop, the post-call prompt, a reminder, a missed-call task); gives `subject`."""

    async def __call__(self, message: Message) -> bool | dict[str, tuple[str, int]]:
        replied = message.reply_to_message
        if replied is None or replied.reply_markup is None:
            return False
        subject = views.subject_of(replied.reply_markup.inline_keyboard)
        return {"subject": subject} if subject is not None else False


async def _note_target(ctx: Ctx, actor: Actor, subject: tuple[str, int]) -> tuple[int, int | None]:
    """The contact (and call) a reply is about; NotFound when the actor may not log on it."""
    kind, object_id = subject
    if kind == "call":
        call = await calls.get_call(ctx, actor=actor, call_id=object_id)
        if call.contact_id is None:
            raise NotFound(f"call {object_id} has no contact")
        return call.contact_id, call.id
    if kind == "activity":
        activity = await activities.get(ctx, actor=actor, activity_id=object_id)
        if activity.contact_id is None:
            raise NotFound(f"activity {object_id} has no contact")
        return activity.contact_id, activity.source_call_id
    return object_id, None


def _ref(message: Message) -> str:
    """The chat:message id a note remembers, so an edit of the message edits the note."""
    return f"{message.chat.id}:{message.message_id}"


def _note_kind(message: Message) -> tuple[str, str | None, str]:
    """(kind, Telegram file_id, text) of a note made of the message: typed text, or a voice
    note or a photo (the largest size) with its caption as the text."""
    if message.voice is not None:
        return "voice", message.voice.file_id, message.caption or ""
    if message.photo:
        return "photo", message.photo[-1].file_id, message.caption or ""
    return "note", None, message.text or ""


async def note_by_reply(
    message: Message, subject: tuple[str, int], request: Request, state: FSMContext
) -> None:
    """A reply to a message about a client (text, a voice note or a photo): a note of that
    kind on that client (and call)."""
    ctx, t, actor = request.ctx, request.t, request.actor
    await state.clear()
    contact_id, call_id = await _note_target(ctx, actor, subject)
    kind, file_id, text = _note_kind(message)
    note = await notes.add_note(
        ctx,
        actor=actor,
        contact_id=contact_id,
        text=text,
        kind=kind,
        call_id=call_id,
        file_id=file_id,
        message_ref=_ref(message),
    )
    await message.reply(t("note-added"), reply_markup=markup(views.note_buttons(t, note)))


async def edited(message: Message, request: Request) -> None:
    """An edited message that became a note edits the note."""
    ctx, actor = request.ctx, request.actor
    note = await notes.note_of_message(ctx, actor=actor, message_ref=_ref(message))
    if note is None or note.kind != "note":
        return  # not a note, or a voice note / photo whose caption we do not follow
    try:
        await notes.edit_note(ctx, actor=actor, note_id=note.id, text=message.text or "")
    except DomainError:
        return  # emptied, or the client is gone: the note stays as it was, unannounced
    await message.reply(request.t("note-followed-edit"))


async def open_note(query: CallbackQuery, callback_data: NoteCb, request: Request) -> None:
    note = await notes.find_note(request.ctx, actor=request.actor, note_id=callback_data.id)
    await show(query, views.note_screen(request.t, note, request.timezone))


async def ask_note_text(
    query: CallbackQuery, callback_data: NoteCb, request: Request, state: FSMContext
) -> None:
    note = await notes.find_note(request.ctx, actor=request.actor, note_id=callback_data.id)
    await ask(
        query, request.t, state, Flow.note_edit, {"note_id": note.id}, request.t("note-edit-ask")
    )


async def got_note_text(message: Message, request: Request, state: FSMContext) -> None:
    t = request.t
    data = await state.get_data()
    note = await notes.edit_note(
        request.ctx, actor=request.actor, note_id=int(data["note_id"]), text=message.text or ""
    )
    await state.clear()
    await answer(message, views.note_screen(t, note, request.timezone, head=t("note-edited")))


async def ask_note_delete(query: CallbackQuery, callback_data: NoteCb, request: Request) -> None:
    note = await notes.find_note(request.ctx, actor=request.actor, note_id=callback_data.id)
    await show(query, views.confirm_note_delete(request.t, note, request.timezone))


async def delete_note(
    query: CallbackQuery,
    callback_data: NoteCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    t = request.t
    contact_id = await notes.delete_note(request.ctx, actor=request.actor, note_id=callback_data.id)
    back = Button(
        text=t("btn-timeline"), callback_data=ContactCb(action="tl", id=contact_id).pack()
    )
    await show(query, Screen(t("note-deleted"), markup([[back]])))
    callback_answer.text = t("note-deleted")


async def note_file(query: CallbackQuery, callback_data: NoteCb, request: Request) -> None:
    """Get the file: the voice note or photo of a note, sent back by its file_id."""
    ctx, actor = request.ctx, request.actor
    note = await notes.find_note(ctx, actor=actor, note_id=callback_data.id)
    file_id = await notes.note_file(ctx, actor=actor, note_id=note.id)
    if file_id is None or query.bot is None:
        raise NotFound(f"note {note.id} has no file")
    if note.kind == "voice":
        await query.bot.send_voice(query.from_user.id, file_id)
    else:
        await query.bot.send_photo(query.from_user.id, file_id)


async def open_card(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    await answer(query, await card_screen(request, callback_data.id))


async def timeline(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    page = max(callback_data.page, 0)
    data = await notes.timeline(
        request.ctx,
        actor=request.actor,
        contact_id=callback_data.id,
        limit=views.TIMELINE_PAGE,
        offset=page * views.TIMELINE_PAGE,
    )
    await show(query, views.timeline(request.t, callback_data.id, data, page, request.timezone))


async def calls_list(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    ctx, actor = request.ctx, request.actor
    await contacts.get_contact_for_work(ctx, actor=actor, contact_id=callback_data.id)
    found = await calls.list_calls(ctx, actor=actor, contact_id=callback_data.id, limit=CALLS_SHOWN)
    await show(query, views.calls_list(request.t, callback_data.id, found.items, request.timezone))


async def ask_work(
    query: CallbackQuery, callback_data: ContactCb, request: Request, state: FSMContext
) -> None:
    """Note (asks for its text) or Plan (asks when) on a card: work on the client, so also on
    one whose call rang at the user's extension lately."""
    t = request.t
    contact = await contacts.get_contact_for_work(
        request.ctx, actor=request.actor, contact_id=callback_data.id
    )
    prompt: Screen | str
    if callback_data.action == "note":
        step, prompt = Flow.note, t("ask-note", name=esc(contact.name))
    else:
        step, prompt = Flow.plan_when, activity_views.plan_prompt(t, contact)
    await ask(query, t, state, step, {"contact_id": contact.id}, prompt)


async def got_note(message: Message, request: Request, state: FSMContext) -> None:
    t = request.t
    data = await state.get_data()
    call_id = data.get("call_id")
    note = await notes.add_note(
        request.ctx,
        actor=request.actor,
        contact_id=int(data["contact_id"]),
        text=message.text or "",
        call_id=int(call_id) if call_id else None,
        message_ref=_ref(message),
    )
    await state.clear()
    await message.answer(t("note-added"), reply_markup=markup(views.note_buttons(t, note)))


async def ask_deal(
    query: CallbackQuery, callback_data: ContactCb, request: Request, state: FSMContext
) -> None:
    t = request.t
    contact = await contacts.get_contact(
        request.ctx, actor=request.actor, contact_id=callback_data.id
    )
    prompt = t("ask-deal-title", name=esc(contact.name))
    await ask(query, t, state, Flow.deal_title, {"contact_id": contact.id}, prompt)


async def edit_menu(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    await contacts.get_contact(request.ctx, actor=request.actor, contact_id=callback_data.id)
    await show(query, views.edit_menu(request.t, callback_data.id))


async def ask_value(
    query: CallbackQuery, callback_data: EditCb, request: Request, state: FSMContext
) -> None:
    t = request.t
    await contacts.get_contact(request.ctx, actor=request.actor, contact_id=callback_data.id)
    data = {"contact_id": callback_data.id, "field": callback_data.field}
    await ask(query, t, state, Flow.edit_value, data, t("ask-field-" + callback_data.field))


async def got_value(message: Message, request: Request, state: FSMContext) -> None:
    """The new value of the field being edited (a phone is added); the card again."""
    ctx, actor = request.ctx, request.actor
    data = await state.get_data()
    contact_id, field = int(data["contact_id"]), str(data["field"])
    value = (message.text or "").strip()
    if field == "phone":
        await contacts.add_phone(ctx, actor=actor, contact_id=contact_id, phone=value)
    else:
        key = {"company": "company_name"}.get(field, field)
        await contacts.update_contact(ctx, actor=actor, contact_id=contact_id, changes={key: value})
    await state.clear()
    screen = await card_screen(request, contact_id)
    await message.answer(
        request.t("contact-updated") + "\n\n" + screen.text, reply_markup=screen.markup
    )


async def owner_menu(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    ctx, actor = request.ctx, request.actor
    if not actor.sees_all:
        raise PermissionDenied("only a manager can give a contact to someone else")
    await contacts.get_contact(ctx, actor=actor, contact_id=callback_data.id)
    people = await users.list_users(ctx, active_only=True, limit=50)
    await show(query, views.owner_menu(request.t, callback_data.id, people.items))


async def set_owner(query: CallbackQuery, callback_data: OwnerCb, request: Request) -> None:
    await contacts.update_contact(
        request.ctx,
        actor=request.actor,
        contact_id=callback_data.id,
        changes={"owner_id": callback_data.user_id},
    )
    await show(query, await card_screen(request, callback_data.id))


async def invite_client(query: CallbackQuery, callback_data: ContactCb, request: Request) -> None:
    """The client's link (or /start code) to the bot, to opt in to greetings."""
    t, bot_username = request.t, request.deps.bot_username
    token = await consent.invite_token(
        request.ctx, actor=request.actor, contact_id=callback_data.id
    )
    start = consent.TOKEN_PREFIX + token
    if bot_username:
        text = t("client-invite-link", link=esc(f"https://t.me/{bot_username}?start={start}"))
    else:
        text = t("client-invite-code", code=esc(f"/start {start}"))
    await answer(query, Screen(text))


def router() -> Router:
    r = Router(name="contacts")
    r.message.register(note_by_reply, FREE_TEXT, RepliedToClient())
    r.message.register(note_by_reply, F.voice | F.photo, RepliedToClient())
    r.edited_message.register(edited, F.text)
    r.callback_query.register(open_note, NoteCb.filter(F.action == "open"))
    r.callback_query.register(ask_note_text, NoteCb.filter(F.action == "edit"))
    r.message.register(got_note_text, Flow.note_edit, FREE_TEXT)
    r.callback_query.register(ask_note_delete, NoteCb.filter(F.action == "del"))
    r.callback_query.register(delete_note, NoteCb.filter(F.action == "delok"))
    r.callback_query.register(note_file, NoteCb.filter(F.action == "file"))
    r.callback_query.register(open_card, ContactCb.filter(F.action == "open"))
    r.callback_query.register(timeline, ContactCb.filter(F.action == "tl"))
    r.callback_query.register(calls_list, ContactCb.filter(F.action == "calls"))
    r.callback_query.register(ask_work, ContactCb.filter(F.action.in_({"note", "plan"})))
    r.message.register(got_note, Flow.note, FREE_TEXT)
    r.callback_query.register(ask_deal, ContactCb.filter(F.action == "deal"))
    r.callback_query.register(edit_menu, ContactCb.filter(F.action == "edit"))
    r.callback_query.register(ask_value, EditCb.filter(F.field.in_(views.EDITABLE_FIELDS)))
    r.message.register(got_value, Flow.edit_value, FREE_TEXT)
    r.callback_query.register(owner_menu, ContactCb.filter(F.action == "own"))
    r.callback_query.register(set_owner, OwnerCb.filter())
    r.callback_query.register(invite_client, ContactCb.filter(F.action == "inv"))
    return r
