"""A client's orders and requests in the company bot (issue 17 §3).

1. A client (anyone not on the team: the user middleware gives them a `client` request,
   bot/request.py) sends
   `/orders` or presses "My orders": the open orders of the contact the bot matched them to,
   each with its client-facing status and amount (core.conversations.orders). A client the
   bot does not know yet is asked to share their phone.
2. "Leave a request" asks for one message; that message becomes a deal at the first stage for
   the client's owner (or the on-duty person), who is told. A phone written in it is passed
   on; «cancel» (or any button) ends the wait.
This router comes before the client-chat router, so these buttons are not taken for a
message to the salesperson.
"""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot.keyboards import button_texts, client_keyboard
from bot.request import ClientRequest
from bot.views import orders as views
from core.conversations import orders

# A phone as people write it inside a sentence: +7 916 123-45-67, 8(916)1234567, …
PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s()\-]{8,16}\d")


class LeaveRequest(StatesGroup):
    # Stored as "ClientRequest:text", its name before bot/request.py's ClientRequest: a wait
    # kept in Redis across an upgrade still ends in a request.
    text = State(group_name="ClientRequest")


class FromClient(Filter):
    """The sender is a client (not on the team), as the user middleware says."""

    async def __call__(self, message: Message, client: ClientRequest | None = None) -> bool:
        return client is not None


async def my_orders(message: Message, client: ClientRequest, state: FSMContext) -> None:
    """Step 1: the client's open orders with status and amount."""
    ctx, t = client.ctx, client.t
    await state.clear()
    contact = await client.contact()
    if contact is None:
        await ctx.session.commit()
        await message.answer(t("client-orders-unknown"), reply_markup=client_keyboard(t))
        return
    listed = await orders.client_orders(ctx, contact_id=contact.id, locale=t.locale)
    await ctx.session.commit()  # ends the read before Telegram is called
    await message.answer(views.orders_list(t, listed), reply_markup=client_keyboard(t))


async def ask_request(message: Message, client: ClientRequest, state: FSMContext) -> None:
    """Step 2: wait for the request's text."""
    await state.set_state(LeaveRequest.text)
    await message.answer(client.t("client-request-ask"))


async def take_request(message: Message, client: ClientRequest, state: FSMContext) -> None:
    """Step 2: the client's message becomes a deal; the owner is told."""
    t = client.t
    text = (message.text or message.caption or "").strip()
    if text.casefold() in {word.casefold() for word in button_texts("client-cancel")}:
        await state.clear()
        await message.answer(t("client-request-canceled"), reply_markup=client_keyboard(t))
        return
    contact = await client.contact()
    if contact is None:
        await state.clear()
        await message.answer(t("client-orders-unknown"), reply_markup=client_keyboard(t))
        return
    phone = PHONE_IN_TEXT.search(text)
    await orders.leave_request(
        client.ctx, contact_id=contact.id, text=text, phone=phone.group(0) if phone else None
    )
    await state.clear()
    await message.answer(t("client-request-taken"), reply_markup=client_keyboard(t))


def router() -> Router:
    """/orders, My orders, Leave a request and the request's text (before the client chat)."""
    r = Router(name="orders")
    orders_button = F.text.in_(button_texts("client-btn-orders"))
    request_button = F.text.in_(button_texts("client-btn-request"))
    r.message.register(my_orders, FromClient(), Command("orders"))
    r.message.register(my_orders, FromClient(), orders_button)
    r.message.register(ask_request, FromClient(), request_button)
    r.message.register(take_request, FromClient(), LeaveRequest.text, F.text)
    return r
