"""Find anything by typing; create a contact (button, unknown number, shared Telegram contact).

Plain text that is not a command searches contacts through core.contacts.service.search with
the actor's visibility; results are a paged list of buttons (the query is kept in the FSM
data, so a page button carries only its number). A phone that matches nothing offers to
create the contact. A number that already belongs to a contact opens that contact.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import NewContactCb, SearchCb
from bot.handlers.common import FREE_TEXT, Flow, answer, ask, cancelable, show
from bot.i18n import LOCALES, texts
from bot.keyboards import button_texts
from bot.request import Request
from bot.views import contacts as views
from bot.views.format import Screen, esc
from core.contacts import cards
from core.contacts import service as contacts
from core.errors import Conflict, NotFound
from core.phones import search_digits, try_normalize
from core.search_text import swap_layout

MAX_QUERY = 200
# "No phone" at the phone prompt: the words of every language (a Russian speaker may type
# "skip"), from the locale files' `words-skip`, comma-separated.
SKIP = frozenset(
    word.strip().lower()
    for locale in LOCALES
    for word in texts(locale)("words-skip").split(",")
    if word.strip()
)


def clean_query(text: str) -> str:
    """Drop invisible format characters (RTL marks, zero-width joiners) and extra spaces."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


def split_name_and_company(text: str) -> tuple[str, str | None]:
    """«Иван Петров, ООО Вектор» is a name and a company (the first comma splits them), as
    people answer «Как зовут контакт?»; text without a comma is the name alone."""
    name, comma, company = text.partition(",")
    if not comma:
        return text, None
    return name.strip(), company.strip()[:300] or None


async def search_screen(request: Request, query: str, page: int) -> Screen:
    """A page of matches; one match is its card; nothing found in one keyboard layout is
    tried in the other («ghbdtn» finds «привет»), saying so."""
    ctx, t, actor = request.ctx, request.t, request.actor
    found = await contacts.search(
        ctx, actor=actor, q=query, limit=views.SEARCH_PAGE, offset=page * views.SEARCH_PAGE
    )
    note = ""
    swapped = swap_layout(query) if not found.items and page == 0 else None
    if swapped is not None:
        retry = await contacts.search(ctx, actor=actor, q=swapped, limit=views.SEARCH_PAGE)
        if retry.items:
            found, query = retry, swapped
            note = t("search-layout-swapped", query=esc(swapped[:100])) + "\n\n"
    if found.total == 1 and len(found.items) == 1 and page == 0:
        card = views.card(
            t,
            await cards.contact_card(ctx, actor=actor, contact_id=found.items[0].id),
            request.user,
        )
        return Screen(note + card.text, card.markup)
    phone = None
    if not found.items and search_digits(query, region=ctx.config.default_region):
        parsed = try_normalize(query, region=ctx.config.default_region)
        phone = parsed.e164 if parsed is not None else None
    screen = views.search_results(
        t, query, found.items, found.total, page, phone, capped=found.total_capped
    )
    return Screen(note + screen.text, screen.markup)


async def open_or_create(
    target: Message | CallbackQuery,
    request: Request,
    name: str,
    phones: list[str],
    company: str | None = None,
) -> None:
    """Create the contact; a phone that is taken opens the contact that has it instead."""
    ctx, t, actor, user = request.ctx, request.t, request.actor, request.user
    try:
        created = await contacts.create_contact(
            ctx, actor=actor, name=name, phones=phones, source="bot", company_name=company
        )
    except Conflict as taken:
        if taken.existing_id is None:
            raise
        try:
            card = await cards.contact_card(ctx, actor=actor, contact_id=taken.existing_id)
        except NotFound:
            await answer(target, Screen(t("phone-taken-hidden")))
            return
        screen = views.card(t, card, user)
        await answer(target, Screen(t("phone-taken") + "\n\n" + screen.text, screen.markup))
        return
    card = await cards.contact_card(ctx, actor=actor, contact_id=created.id)
    screen = views.card(t, card, user)
    await answer(target, Screen(t("contact-created") + "\n\n" + screen.text, screen.markup))


async def new_contact(message: Message, request: Request, state: FSMContext) -> None:
    """The New contact button: asks for the name."""
    await ask(message, request.t, state, Flow.new_contact_name, {}, request.t("ask-contact-name"))


async def new_with_phone(
    query: CallbackQuery, callback_data: NewContactCb, request: Request, state: FSMContext
) -> None:
    """Create a contact with the number that matched nothing: asks for the name."""
    t = request.t
    phone = "+" + callback_data.phone
    prompt = t("ask-contact-name-for", phone=esc(phone))
    await ask(query, t, state, Flow.new_contact_name, {"phone": phone}, prompt)


async def got_name(message: Message, request: Request, state: FSMContext) -> None:
    """The name (and company after a comma); then the phone, unless it is known already."""
    t = request.t
    name, company = split_name_and_company(clean_query(message.text or ""))
    if not name:
        await answer(message, cancelable(t, t("ask-contact-name")))
        return
    data = await state.get_data()
    if data.get("phone"):
        await state.clear()
        await open_or_create(message, request, name, [str(data["phone"])], company)
        return
    await state.set_state(Flow.new_contact_phone)
    await state.update_data(name=name[:300], company=company)
    await answer(message, cancelable(t, t("ask-contact-phone")))


async def got_phone(message: Message, request: Request, state: FSMContext) -> None:
    """The phone (or a skip word): the contact is created, or the one with it opened."""
    data = await state.get_data()
    text = clean_query(message.text or "")
    phones = [] if text.lower() in SKIP else [text]
    company = str(data["company"]) if data.get("company") else None
    await open_or_create(message, request, str(data["name"]), phones, company)
    await state.clear()


async def shared_contact(message: Message, request: Request, state: FSMContext) -> None:
    """A Telegram contact shared with the bot: created, or the one with its phone opened."""
    shared = message.contact
    assert shared is not None
    await state.clear()
    phone = shared.phone_number.strip()
    if not phone.startswith("+"):
        phone = "+" + phone
    name = " ".join(p for p in (shared.first_name, shared.last_name) if p) or phone
    await open_or_create(message, request, name, [phone])


@dataclass(frozen=True)
class QueryKind:
    """A kind of typed query (the contacts search, /find): its texts, where the FSM keeps it
    for the page buttons, and its screen of a page."""

    hint: str  # the text when nothing is typed
    too_long: str  # the text when it is longer than MAX_QUERY
    kept_as: str  # its key in the FSM data
    screen: Callable[[Request, str, int], Awaitable[Screen]]


async def run_query(
    message: Message, request: Request, state: FSMContext, text: str, kind: QueryKind
) -> None:
    """A typed query: cleaned; the hint when empty, the limit when too long; else kept in the
    FSM data (a page button carries only its number) and its first page shown."""
    t, query = request.t, clean_query(text)
    if not query:
        await message.answer(t(kind.hint))
        return
    if len(query) > MAX_QUERY:
        await message.answer(t(kind.too_long, limit=MAX_QUERY))
        return
    await state.update_data({kind.kept_as: query})
    screen = await kind.screen(request, query, 0)
    await message.answer(screen.text, reply_markup=screen.markup)


SEARCH = QueryKind("search-hint", "search-too-long", "search_q", search_screen)


async def search(message: Message, request: Request, state: FSMContext) -> None:
    """Free text with no dialog open: a search, remembered for its page buttons."""
    await run_query(message, request, state, message.text or "", SEARCH)


async def page(
    query: CallbackQuery,
    callback_data: SearchCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """A page button of the last search."""
    text = (await state.get_data()).get("search_q")
    if not text:
        callback_answer.text = request.t("search-expired")
        return
    number = max(callback_data.page, 0)
    await show(query, await search_screen(request, str(text), number))


def router() -> Router:
    r = Router(name="search")
    r.message.register(new_contact, F.text.in_(button_texts("kb-new-contact")))
    r.callback_query.register(new_with_phone, NewContactCb.filter())
    r.message.register(got_name, Flow.new_contact_name, FREE_TEXT)
    r.message.register(got_phone, Flow.new_contact_phone, FREE_TEXT)
    r.message.register(shared_contact, F.contact)
    r.message.register(search, StateFilter(None), FREE_TEXT)
    r.callback_query.register(page, SearchCb.filter())
    return r
