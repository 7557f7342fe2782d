"""Messages to clients: `POST /api/v1/contacts/{id}/messages` (the shop's "your order has
shipped").

1. The client must have an open conversation with the company bot (a bot cannot start a
   chat): without one the answer is 409 with the reason, and nothing is stored.
2. The message is stored (on the contact's timeline, status pending) and delivered by the
   outbox after the commit; 201 with the message.
3. `Idempotency-Key` makes a retry safe: the same key answers 200 with the message the first
   request made (header `Idempotent-Replayed: true`) and sends nothing more.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from api.auth import ActorDep, CtxDep
from api.schemas import ErrorOut, Id, MessageIn, MessageOut
from core.conversations import client_messages

router = APIRouter(prefix="/contacts", tags=["contacts"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=client_messages.IDEMPOTENCY_KEY_LIMIT,
        description="any unique string per message (e.g. the order id and event): a retry "
        "with the same key sends nothing more and answers with the first message",
    ),
]


@router.post(
    "/{contact_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": MessageOut, "description": "a repeated Idempotency-Key: the first message"},
        201: {"description": "stored and queued for delivery"},
        404: {"model": ErrorOut},
        409: {
            "model": ErrorOut,
            "description": "the client has no open conversation with the company bot (never "
            "wrote to it, or blocked it); or the Idempotency-Key belongs to another contact",
        },
    },
)
async def send_message(
    ctx: CtxDep,
    actor: ActorDep,
    contact_id: Id,
    body: MessageIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MessageOut:
    """Send a text to a client who has a conversation with the company bot."""
    message, new = await client_messages.post_message(
        ctx, actor=actor, contact_id=contact_id, text=body.text, idempotency_key=idempotency_key
    )
    if not new:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return MessageOut.of(message, author=message.author_label)
