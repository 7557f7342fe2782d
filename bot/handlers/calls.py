"""The post-call prompt's buttons: the outcome lands on the call; add a note; plan next."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import CallCb
from bot.handlers.common import Flow, ask, show
from bot.request import Request
from bot.views import activities as activity_views
from bot.views import calls as views
from bot.views.format import esc
from core.calls import service as calls
from core.contacts import service as contacts
from core.errors import InvalidInput


async def outcome(
    query: CallbackQuery,
    callback_data: CallCb,
    request: Request,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """An outcome button: saved on the call; «call back» asks when at once."""
    ctx, t = request.ctx, request.t
    if callback_data.outcome not in views.PROMPT_OUTCOMES:
        raise InvalidInput("unknown outcome", field="outcome")
    call = await calls.record_outcome(
        ctx, actor=request.actor, call_id=callback_data.id, outcome=callback_data.outcome
    )
    contact = await calls.contact_of(ctx, call=call)
    await show(query, views.post_call(t, call, contact))
    callback_answer.text = t("outcome-saved", outcome=t("outcome-" + callback_data.outcome))
    if callback_data.outcome == "callback" and contact is not None:
        # "Call back" means planning the call: ask when right away.
        prompt = activity_views.plan_prompt(t, contact)
        await ask(query, t, state, Flow.plan_when, {"contact_id": contact.id}, prompt)


async def follow_up(
    query: CallbackQuery, callback_data: CallCb, request: Request, state: FSMContext
) -> None:
    """Note or Plan on the prompt: asks for the note, or when to call the call's contact."""
    ctx, t, actor = request.ctx, request.t, request.actor
    call = await calls.get_call(ctx, actor=actor, call_id=callback_data.id)
    if call.contact_id is None:
        raise InvalidInput("this call has no contact", field="contact_id")
    contact = await contacts.get_contact_for_work(ctx, actor=actor, contact_id=call.contact_id)
    if callback_data.action == "note":
        data = {"contact_id": contact.id, "call_id": call.id}
        await ask(query, t, state, Flow.note, data, t("ask-note", name=esc(contact.name)))
        return
    prompt = activity_views.plan_prompt(t, contact)
    await ask(query, t, state, Flow.plan_when, {"contact_id": contact.id}, prompt)


def router() -> Router:
    r = Router(name="calls")
    r.callback_query.register(outcome, CallCb.filter(F.action == "out"))
    r.callback_query.register(follow_up, CallCb.filter(F.action.in_({"note", "plan"})))
    return r
