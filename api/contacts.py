"""Contacts: search, card, create, patch, soft delete, upsert by phone, merge, timeline, notes
(add, read, edit, delete).

Consent (core.contacts.consent): the shape shows it with its source and time; create, patch
and upsert may withdraw it (`marketing_consent: false`) or record consent the client gave
elsewhere (`true` with `consent_source`, optional `consent_at`), never after the client's
/stop (409) — any key that may write contacts may do this, and every change is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from api.auth import ActorDep, CtxDep
from api.common import CREATED_HEADERS, NOT_FOUND, created, post_created
from api.fields import SearchQuery
from api.schemas import (
    ContactIn,
    ContactList,
    ContactOut,
    ContactPatch,
    ErrorOut,
    Id,
    Limit,
    MergeIn,
    NoteIn,
    NoteList,
    NoteOut,
    NotePatch,
    Offset,
    TimelineEntryOut,
    TimelineList,
)
from core.contacts import service as contacts
from core.notes import service as notes

router = APIRouter(prefix="/contacts", tags=["contacts"])
# What core.phones accepts: digits and ()+-./ and spaces, then maybe an extension
# ("доб. 12", "ext 12", "#12"); whether it is a real number is still checked (422).
PHONE_PATTERN = (
    r"^[\s()+\-./]*[0-9][0-9\s()+\-./]*"
    r"(\s*(,|;|#|\*|[Ee][Xx][Tt]\.?|[Xx]\.?|доб\.?|добавочный|вн\.?)\s*[0-9]{1,6})?\s*$"
)
PhonePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=80,
        pattern=PHONE_PATTERN,
        description="the number in any format, URL-encoded (`+` as %2B)",
        examples=["+79161234567"],
    ),
]
CONFLICT: dict[int | str, dict[str, object]] = {
    409: {
        "model": ErrorOut,
        "description": "a phone belongs to another contact (existing_id), or "
        "`marketing_consent: true` for a client who sent /stop in the bot",
    }
}


@router.get("")
async def list_contacts(
    ctx: CtxDep,
    actor: ActorDep,
    q: SearchQuery | None = None,
    owner_id: Id | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ContactList:
    """Search by any part of name, company, email or phone (any format), case-insensitive."""
    page = await contacts.search(
        ctx, actor=actor, q=q, owner_id=owner_id, limit=limit, offset=offset
    )
    return ContactList(
        items=[ContactOut.of(c) for c in page.items],
        total=page.total,
        total_capped=page.total_capped,
    )


@post_created(router, "", "the contact", CONFLICT)
async def create_contact(
    ctx: CtxDep, actor: ActorDep, body: ContactIn, request: Request, response: Response
) -> ContactOut:
    """Create a contact; a phone owned by a live contact is a 409 naming it."""
    contact = await contacts.create_contact(ctx, actor=actor, source="api", **body.model_dump())
    created(request, response, "get_contact", contact_id=contact.id)
    return ContactOut.of(contact)


@router.put(
    "/by-phone/{phone}",
    responses={
        200: {"description": "updated the contact with this phone"},
        201: {
            "model": ContactOut,
            "description": "created a contact; Location is its URL",
            "headers": CREATED_HEADERS,
        },
        **CONFLICT,
    },
)
async def upsert_by_phone(
    ctx: CtxDep,
    actor: ActorDep,
    phone: PhonePath,
    request: Request,
    response: Response,
    body: ContactPatch | None = None,
) -> ContactOut:
    """Update the contact owning this phone (200), or create it (201)."""
    fields = body.model_dump(exclude_unset=True) if body is not None else {}
    contact, new = await contacts.upsert_by_phone(ctx, actor=actor, phone=phone, fields=fields)
    if new:
        created(request, response, "get_contact", contact_id=contact.id)
    return ContactOut.of(contact)


@router.get("/{contact_id}", responses=NOT_FOUND)
async def get_contact(ctx: CtxDep, actor: ActorDep, contact_id: Id) -> ContactOut:
    """One live contact."""
    return ContactOut.of(await contacts.get_contact(ctx, actor=actor, contact_id=contact_id))


@router.patch("/{contact_id}", responses={**NOT_FOUND, **CONFLICT})
async def patch_contact(
    ctx: CtxDep, actor: ActorDep, contact_id: Id, body: ContactPatch
) -> ContactOut:
    """Change only the given fields; `phones` replaces the phone list."""
    contact = await contacts.update_contact(
        ctx, actor=actor, contact_id=contact_id, changes=body.model_dump(exclude_unset=True)
    )
    return ContactOut.of(contact)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_contact(ctx: CtxDep, actor: ActorDep, contact_id: Id) -> None:
    """Soft delete: gone from lists and look-ups; its calls and history stay."""
    await contacts.delete_contact(ctx, actor=actor, contact_id=contact_id)


@router.post("/{contact_id}/merge", responses=NOT_FOUND)
async def merge_contact(ctx: CtxDep, actor: ActorDep, contact_id: Id, body: MergeIn) -> ContactOut:
    """Merge `source_id` into this contact, keeping every phone, call, note, task and deal."""
    contact = await contacts.merge_contacts(
        ctx, actor=actor, source_id=body.source_id, target_id=contact_id
    )
    return ContactOut.of(contact)


@router.get("/{contact_id}/timeline", responses=NOT_FOUND)
async def contact_timeline(
    ctx: CtxDep, actor: ActorDep, contact_id: Id, limit: Limit = 50, offset: Offset = 0
) -> TimelineList:
    """Notes, calls, activities and deal changes of a contact, newest first."""
    timeline = await notes.timeline(
        ctx, actor=actor, contact_id=contact_id, limit=limit, offset=offset
    )
    return TimelineList(
        items=[TimelineEntryOut.of(e) for e in timeline.entries], total=timeline.total
    )


@router.get("/{contact_id}/notes", responses=NOT_FOUND)
async def list_notes(
    ctx: CtxDep, actor: ActorDep, contact_id: Id, limit: Limit = 50, offset: Offset = 0
) -> NoteList:
    """The contact's notes, newest first (the timeline has calls and tasks too)."""
    page = await notes.list_notes(
        ctx, actor=actor, contact_id=contact_id, limit=limit, offset=offset
    )
    return NoteList(items=[NoteOut.of(n) for n in page.items], total=page.total)


@post_created(router, "/{contact_id}/notes", "the note", NOT_FOUND)
async def add_note(
    ctx: CtxDep,
    actor: ActorDep,
    contact_id: Id,
    body: NoteIn,
    request: Request,
    response: Response,
) -> NoteOut:
    """Add a note to the contact's history."""
    note = await notes.add_note(ctx, actor=actor, contact_id=contact_id, text=body.text)
    created(request, response, "get_note", contact_id=contact_id, note_id=note.id)
    return NoteOut.of(note)


@router.get("/{contact_id}/notes/{note_id}", responses=NOT_FOUND)
async def get_note(ctx: CtxDep, actor: ActorDep, contact_id: Id, note_id: Id) -> NoteOut:
    """One note of the contact."""
    return NoteOut.of(
        await notes.get_note(ctx, actor=actor, contact_id=contact_id, note_id=note_id)
    )


@router.patch("/{contact_id}/notes/{note_id}", responses=NOT_FOUND)
async def edit_note(
    ctx: CtxDep, actor: ActorDep, contact_id: Id, note_id: Id, body: NotePatch
) -> NoteOut:
    """Replace a note's text (admin keys); the old text stays in the audit log."""
    await notes.get_note(ctx, actor=actor, contact_id=contact_id, note_id=note_id)
    return NoteOut.of(await notes.edit_note(ctx, actor=actor, note_id=note_id, text=body.text))


@router.delete(
    "/{contact_id}/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
async def delete_note(ctx: CtxDep, actor: ActorDep, contact_id: Id, note_id: Id) -> None:
    """Delete a note (admin keys): gone from the timeline, its text kept in the audit log."""
    await notes.get_note(ctx, actor=actor, contact_id=contact_id, note_id=note_id)
    await notes.delete_note(ctx, actor=actor, note_id=note_id)
