"""`/find <words>`: documents by name and by the text inside, in any Russian word form.

«/find договоры поставок» finds «Договор поставки»: core.documents.search lemmatises the
query like the documents' words, with the actor's visibility. Each result shows the file,
its contact, the date and a snippet with the matched words in bold, and has a button that
sends the file (the documents router's `DocCb get`: by Telegram's reference, else from
storage). The query stays in the FSM data, so a page button carries only its number.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.types import InlineKeyboardButton as Button

from bot.callbacks import DocCb, FindCb
from bot.handlers.common import show
from bot.handlers.search import QueryKind, run_query
from bot.i18n import Texts
from bot.request import Request
from bot.views.format import Screen, button_text, esc, markup
from core.documents import search as docsearch
from core.documents.search import DocumentHit, DocumentQuery

PAGE = 5
ICONS = {"pdf": "📄", "docx": "📝", "odt": "📝", "xlsx": "📊", "csv": "📊", "email": "✉️"}


def _day(hit: DocumentHit, timezone: str) -> str:
    return hit.date.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")


def _item(t: Texts, number: int, hit: DocumentHit, timezone: str) -> str:
    icon = ICONS.get(hit.document.kind, "📎")
    line = t(
        "find-item",
        number=number,
        icon=icon,
        name=esc(hit.document.file_name),
        contact=esc(hit.contact_name or t("find-no-contact")),
        date=_day(hit, timezone),
    )
    snippet = hit.snippet.html()
    return f"{line}\n{snippet}" if snippet else line


async def find_screen(request: Request, query: str, page: int) -> Screen:
    t = request.t
    found = await docsearch.search(
        request.ctx, request.actor, DocumentQuery(q=query, limit=PAGE, offset=page * PAGE)
    )
    if not found.items:
        return Screen(t("find-nothing", query=esc(query)))
    head = t("find-title", query=esc(query), count=found.total)
    first = page * PAGE + 1
    body = [_item(t, first + i, hit, request.timezone) for i, hit in enumerate(found.items)]
    rows = [
        [
            Button(
                text=button_text(f"{first + i}. {hit.document.file_name}"),
                callback_data=DocCb(action="get", id=hit.document.id).pack(),
            )
        ]
        for i, hit in enumerate(found.items)
    ]
    pager = []
    if page > 0:
        pager.append(Button(text="◀", callback_data=FindCb(page=page - 1).pack()))
    if (page + 1) * PAGE < found.total:
        pager.append(Button(text="▶", callback_data=FindCb(page=page + 1).pack()))
    rows.append(pager)
    return Screen("\n\n".join([head, *body]), markup(rows))


FIND = QueryKind("find-hint", "find-too-long", "find_q", find_screen)


async def find(
    message: Message, command: CommandObject, request: Request, state: FSMContext
) -> None:
    await run_query(message, request, state, command.args or "", FIND)


async def page(
    query: CallbackQuery, callback_data: FindCb, request: Request, state: FSMContext
) -> None:
    data = await state.get_data()
    text = data.get("find_q")
    if not text:
        await show(query, Screen(request.t("find-expired")))
        return
    await show(query, await find_screen(request, str(text), max(callback_data.page, 0)))


def router() -> Router:
    r = Router(name="find")
    r.message(Command("find"))(find)
    r.callback_query(FindCb.filter())(page)
    return r
