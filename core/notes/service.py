"""Notes and the contact timeline (notes, calls, activities, deal changes, chat messages of
both channels; newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from core import access
from core.activities.models import Activity
from core.calls.models import Call
from core.common import Page, add_audited, audit, check_page, get_or_not_found, page_of
from core.contacts.service import get_contact_for_work
from core.context import Actor, Ctx
from core.conversations.models import ChatMessage
from core.deals.models import Deal, DealStageChange
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models.audit import AuditLog
from core.notes.models import Note
from core.outbox import service as outbox
from core.users.models import User

TimelineKind = Literal["note", "call", "activity", "deal_change", "message"]


@dataclass(frozen=True)
class TimelineEntry:
    kind: TimelineKind
    at: datetime
    item: Note | Call | Activity | DealStageChange | ChatMessage
    deal_title: str | None = None
    # A message's author as people know them: the salesperson's name, or the label of the
    # integration or robot that sent it ("api:shop", "order_status"); None for the client.
    author: str | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    total: int


async def add_note(
    ctx: Ctx,
    *,
    actor: Actor,
    contact_id: int,
    text: str,
    kind: str = "note",
    call_id: int | None = None,
    deal_id: int | None = None,
    file_id: str | None = None,
    message_ref: str | None = None,
) -> Note:
    """Add a note to a contact's history; a voice note or photo keeps its Telegram `file_id`
    and a note typed in a chat its `message_ref`, both in the note's audit entry."""
    body = (text or "").strip()
    if not body and file_id is None:
        raise InvalidInput("note text must not be empty", field="text", code="note-empty")
    if len(body) > 10_000:
        raise InvalidInput(
            "note is longer than 10000 characters", field="text", code="note-too-long"
        )
    contact = await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    note = Note(
        contact_id=contact_id,
        author_id=actor.user_id,
        text=body,
        kind=kind,
        call_id=call_id,
        deal_id=deal_id,
        created_at=ctx.clock.now(),
    )
    changes = {
        "contact_id": contact_id,
        **({"file_id": file_id} if file_id else {}),
        **({"message": message_ref} if message_ref else {}),
    }
    await add_audited(ctx, note, actor=actor, entity="note", changes=changes)
    if contact.owner_id is not None and actor.user_id not in (None, contact.owner_id):
        # A colleague (who took the client's call, or a manager) wrote on someone else's
        # client: the owner hears what was said, in the same unit of work.
        await outbox.enqueue(
            ctx,
            kind="colleague_note",
            dedupe_key=f"colleague-note:{note.id}",
            payload={"note_id": note.id, "contact_id": contact_id},
            user_id=contact.owner_id,
        )
    await ctx.session.commit()
    return note


async def get_note(ctx: Ctx, *, actor: Actor, contact_id: int, note_id: int) -> Note:
    """A note of a contact the actor may see, or NotFound (a note of another contact too)."""
    await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    note = await ctx.session.get(Note, note_id)
    if note is None or note.contact_id != contact_id:
        raise NotFound(f"note {note_id} of contact {contact_id} not found")
    return note


async def list_notes(
    ctx: Ctx, *, actor: Actor, contact_id: int, limit: int = 50, offset: int = 0
) -> Page[Note]:
    """The notes of a contact the actor may see, newest first, one page at a time."""
    check_page(limit, offset)
    await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    newest_first = (Note.created_at.desc(), Note.id.desc())
    return await page_of(
        ctx,
        Note,
        (Note.contact_id == contact_id,),
        order_by=newest_first,
        limit=limit,
        offset=offset,
    )


async def _own_note(ctx: Ctx, actor: Actor, note_id: int) -> Note:
    # The note must be on a contact the actor may work on (else NotFound, ids do not leak);
    # changing it needs its author or a manager.
    note = await find_note(ctx, actor=actor, note_id=note_id)
    if not (access.may_manage(actor, note.author_id)):
        raise PermissionDenied("only the author or a manager can change a note")
    return note


async def edit_note(ctx: Ctx, *, actor: Actor, note_id: int, text: str) -> Note:
    """Replace a note's text (its author or a manager); the old text stays in the audit log."""
    body = (text or "").strip()
    if not body:
        raise InvalidInput("note text must not be empty", field="text")
    if len(body) > 10_000:
        raise InvalidInput("note is longer than 10000 characters", field="text")
    note = await _own_note(ctx, actor, note_id)
    before = note.text
    note.text = body
    audit(
        ctx,
        actor=actor,
        entity="note",
        entity_id=note.id,
        action="update",
        changes={"text": body, "was": before},
    )
    await ctx.session.commit()
    return note


async def delete_note(ctx: Ctx, *, actor: Actor, note_id: int) -> int:
    """Delete a note (its author or a manager): gone from the timeline, its text kept in the
    audit log; returns the contact id."""
    note = await _own_note(ctx, actor, note_id)
    contact_id = note.contact_id
    audit(
        ctx,
        actor=actor,
        entity="note",
        entity_id=note.id,
        action="delete",
        changes={"contact_id": contact_id, "text": note.text, "kind": note.kind},
    )
    await ctx.session.delete(note)
    await ctx.session.commit()
    return contact_id


async def find_note(ctx: Ctx, *, actor: Actor, note_id: int) -> Note:
    """A note on a contact the actor may work on, or NotFound."""
    note = await get_or_not_found(ctx, Note, note_id, "note")
    await get_contact_for_work(ctx, actor=actor, contact_id=note.contact_id)
    return note


# How far back a note's source message or file is looked up in the audit log: a note is
# edited or its file fetched soon after it was written, and the scan stays cheap.
SOURCE_LOOKBACK = 500


async def _created_entry(ctx: Ctx, note_id: int) -> dict[str, Any]:
    changes = await ctx.session.scalar(
        select(AuditLog.changes)
        .where(
            AuditLog.entity == "note", AuditLog.entity_id == note_id, AuditLog.action == "create"
        )
        .order_by(AuditLog.id)
        .limit(1)
    )
    return changes if isinstance(changes, dict) else {}


async def note_file(ctx: Ctx, *, actor: Actor, note_id: int) -> str | None:
    """The Telegram file_id of a voice note or photo the actor may see, or None."""
    await find_note(ctx, actor=actor, note_id=note_id)
    value = (await _created_entry(ctx, note_id)).get("file_id")
    return str(value) if value else None


async def note_of_message(ctx: Ctx, *, actor: Actor, message_ref: str) -> Note | None:
    """The note the actor wrote as the chat message `message_ref` (still there), or None."""
    rows = await ctx.session.execute(
        select(AuditLog.entity_id, AuditLog.changes)
        .where(
            AuditLog.entity == "note",
            AuditLog.action == "create",
            AuditLog.actor_user_id == actor.user_id,
        )
        .order_by(AuditLog.id.desc())
        .limit(SOURCE_LOOKBACK)
    )
    for note_id, changes in rows:
        if isinstance(changes, dict) and changes.get("message") == message_ref:
            return await ctx.session.get(Note, note_id)
    return None


async def _message_entries(ctx: Ctx, messages: list[ChatMessage]) -> list[TimelineEntry]:
    """Chat messages as timeline entries, each with its author's name (one query for all)."""
    ids = {m.author_user_id for m in messages if m.author_user_id is not None}
    rows = await ctx.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    names: dict[int, str] = {user_id: name for user_id, name in rows}
    return [
        TimelineEntry(
            "message",
            m.sent_at,
            m,
            author=names.get(m.author_user_id) if m.author_user_id else m.author_label,
        )
        for m in messages
    ]


# The kinds of row that name their contact themselves (deal changes name it through the deal).
_OnContact = TypeVar("_OnContact", Note, Call, Activity, ChatMessage)


async def _newest(
    ctx: Ctx, kind: type[_OnContact], at: InstrumentedAttribute[datetime], contact_id: int, n: int
) -> Sequence[_OnContact]:
    """The `n` newest rows of one kind on a contact, by `at` (then id)."""
    rows = await ctx.session.scalars(
        select(kind)
        .where(kind.contact_id == contact_id)
        .order_by(at.desc(), kind.id.desc())
        .limit(n)
    )
    return rows.all()


async def timeline(
    ctx: Ctx, *, actor: Actor, contact_id: int, limit: int = 20, offset: int = 0
) -> Timeline:
    """Everything that happened with a contact, newest first, one page at a time."""
    check_page(limit, offset)
    await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    window = limit + offset
    notes = await _newest(ctx, Note, Note.created_at, contact_id, window)
    calls = await _newest(ctx, Call, Call.started_at, contact_id, window)
    activities = await _newest(ctx, Activity, Activity.created_at, contact_id, window)
    changes = await ctx.session.execute(
        select(DealStageChange, Deal.title)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(Deal.contact_id == contact_id)
        .order_by(DealStageChange.changed_at.desc(), DealStageChange.id.desc())
        .limit(window)
    )
    messages = await _newest(ctx, ChatMessage, ChatMessage.sent_at, contact_id, window)
    entries = [TimelineEntry("note", n.created_at, n) for n in notes]
    entries += await _message_entries(ctx, list(messages))
    entries += [TimelineEntry("call", c.started_at, c) for c in calls]
    entries += [TimelineEntry("activity", a.done_at or a.created_at, a) for a in activities]
    entries += [TimelineEntry("deal_change", ch.changed_at, ch, title) for ch, title in changes]
    entries.sort(key=lambda e: e.at, reverse=True)
    total = 0
    for query in (
        select(func.count()).select_from(Note).where(Note.contact_id == contact_id),
        select(func.count()).select_from(Call).where(Call.contact_id == contact_id),
        select(func.count()).select_from(Activity).where(Activity.contact_id == contact_id),
        select(func.count())
        .select_from(DealStageChange)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(Deal.contact_id == contact_id),
        select(func.count()).select_from(ChatMessage).where(ChatMessage.contact_id == contact_id),
    ):
        total += await ctx.session.scalar(query) or 0
    return Timeline(entries=entries[offset : offset + limit], total=total)
