"""Forgetting a client (`perezvon contacts forget ID`, admins): their personal data erased.

What goes, in one transaction:
1. the contact itself with its phones, e-mail, birthday, Telegram ids, consent and greetings;
2. every chat message (both channels) and conversation with them, staff copies of those
   messages, and notifications still queued to their chat or about them;
3. the notes on their card, and the text of the audit entries of those notes, of the
   contact and of their messages (kept as lines saying that something happened, emptied);
4. the documents on their card and their deals, and the stored bytes that no other document shares
   (blobs in the database go with their chunks; files in a directory are listed for the
   caller to unlink after the commit: the database never says "gone" for a file that stays).
What stays, unlinked from them: calls (the team's call statistics; their summaries are
emptied), deals and tasks (the team's work and the shop's orders; a deal the client opened
with a request loses its title, their words, for "#<id>"). One audit line records
that the contact was forgotten, by whom and how much went, and nothing personal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, delete, or_, select, update

from core.activities.models import Activity
from core.calls.models import Call
from core.common import audit, get_or_not_found
from core.contacts.models import Contact, ContactPhone
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage, Conversation, MessageRelay
from core.deals.models import Deal
from core.documents import storage
from core.documents.models import Document, DocumentBlob, DocumentChunk, DocumentText
from core.errors import PermissionDenied
from core.greetings.models import GreetingLog
from core.models.audit import AuditLog
from core.notes.models import Note
from core.outbox.models import Notification

# Notifications whose payload names the contact, their messages or conversations (some carry
# their words: a request, a greeting, a colleague's note).
CONTACT_PAYLOAD_KINDS = (
    *("colleague_note", "client_request", "greet_today", "greeting"),
    *("client_message", "client_relay", "client_blocked"),
)
ERASED = {"erased": True}
ID_BATCH = 5000  # ids per statement (PostgreSQL takes at most 32,767 parameters)


@dataclass
class Forgotten:
    """What `forget_contact` erased (counts only), and the directory blobs to unlink."""

    contact_id: int
    messages: int = 0
    conversations: int = 0
    notes: int = 0
    documents: int = 0
    blobs: int = 0
    notifications: int = 0
    dir_blobs: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "conversations": self.conversations,
            "notes": self.notes,
            "documents": self.documents,
            "blobs": self.blobs,
            "notifications": self.notifications,
        }


async def _ids(ctx: Ctx, column: object, *where: object) -> list[int]:
    return list(await ctx.session.scalars(select(column).where(*where)))  # type: ignore[call-overload]


async def _scrub_audit(ctx: Ctx, entity: str, ids: Select[tuple[int]]) -> None:
    """Empty the audit entries of these rows (`ids` is a query: no list of parameters, so a
    client with 100,000 messages fits PostgreSQL's 32,767 as well as one with ten)."""
    await ctx.session.execute(
        update(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id.in_(ids))
        .values(changes=ERASED)
        .execution_options(synchronize_session=False)
    )


async def _forget_messages(ctx: Ctx, contact_id: int, result: Forgotten) -> None:
    conversations = await ctx.session.execute(
        select(Conversation.id, Conversation.chat_id).where(Conversation.contact_id == contact_id)
    )
    conversation_ids, chat_ids = [], []
    for conversation_id, chat_id in conversations:
        conversation_ids.append(conversation_id)
        chat_ids.append(chat_id)
    message_ids = await _ids(ctx, ChatMessage.id, ChatMessage.contact_id == contact_id)
    theirs = select(ChatMessage.id).where(ChatMessage.contact_id == contact_id)
    chats = select(Conversation.id).where(Conversation.contact_id == contact_id)
    await _scrub_audit(ctx, "chat_message", theirs)
    await ctx.session.execute(
        update(Document)
        .where(Document.chat_message_id.in_(theirs))
        .values(chat_message_id=None)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.execute(delete(MessageRelay).where(MessageRelay.message_id.in_(theirs)))
    await ctx.session.execute(delete(MessageRelay).where(MessageRelay.conversation_id.in_(chats)))
    await ctx.session.execute(delete(ChatMessage).where(ChatMessage.contact_id == contact_id))
    await ctx.session.execute(
        update(Activity)
        .where(Activity.conversation_id.in_(chats))
        .values(conversation_id=None)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.execute(delete(Conversation).where(Conversation.contact_id == contact_id))
    result.messages, result.conversations = len(message_ids), len(conversation_ids)
    await _forget_notifications(ctx, contact_id, chat_ids, message_ids, conversation_ids, result)


async def _forget_notifications(
    ctx: Ctx,
    contact_id: int,
    chat_ids: list[int],
    message_ids: list[int],
    conversation_ids: list[int],
    result: Forgotten,
) -> None:
    """Outbox rows (sent or not) to the client's chats or about them."""
    doomed: set[int] = set()
    chat_rows = 0
    if chat_ids:  # a client has a conversation or two: a short list
        deleted = await ctx.session.execute(
            delete(Notification).where(Notification.chat_id.in_(chat_ids))
        )
        chat_rows = int(getattr(deleted, "rowcount", 0) or 0)
    messages, conversations = set(message_ids), set(conversation_ids)
    rows = await ctx.session.execute(
        select(Notification.id, Notification.payload).where(
            Notification.kind.in_(CONTACT_PAYLOAD_KINDS)
        )
    )
    for notification_id, payload in rows:
        if not isinstance(payload, dict):
            continue
        listed = payload.get("items")
        items = listed if isinstance(listed, list) else []
        about = [
            payload.get("contact_id"),
            *(i.get("contact_id") for i in items if isinstance(i, dict)),
        ]
        if (
            contact_id in about
            or payload.get("chat_message_id") in messages
            or payload.get("conversation_id") in conversations
        ):
            doomed.add(notification_id)
    ordered = sorted(doomed)
    for start in range(0, len(ordered), ID_BATCH):
        batch = ordered[start : start + ID_BATCH]
        await ctx.session.execute(delete(Notification).where(Notification.id.in_(batch)))
    result.notifications = len(doomed) + chat_rows


async def _forget_documents(ctx: Ctx, contact_id: int, result: Forgotten) -> None:
    # Model-level, so a dry run only counts: the `dir` files of blobs no document uses any
    # more are unlinked by forget_contact after its commit (storage.DirBackend).
    deal_ids = select(Deal.id).where(Deal.contact_id == contact_id)
    theirs = select(Document.id).where(
        or_(
            Document.contact_id == contact_id,
            Document.deal_id.in_(deal_ids) & Document.contact_id.is_(None),
        )
    )
    hashes = set(await ctx.session.scalars(select(Document.sha256).where(Document.id.in_(theirs))))
    if not hashes:
        return
    await _scrub_audit(ctx, "document", theirs)
    await ctx.session.execute(delete(DocumentText).where(DocumentText.document_id.in_(theirs)))
    deleted = await ctx.session.execute(delete(Document).where(Document.id.in_(theirs)))
    result.documents = int(getattr(deleted, "rowcount", 0) or 0)
    for sha256 in sorted(hashes):  # one file at a time: a blob no document uses any more goes
        if await ctx.session.scalar(select(Document.id).where(Document.sha256 == sha256).limit(1)):
            continue
        storage = await ctx.session.scalar(
            select(DocumentBlob.storage).where(DocumentBlob.sha256 == sha256)
        )
        if storage is None:
            continue
        if storage != "db":
            result.dir_blobs.append(sha256)
        await ctx.session.execute(delete(DocumentChunk).where(DocumentChunk.sha256 == sha256))
        await ctx.session.execute(delete(DocumentBlob).where(DocumentBlob.sha256 == sha256))
        result.blobs += 1


async def forget_contact(
    ctx: Ctx, *, actor: Actor, contact_id: int, dry_run: bool = False
) -> Forgotten:
    """Erase a contact's personal data (admins; deleted contacts too) and commit; `dry_run`
    counts what would go and rolls back."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can forget a contact", code="admin-only")
    contact = await get_or_not_found(ctx, Contact, contact_id, "contact")
    result = Forgotten(contact_id=contact_id)
    await _forget_messages(ctx, contact_id, result)
    await _forget_documents(ctx, contact_id, result)
    # A deal the client opened with a request is titled with their words: renamed by its id.
    requested = await _ids(
        ctx, Note.deal_id, Note.contact_id == contact_id, Note.kind == "client_request"
    )
    for deal_id in {d for d in requested if d is not None}:
        await ctx.session.execute(
            update(Deal)
            .where(Deal.id == deal_id)
            .values(title=f"#{deal_id}")
            .execution_options(synchronize_session=False)
        )
        await _scrub_audit(ctx, "deal", select(Deal.id).where(Deal.id == deal_id))
    await _scrub_audit(ctx, "note", select(Note.id).where(Note.contact_id == contact_id))
    deleted = await ctx.session.execute(delete(Note).where(Note.contact_id == contact_id))
    result.notes = int(getattr(deleted, "rowcount", 0) or 0)
    await ctx.session.execute(
        update(Call)
        .where(Call.contact_id == contact_id)
        .values(contact_id=None, summary=None)
        .execution_options(synchronize_session=False)
    )
    for model in (Deal, Activity):
        await ctx.session.execute(
            update(model)
            .where(model.contact_id == contact_id)
            .values(contact_id=None)
            .execution_options(synchronize_session=False)
        )
    await ctx.session.execute(
        update(Contact)
        .where(Contact.merged_into_id == contact_id)
        .values(merged_into_id=None)
        .execution_options(synchronize_session=False)
    )
    await _scrub_audit(ctx, "contact", select(Contact.id).where(Contact.id == contact_id))
    await ctx.session.execute(delete(GreetingLog).where(GreetingLog.contact_id == contact_id))
    await ctx.session.execute(delete(ContactPhone).where(ContactPhone.contact_id == contact_id))
    ctx.session.expunge(contact)
    await ctx.session.execute(delete(Contact).where(Contact.id == contact_id))
    audit(
        ctx,
        actor=actor,
        entity="contact",
        entity_id=contact_id,
        action="forget",
        changes=result.counts(),
    )
    if dry_run:
        await ctx.session.rollback()
        result.dir_blobs = []
    else:
        await ctx.session.commit()
        folder = storage.backend_named(ctx, "dir")
        for sha256 in result.dir_blobs:  # after the commit: a rollback keeps every file
            await folder.remove(ctx, sha256)
    return result
