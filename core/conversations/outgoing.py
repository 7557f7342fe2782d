"""Messages to a client: recorded on the timeline, then delivered by the outbox.

1. `send_to_client` records an outgoing `ChatMessage` (status pending, who wrote it) and, in
   the same unit of work, queues the `client_message` outbox row that delivers it after the
   commit (bot/delivery.py). It does not commit: the caller's service commits once.
2. What is sent: a copy of a staff member's own message (`copy_of`: their chat and message
   id, any media, no "forwarded" header), else a media file by Telegram's `file_id` with
   the text as caption, else the text.
3. An answer by a person (`author_user_id`) stamps the conversation's `last_out_at` and
   closes the conversation's open "reply to the client" task; a notice sent by the system
   (auto-reply, order status) is logged but answers nothing.
4. `idempotency_key`: a known key returns the message already recorded, nothing more is sent.
5. The delivery marks the message sent (with its Telegram id) or failed (core.conversations
   .delivery); a client who blocked the bot closes the conversation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.context import Ctx
from core.conversations import sla
from core.conversations.models import ChatMessage, Conversation
from core.errors import Conflict
from core.outbox import service as outbox

CLIENT_MESSAGE = "client_message"  # outbox kind: one message to a client
MEDIA_KINDS = ("photo", "document", "voice", "video", "audio", "animation", "video_note")


async def send_to_client(
    ctx: Ctx,
    *,
    conversation: Conversation,
    text: str | None = None,
    kind: str = "text",
    file_id: str | None = None,
    file_unique_id: str | None = None,
    file_name: str | None = None,
    mime_type: str | None = None,
    file_size: int | None = None,
    copy_of: tuple[int, int] | None = None,
    author_user_id: int | None = None,
    author_label: str | None = None,
    idempotency_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> ChatMessage:
    """Record a message to the client and queue its delivery (steps 1-4); does not commit."""
    if idempotency_key is not None:
        known: ChatMessage | None = await ctx.session.scalar(
            select(ChatMessage).where(ChatMessage.idempotency_key == idempotency_key)
        )
        if known is not None:
            return known
    if conversation.status == "closed":
        raise Conflict(
            f"the client closed conversation {conversation.id} "
            f"({conversation.closed_reason or 'closed'}); they must write first",
            code="client-unreachable",
        )
    if copy_of is None and not (text and text.strip()) and file_id is None:
        raise Conflict("a message to a client needs a text or a file", code="message-empty")
    now = ctx.clock.now()
    message = ChatMessage(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel=conversation.channel,
        direction="out",
        author_user_id=author_user_id,
        author_label=author_label,
        kind=kind[:16],
        text=text,
        file_id=file_id,
        file_unique_id=file_unique_id,
        file_name=file_name,
        mime_type=mime_type,
        file_size=file_size,
        extra={**(extra or {}), **({"copy_of": list(copy_of)} if copy_of else {})},
        history=[],
        status="pending",
        idempotency_key=idempotency_key,
        sent_at=now,
        created_at=now,
    )
    ctx.session.add(message)
    await ctx.session.flush()
    payload: dict[str, Any] = {"chat_message_id": message.id}
    if conversation.business_connection_id:
        payload["business_connection_id"] = conversation.business_connection_id
    await outbox.enqueue(
        ctx,
        kind=CLIENT_MESSAGE,
        dedupe_key=f"{CLIENT_MESSAGE}:{message.id}",
        chat_id=conversation.chat_id,
        payload=payload,
    )
    conversation.updated_at = now
    if author_user_id is not None:
        conversation.last_out_at = now
        conversation.auto_reply_at = None  # answered: the next out-of-hours message gets one
        await sla.close_reply_tasks(ctx, conversation=conversation, answered_at=now)
    return message
