"""Deals: create from a card, my open deals, move a stage, won (amount) / lost (reason)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import DealCb
from bot.handlers.common import FREE_TEXT, Flow, answer, cancelable, show
from bot.i18n import Texts
from bot.keyboards import button_texts
from bot.views import deals as views
from bot.views.format import Screen, esc
from core.context import Actor, Ctx
from core.deals import service as deals
from core.deals.models import Deal
from core.documents import service as documents
from core.users.models import User

MY_DEALS_SHOWN = 20


async def deal_screen(ctx: Ctx, t: Texts, actor: Actor, deal_id: int) -> Screen:
    deal = await deals.get(ctx, actor=actor, deal_id=deal_id)
    return await deal_view(ctx, t, deal)


async def deal_view(ctx: Ctx, t: Texts, deal: Deal) -> Screen:
    """The deal's screen with its stages and how many documents it has."""
    count = await documents.count_documents(ctx, deal_id=deal.id)
    return views.deal_screen(t, deal, await deals.stages(ctx), count)


def router() -> Router:
    r = Router(name="deals")

    @r.message(Command("deals"))
    @r.message(F.text.in_(button_texts("kb-my-deals")))
    async def my_deals(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, user: User, state: FSMContext
    ) -> None:
        await state.set_state(None)
        page = await deals.list_deals(
            ctx, actor=actor, owner_id=user.id, open_only=True, limit=MY_DEALS_SHOWN
        )
        screen = views.my_deals(t, page.items, page.total, await deals.stages(ctx))
        await message.answer(screen.text, reply_markup=screen.markup)

    @r.message(Flow.deal_title, FREE_TEXT)
    async def got_title(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        data = await state.get_data()
        deal = await deals.create(
            ctx, actor=actor, title=message.text or "", contact_id=int(data["contact_id"])
        )
        await state.clear()
        screen = await deal_view(ctx, t, deal)
        await message.answer(t("deal-created") + "\n\n" + screen.text, reply_markup=screen.markup)

    @r.callback_query(DealCb.filter(F.action == "open"))
    async def open_deal(
        query: CallbackQuery, callback_data: DealCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        await answer(query, await deal_screen(ctx, t, actor, callback_data.id))

    @r.callback_query(DealCb.filter(F.action == "stage"))
    async def move(
        query: CallbackQuery, callback_data: DealCb, ctx: Ctx, t: Texts, actor: Actor
    ) -> None:
        deal = await deals.move(
            ctx, actor=actor, deal_id=callback_data.id, stage=callback_data.stage
        )
        await show(query, await deal_view(ctx, t, deal))

    @r.callback_query(DealCb.filter(F.action.in_({"won", "lost"})))
    async def ask_close(
        query: CallbackQuery,
        callback_data: DealCb,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        deal = await deals.get(ctx, actor=actor, deal_id=callback_data.id)
        if deal.closed_at is not None:
            await show(query, await deal_view(ctx, t, deal))
            return
        won = callback_data.action == "won"
        await state.set_state(Flow.deal_amount if won else Flow.deal_reason)
        await state.set_data({"deal_id": deal.id})
        await answer(
            query,
            cancelable(t, t("ask-won-amount" if won else "ask-lost-reason", title=esc(deal.title))),
        )

    @r.message(Flow.deal_amount, FREE_TEXT)
    async def got_amount(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        await _close_deal(message, ctx, t, actor, state, "won", amount=message.text)

    @r.message(Flow.deal_reason, FREE_TEXT)
    async def got_reason(
        message: Message, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        await _close_deal(message, ctx, t, actor, state, "lost", lost_reason=message.text)

    return r


async def _outcome_stage(ctx: Ctx, outcome: str) -> str:
    for stage in await deals.stages(ctx):
        if stage.outcome == outcome:
            return stage.code
    return outcome


async def _close_deal(
    message: Message,
    ctx: Ctx,
    t: Texts,
    actor: Actor,
    state: FSMContext,
    outcome: str,
    **fields: str | None,
) -> None:
    """Move the deal of the dialog to its won or lost stage with what was typed; show it."""
    data = await state.get_data()
    stage = await _outcome_stage(ctx, outcome)
    deal = await deals.move(ctx, actor=actor, deal_id=int(data["deal_id"]), stage=stage, **fields)
    await state.clear()
    screen = await deal_view(ctx, t, deal)
    await message.answer(t(f"deal-{outcome}") + "\n\n" + screen.text, reply_markup=screen.markup)
