"""Deals: create from a card, my open deals, move a stage, won (amount) / lost (reason)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import DealCb
from bot.handlers.common import FREE_TEXT, Flow, answer, ask, show
from bot.i18n import Texts
from bot.keyboards import button_texts
from bot.request import Request
from bot.views import deals as views
from bot.views.format import Screen, esc
from core.context import Ctx
from core.deals import service as deals
from core.deals.models import Deal
from core.documents import service as documents

MY_DEALS_SHOWN = 20


async def deal_view(ctx: Ctx, t: Texts, deal: Deal) -> Screen:
    """The deal's screen with its stages and how many documents it has."""
    count = await documents.count_documents(ctx, deal_id=deal.id)
    return views.deal_screen(t, deal, await deals.stages(ctx), count)


async def _outcome_stage(ctx: Ctx, outcome: str) -> str:
    for stage in await deals.stages(ctx):
        if stage.outcome == outcome:
            return stage.code
    return outcome


async def _close_deal(
    message: Message,
    request: Request,
    state: FSMContext,
    outcome: str,
    **fields: str | None,
) -> None:
    """Move the deal of the dialog to its won or lost stage with what was typed; show it."""
    ctx, t = request.ctx, request.t
    data = await state.get_data()
    stage = await _outcome_stage(ctx, outcome)
    deal = await deals.move(
        ctx, actor=request.actor, deal_id=int(data["deal_id"]), stage=stage, **fields
    )
    await state.clear()
    screen = await deal_view(ctx, t, deal)
    await message.answer(t(f"deal-{outcome}") + "\n\n" + screen.text, reply_markup=screen.markup)


async def my_deals(message: Message, request: Request, state: FSMContext) -> None:
    """/deals or its button: the user's open deals."""
    ctx = request.ctx
    await state.set_state(None)
    page = await deals.list_deals(
        ctx, actor=request.actor, owner_id=request.user.id, open_only=True, limit=MY_DEALS_SHOWN
    )
    screen = views.my_deals(request.t, page.items, page.total, await deals.stages(ctx))
    await message.answer(screen.text, reply_markup=screen.markup)


async def got_title(message: Message, request: Request, state: FSMContext) -> None:
    """The new deal's title: created on the card's contact, and shown."""
    ctx, t = request.ctx, request.t
    data = await state.get_data()
    deal = await deals.create(
        ctx, actor=request.actor, title=message.text or "", contact_id=int(data["contact_id"])
    )
    await state.clear()
    screen = await deal_view(ctx, t, deal)
    await message.answer(t("deal-created") + "\n\n" + screen.text, reply_markup=screen.markup)


async def open_deal(query: CallbackQuery, callback_data: DealCb, request: Request) -> None:
    deal = await deals.get(request.ctx, actor=request.actor, deal_id=callback_data.id)
    await answer(query, await deal_view(request.ctx, request.t, deal))


async def move(query: CallbackQuery, callback_data: DealCb, request: Request) -> None:
    """A stage button: the deal moves there."""
    deal = await deals.move(
        request.ctx, actor=request.actor, deal_id=callback_data.id, stage=callback_data.stage
    )
    await show(query, await deal_view(request.ctx, request.t, deal))


async def ask_close(
    query: CallbackQuery, callback_data: DealCb, request: Request, state: FSMContext
) -> None:
    """Won asks for the amount, Lost for the reason; a closed deal is shown as it is."""
    ctx, t = request.ctx, request.t
    deal = await deals.get(ctx, actor=request.actor, deal_id=callback_data.id)
    if deal.closed_at is not None:
        await show(query, await deal_view(ctx, t, deal))
        return
    won = callback_data.action == "won"
    step, key = (
        (Flow.deal_amount, "ask-won-amount") if won else (Flow.deal_reason, "ask-lost-reason")
    )
    await ask(query, t, state, step, {"deal_id": deal.id}, t(key, title=esc(deal.title)))


async def got_amount(message: Message, request: Request, state: FSMContext) -> None:
    await _close_deal(message, request, state, "won", amount=message.text)


async def got_reason(message: Message, request: Request, state: FSMContext) -> None:
    await _close_deal(message, request, state, "lost", lost_reason=message.text)


def router() -> Router:
    r = Router(name="deals")
    r.message.register(my_deals, F.text.in_(button_texts("kb-my-deals")))
    r.message.register(my_deals, Command("deals"))
    r.message.register(got_title, Flow.deal_title, FREE_TEXT)
    r.callback_query.register(open_deal, DealCb.filter(F.action == "open"))
    r.callback_query.register(move, DealCb.filter(F.action == "stage"))
    r.callback_query.register(ask_close, DealCb.filter(F.action.in_({"won", "lost"})))
    r.message.register(got_amount, Flow.deal_amount, FREE_TEXT)
    r.message.register(got_reason, Flow.deal_reason, FREE_TEXT)
    return r
