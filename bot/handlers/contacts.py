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
from bot.deps import BotDeps
from bot.handlers.common import FREE_TEXT, Flow, answer, cancelable, show
from bot.i18n import Texts
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
from core.users.models import User

CALLS_SHOWN = 10


async def card_screen(ctx: Ctx, actor: Actor, t: Texts, user: User, contact_id: int) -> Screen:
    return views.card(t, await cards.contact_card(ctx, actor=actor, contact_id=contact_id), user)


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


def router() -> Router:
    r = Router(name="contacts")

    @r.message(FREE_TEXT, RepliedToClient())
    async def note_by_reply(
        message: Message,
        subject: tuple[str, int],
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        await state.clear()
        contact_id, call_id = await _note_target(ctx, actor, subject)
        note = await notes.add_note(
            ctx,
            actor=actor,
            contact_id=contact_id,
            text=message.text or "",
            call_id=call_id,
            message_ref=_ref(message),
        )
        await message.reply(t("note-added"), reply_markup=markup(views.note_buttons(t, note)))

    @r.message(F.voice | F.photo, RepliedToClient())
    async def media_by_reply(
        message: Message,
        subject: tuple[str, int],
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        await state.clear()
        contact_id, call_id = await _note_target(ctx, actor, subject)
        if message.voice is not None:
            kind, file_id = "voice", message.voice.file_id
        else:
            kind, file_id = "photo", (message.photo or [])[-1].file_id  # the largest size
        note = await notes.add_note(
            ctx,
            actor=actor,
            contact_id=contact_id,
            text=message.caption or "",
            kind=kind,
            call_id=call_id,
            file_id=file_id,
            message_ref=_ref(message),
        )
        await message.reply(t("note-added"), reply_markup=markup(views.note_buttons(t, note)))

    @r.edited_message(F.text)
    async def edited(message: Message, ctx: Ctx, t: Texts, actor: Actor) -> None:
        note = await notes.note_of_message(ctx, actor=actor, message_ref=_ref(message))
        if note is None or note.kind != "note":
            return  # not a note, or a voice note / photo whose caption we do not follow
        try:
            await notes.edit_note(ctx, actor=actor, note_id=note.id, text=message.text or "")
        except DomainError:
            return  # emptied, or the client is gone: the note stays as it was, unannounced
        await message.reply(t("note-followed-edit"))

    @r.callback_query(NoteCb.filter(F.action == "open"))
    async def open_note(
        query: CallbackQuery, callback_data: NoteCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        note = await notes.find_note(ctx, actor=actor, note_id=callback_data.id)
        await show(query, views.note_screen(t, note, user.timezone))

    @r.callback_query(NoteCb.filter(F.action == "edit"))
    async def ask_note_text(
        query: CallbackQuery,
        callback_data: NoteCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        note = await notes.find_note(ctx, actor=actor, note_id=callback_data.id)
        await state.set_state(Flow.note_edit)
        await state.set_data({"note_id": note.id})
        await answer(query, cancelable(t, t("note-edit-ask")))

    @r.message(Flow.note_edit, FREE_TEXT)
    async def got_note_text(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, user: User, state: FSMContext
    ) -> None:
        data = await state.get_data()
        note = await notes.edit_note(
            ctx, actor=actor, note_id=int(data["note_id"]), text=message.text or ""
        )
        await state.clear()
        await answer(message, views.note_screen(t, note, user.timezone, head=t("note-edited")))

    @r.callback_query(NoteCb.filter(F.action == "del"))
    async def ask_note_delete(
        query: CallbackQuery, callback_data: NoteCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        note = await notes.find_note(ctx, actor=actor, note_id=callback_data.id)
        await show(query, views.confirm_note_delete(t, note, user.timezone))

    @r.callback_query(NoteCb.filter(F.action == "delok"))
    async def delete_note(
        query: CallbackQuery,
        callback_data: NoteCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        callback_answer: CallbackAnswer,
    ) -> None:
        contact_id = await notes.delete_note(ctx, actor=actor, note_id=callback_data.id)
        back = Button(
            text=t("btn-timeline"), callback_data=ContactCb(action="tl", id=contact_id).pack()
        )
        await show(query, Screen(t("note-deleted"), markup([[back]])))
        callback_answer.text = t("note-deleted")

    @r.callback_query(NoteCb.filter(F.action == "file"))
    async def note_file(
        query: CallbackQuery, callback_data: NoteCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        note = await notes.find_note(ctx, actor=actor, note_id=callback_data.id)
        file_id = await notes.note_file(ctx, actor=actor, note_id=note.id)
        if file_id is None or query.bot is None:
            raise NotFound(f"note {note.id} has no file")
        if note.kind == "voice":
            await query.bot.send_voice(query.from_user.id, file_id)
        else:
            await query.bot.send_photo(query.from_user.id, file_id)

    @r.callback_query(ContactCb.filter(F.action == "open"))
    async def open_card(
        query: CallbackQuery, callback_data: ContactCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        await answer(query, await card_screen(ctx, actor, t, user, callback_data.id))

    @r.callback_query(ContactCb.filter(F.action == "tl"))
    async def timeline(
        query: CallbackQuery, callback_data: ContactCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        page = max(callback_data.page, 0)
        data = await notes.timeline(
            ctx,
            actor=actor,
            contact_id=callback_data.id,
            limit=views.TIMELINE_PAGE,
            offset=page * views.TIMELINE_PAGE,
        )
        await show(query, views.timeline(t, callback_data.id, data, page, user.timezone))

    @r.callback_query(ContactCb.filter(F.action == "calls"))
    async def calls_list(
        query: CallbackQuery, callback_data: ContactCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        await contacts.get_contact_for_work(ctx, actor=actor, contact_id=callback_data.id)
        found = await calls.list_calls(
            ctx, actor=actor, contact_id=callback_data.id, limit=CALLS_SHOWN
        )
        await show(query, views.calls_list(t, callback_data.id, found.items, user.timezone))

    @r.callback_query(ContactCb.filter(F.action == "note"))
    async def ask_note(
        query: CallbackQuery,
        callback_data: ContactCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        contact = await contacts.get_contact_for_work(ctx, actor=actor, contact_id=callback_data.id)
        await state.set_state(Flow.note)
        await state.set_data({"contact_id": contact.id})
        await answer(query, cancelable(t, t("ask-note", name=esc(contact.name))))

    @r.message(Flow.note, FREE_TEXT)
    async def got_note(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        data = await state.get_data()
        call_id = data.get("call_id")
        note = await notes.add_note(
            ctx,
            actor=actor,
            contact_id=int(data["contact_id"]),
            text=message.text or "",
            call_id=int(call_id) if call_id else None,
            message_ref=_ref(message),
        )
        await state.clear()
        await message.answer(t("note-added"), reply_markup=markup(views.note_buttons(t, note)))

    @r.callback_query(ContactCb.filter(F.action == "plan"))
    async def ask_plan(
        query: CallbackQuery,
        callback_data: ContactCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        contact = await contacts.get_contact_for_work(ctx, actor=actor, contact_id=callback_data.id)
        await state.set_state(Flow.plan_when)
        await state.set_data({"contact_id": contact.id})
        await answer(query, cancelable(t, activity_views.plan_prompt(t, contact)))

    @r.callback_query(ContactCb.filter(F.action == "deal"))
    async def ask_deal(
        query: CallbackQuery,
        callback_data: ContactCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        contact = await contacts.get_contact(ctx, actor=actor, contact_id=callback_data.id)
        await state.set_state(Flow.deal_title)
        await state.set_data({"contact_id": contact.id})
        await answer(query, cancelable(t, t("ask-deal-title", name=esc(contact.name))))

    @r.callback_query(ContactCb.filter(F.action == "edit"))
    async def edit_menu(
        query: CallbackQuery, callback_data: ContactCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        await contacts.get_contact(ctx, actor=actor, contact_id=callback_data.id)
        await show(query, views.edit_menu(t, callback_data.id))

    @r.callback_query(EditCb.filter(F.field.in_(views.EDITABLE_FIELDS)))
    async def ask_value(
        query: CallbackQuery,
        callback_data: EditCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        await contacts.get_contact(ctx, actor=actor, contact_id=callback_data.id)
        await state.set_state(Flow.edit_value)
        await state.set_data({"contact_id": callback_data.id, "field": callback_data.field})
        await answer(query, cancelable(t, t("ask-field-" + callback_data.field)))

    @r.message(Flow.edit_value, FREE_TEXT)
    async def got_value(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, user: User, state: FSMContext
    ) -> None:
        data = await state.get_data()
        contact_id, field = int(data["contact_id"]), str(data["field"])
        value = (message.text or "").strip()
        if field == "phone":
            await contacts.add_phone(ctx, actor=actor, contact_id=contact_id, phone=value)
        else:
            key = {"company": "company_name"}.get(field, field)
            await contacts.update_contact(
                ctx, actor=actor, contact_id=contact_id, changes={key: value}
            )
        await state.clear()
        screen = await card_screen(ctx, actor, t, user, contact_id)
        await message.answer(
            t("contact-updated") + "\n\n" + screen.text, reply_markup=screen.markup
        )

    @r.callback_query(ContactCb.filter(F.action == "own"))
    async def owner_menu(
        query: CallbackQuery, callback_data: ContactCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        if not actor.sees_all:
            raise PermissionDenied("only a manager can give a contact to someone else")
        await contacts.get_contact(ctx, actor=actor, contact_id=callback_data.id)
        people = await users.list_users(ctx, active_only=True, limit=50)
        await show(query, views.owner_menu(t, callback_data.id, people.items))

    @r.callback_query(OwnerCb.filter())
    async def set_owner(
        query: CallbackQuery, callback_data: OwnerCb, ctx: Ctx, t: Texts, actor: Actor, user: User
    ) -> None:
        await contacts.update_contact(
            ctx,
            actor=actor,
            contact_id=callback_data.id,
            changes={"owner_id": callback_data.user_id},
        )
        await show(query, await card_screen(ctx, actor, t, user, callback_data.id))

    @r.callback_query(ContactCb.filter(F.action == "inv"))
    async def invite_client(
        query: CallbackQuery,
        callback_data: ContactCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        deps: BotDeps,
    ) -> None:
        token = await consent.invite_token(ctx, actor=actor, contact_id=callback_data.id)
        start = consent.TOKEN_PREFIX + token
        if deps.bot_username:
            text = t(
                "client-invite-link", link=esc(f"https://t.me/{deps.bot_username}?start={start}")
            )
        else:
            text = t("client-invite-code", code=esc(f"/start {start}"))
        await answer(query, Screen(text))

    return r
