"""Documents on cards: store, list, read, delete (issue 18).

1. Store (`store_document`): the bytes are spooled under the size limit (DOCUMENTS_MAX_MB),
   their type read from the content (`detect`), their name made safe (`naming`), kept once
   per hash (`storage`); the record says who attached it, from where and when, its name is
   indexed (found by /find at once, before its text is read), and an extraction job
   (`EXTRACT_JOB`) is queued in the same commit.
2. The same request twice (`idempotency_key`, `import_key`) answers the first record; the
   same bytes again on the same card are refused with the existing record's id
   (`Conflict`, code `document-duplicate`); the same bytes on another card share the blob.
3. Who sees a document: whoever may see its contact or its deal, and for a week whoever
   took its contact's call (`access.may_read_document`; lists: `access.document_clause`);
   one on neither by managers and admins. Hidden is reported as missing.
4. Delete is for admins and audited; the record goes, and the bytes with the last record
   that refers to them (`delete_documents_of_contact` does the same for `contacts forget`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core import access
from core.common import Page, audit, check_page, page_of
from core.contacts.models import Contact
from core.contacts.service import get_contact_for_work
from core.context import Actor, Ctx
from core.deals.models import Deal
from core.documents import index, storage, words
from core.documents.detect import Detected, detect
from core.documents.models import Document, DocumentText
from core.documents.naming import safe_name, split_extension
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.jobs import service as jobs
from core.use_case import use_case

SOURCES = ("bot", "api", "import", "client_chat", "shop")
# The background job that reads a stored document's text (payload {"document_id": N});
# its handler is registered by the extraction package (scheduler `background`).
EXTRACT_JOB = "document_extract"
MAX_KEY_LENGTH = 200
P = ParamSpec("P")


@dataclass(frozen=True)
class StoreOutcome:
    """A stored document, and whether it was already there (a repeated request)."""

    document: Document
    replayed: bool = False
    # The name's extension did not match the content (`scan.pdf` holding a JPEG): the
    # extension the name had, the stored name carries the content's one.
    renamed_from: str | None = None


async def add(
    ctx: Ctx,
    *,
    actor: Actor,
    name: str | None,
    source: str,
    data: storage.Source,
    contact_id: int | None = None,
    deal_id: int | None = None,
    telegram_file_id: str | None = None,
    telegram_file_unique_id: str | None = None,
    chat_message_id: int | None = None,
    idempotency_key: str | None = None,
    import_key: str | None = None,
) -> StoreOutcome:
    """`store_document` as a step of the caller's unit of work (never commits), saying too
    whether it was a repeat and whether the name changed."""
    if source not in SOURCES:
        raise InvalidInput(f"unknown document source {source!r}", field="source")
    key = _scoped_key(actor, idempotency_key)
    contact_id, deal_id = await _target(ctx, actor, contact_id, deal_id)
    spooled = await storage.spool(data, max_bytes=ctx.config.documents_max_bytes)
    try:
        repeat = await _repeat(ctx, key, import_key, spooled.sha256, contact_id, deal_id)
        if repeat is not None:
            return StoreOutcome(repeat, replayed=True)
        await _refuse_duplicate(ctx, spooled.sha256, contact_id, deal_id)
        detected = detect(spooled.head, name)
        file_name, renamed_from = _name(name, detected)
        stored = await storage.put(ctx, spooled)
        now = ctx.clock.now()
        document = Document(
            contact_id=contact_id,
            deal_id=deal_id,
            uploaded_by_id=actor.user_id,
            source=source,
            file_name=file_name,
            original_name=name,
            mime_type=detected.mime_type,
            kind=detected.kind,
            size_bytes=stored.size,
            sha256=stored.sha256,
            telegram_file_id=telegram_file_id,
            telegram_file_unique_id=telegram_file_unique_id,
            chat_message_id=chat_message_id,
            extract_status="pending",
            idempotency_key=key,
            import_key=import_key,
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(document)
        try:
            await ctx.session.flush()
        except IntegrityError:
            # The same key from a parallel request committed first: answer as a repeat.
            await ctx.session.rollback()
            repeat = await _repeat(ctx, key, import_key, spooled.sha256, contact_id, deal_id)
            if repeat is None:
                raise
            return StoreOutcome(repeat, replayed=True)
        # Found by its name at once; extraction adds the text (core.documents.index).
        ctx.session.add(
            DocumentText(
                document_id=document.id,
                text="",
                words=index.cap_words(words.normalise([file_name])),
                extracted_at=now,
            )
        )
        await jobs.enqueue(ctx, kind=EXTRACT_JOB, payload={"document_id": document.id})
        _audit(ctx, actor, document, "create")
        return StoreOutcome(document, renamed_from=renamed_from)
    finally:
        spooled.discard()


store = use_case(add)  # one upload, one commit


def _document_of(
    upload: Callable[Concatenate[Ctx, P], Awaitable[StoreOutcome]],
) -> Callable[Concatenate[Ctx, P], Coroutine[Any, Any, Document]]:
    async def store_document(ctx: Ctx, /, *args: P.args, **kwargs: P.kwargs) -> Document:
        """Attach a file (bytes, a file object or an async stream) and queue its extraction;
        `store` with its arguments, answering only the document."""
        return (await upload(ctx, *args, **kwargs)).document

    return store_document


store_document = _document_of(store)


def _scoped_key(actor: Actor, key: str | None) -> str | None:
    """An Idempotency-Key belongs to whoever sent it: two integrations never collide."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH - 40 or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH - 40} printable characters",
            field="Idempotency-Key",
        )
    return f"{actor.label}:{key}"[:MAX_KEY_LENGTH]


async def _target(
    ctx: Ctx, actor: Actor, contact_id: int | None, deal_id: int | None
) -> tuple[int | None, int | None]:
    """The card(s) the document goes on, checked; a deal's document is its contact's too."""
    if deal_id is not None:
        deal = access.visible_deal(ctx, actor, await ctx.session.get(Deal, deal_id), deal_id)
        if contact_id is None:
            contact_id = deal.contact_id
    if contact_id is not None and deal_id is None:
        await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    if contact_id is None and deal_id is None and not actor.sees_all:
        raise PermissionDenied("only managers and admins keep documents on no card")
    return contact_id, deal_id


async def _repeat(
    ctx: Ctx,
    key: str | None,
    import_key: str | None,
    sha256: str,
    contact_id: int | None,
    deal_id: int | None,
) -> Document | None:
    """The document a repeated request made already; Conflict when its key names another."""
    if import_key is not None:
        found = await ctx.session.scalar(select(Document).where(Document.import_key == import_key))
        if found is not None:
            return found
    if key is None:
        return None
    keyed: Document | None = await ctx.session.scalar(
        select(Document).where(Document.idempotency_key == key)
    )
    if keyed is None:
        return None
    if (keyed.sha256, keyed.contact_id, keyed.deal_id) != (sha256, contact_id, deal_id):
        raise Conflict(
            "this Idempotency-Key was used for another file or card",
            existing_id=keyed.id,
            code="document-key-reused",
        )
    return keyed


async def _refuse_duplicate(
    ctx: Ctx, sha256: str, contact_id: int | None, deal_id: int | None
) -> None:
    if contact_id is None and deal_id is None:
        return
    query = select(Document).where(Document.sha256 == sha256, Document.deleted_at.is_(None))
    query = query.where(
        Document.deal_id == deal_id if deal_id is not None else Document.contact_id == contact_id
    )
    found = await ctx.session.scalar(query.order_by(Document.id).limit(1))
    if found is not None:
        raise Conflict(
            f"this file is already on the card as document {found.id} ({found.file_name})",
            existing_id=found.id,
            code="document-duplicate",
            args={"name": found.file_name},
        )


def _name(name: str | None, detected: Detected) -> tuple[str, str | None]:
    """The safe name, with the content's extension when the given one says otherwise."""
    given = split_extension(safe_name(name))[1]
    wanted = detected.extension
    if wanted is None or given == wanted or (given in ("jpeg", "jpe") and wanted == "jpg"):
        return safe_name(name), None
    if not given:
        return safe_name(name, extension=wanted), None  # no extension: the content's one
    if detected.kind in ("text", "csv"):
        return safe_name(name), None  # any text extension reads as text
    return safe_name(name, extension=wanted), given


def _audit(ctx: Ctx, actor: Actor, document: Document, action: str) -> None:
    """Audit `action` on a document with what it was (its record goes on delete)."""
    audit(
        ctx,
        actor=actor,
        entity="document",
        entity_id=document.id,
        action=action,
        changes=_summary(document),
    )


def _summary(document: Document) -> dict[str, Any]:
    return {
        "file_name": document.file_name,
        "original_name": document.original_name,
        "mime_type": document.mime_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "contact_id": document.contact_id,
        "deal_id": document.deal_id,
        "source": document.source,
    }


async def list_documents(
    ctx: Ctx,
    *,
    actor: Actor,
    contact_id: int | None = None,
    deal_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Document]:
    """A contact's (its deals' included) or a deal's documents, newest first."""
    check_page(limit, offset)
    condition = await _card_condition(ctx, actor, contact_id, deal_id)
    live = (condition, Document.deleted_at.is_(None))
    newest_first = (Document.created_at.desc(), Document.id.desc())
    return await page_of(ctx, Document, live, order_by=newest_first, limit=limit, offset=offset)


async def count_documents(
    ctx: Ctx, *, contact_id: int | None = None, deal_id: int | None = None
) -> int:
    """How many documents a card shows (the caller has checked the card is visible)."""
    column = Document.deal_id if deal_id is not None else Document.contact_id
    value = deal_id if deal_id is not None else contact_id
    total = await ctx.session.scalar(
        select(func.count())
        .select_from(Document)
        .where(column == value, Document.deleted_at.is_(None))
    )
    return int(total or 0)


async def _card_condition(
    ctx: Ctx, actor: Actor, contact_id: int | None, deal_id: int | None
) -> Any:
    if deal_id is not None:
        access.visible_deal(ctx, actor, await ctx.session.get(Deal, deal_id), deal_id)
        return Document.deal_id == deal_id
    if contact_id is None:
        raise InvalidInput("name a contact or a deal", field="contact_id")
    await get_contact_for_work(ctx, actor=actor, contact_id=contact_id)
    return Document.contact_id == contact_id


async def deal_by_external_id(ctx: Ctx, *, actor: Actor, external_id: str) -> Deal:
    """The deal the shop pushed with this order id (NotFound when none or hidden)."""
    key = external_id.strip()
    deal: Deal | None = None
    if key:
        deal = await ctx.session.scalar(select(Deal).where(Deal.external_id == key))
    if deal is None or not access.may_see_deal(ctx, actor, deal):
        raise NotFound(f"no deal with external id {key!r}")
    return deal


async def get_document(ctx: Ctx, *, actor: Actor, document_id: int) -> Document:
    """The document, or NotFound when it is missing or its card is hidden from the actor."""
    document = await ctx.session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        raise NotFound(f"document {document_id} not found")
    contact = await ctx.session.get(Contact, document.contact_id) if document.contact_id else None
    deal = await ctx.session.get(Deal, document.deal_id) if document.deal_id else None
    if not await access.may_read_document(ctx, actor, contact, deal):
        raise NotFound(f"document {document_id} not found")
    return document


async def open_content(
    ctx: Ctx, *, actor: Actor, document_id: int
) -> tuple[Document, AsyncIterator[bytes]]:
    """The document and its bytes as a stream of chunks (keep the session open to read)."""
    document = await _readable(ctx, actor, document_id)
    return document, storage.read(ctx, document.sha256)


async def read_content(ctx: Ctx, *, actor: Actor, document_id: int) -> tuple[Document, bytes]:
    """The document and all its bytes (bounded by DOCUMENTS_MAX_MB: the bot's upload)."""
    document = await _readable(ctx, actor, document_id)
    return document, await storage.read_all(ctx, document.sha256)


async def _readable(ctx: Ctx, actor: Actor, document_id: int) -> Document:
    """The document, checked before any byte is sent: NotFound (saying why) when its bytes
    are not in storage (a DOCUMENTS_DIR lost, or not shared between instances)."""
    document = await get_document(ctx, actor=actor, document_id=document_id)
    if not await storage.present(ctx, document.sha256):
        raise NotFound(
            f"the file of document {document_id} is missing from storage "
            "(DOCUMENTS_DIR lost or not shared by this instance)",
            code="document-file-missing",
        )
    return document


async def remember_telegram_file(
    ctx: Ctx, *, document_id: int, file_id: str, file_unique_id: str | None
) -> None:
    """Keep the file reference Telegram gave when the bot uploaded the document (commits)."""
    document = await ctx.session.get(Document, document_id)
    if document is None:
        return
    document.telegram_file_id = file_id[:255]
    document.telegram_file_unique_id = (file_unique_id or "")[:64] or None
    await ctx.session.commit()


async def remove_document(ctx: Ctx, *, actor: Actor, document_id: int) -> Document:
    """Delete a document (admins; audited); its bytes go with the last record using them."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can delete documents", code="admin-only")
    document = await ctx.session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        raise NotFound(f"document {document_id} not found")
    await _remove(ctx, actor, document)
    return document


delete_document = use_case(remove_document)


async def delete_documents_of_contact(ctx: Ctx, *, actor: Actor, contact_id: int) -> int:
    """Delete every document on a contact (its deals' included), for `contacts forget`:
    admins; audited one by one; a step of the caller's unit of work. Returns how many."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can delete documents", code="admin-only")
    found = list(
        await ctx.session.scalars(select(Document).where(Document.contact_id == contact_id))
    )
    deal_ids = select(Deal.id).where(Deal.contact_id == contact_id)
    found += [
        doc
        for doc in await ctx.session.scalars(
            select(Document).where(Document.deal_id.in_(deal_ids), Document.contact_id.is_(None))
        )
    ]
    for document in found:
        await _remove(ctx, actor, document)
    return len(found)


async def _remove(ctx: Ctx, actor: Actor, document: Document) -> None:
    _audit(ctx, actor, document, "delete")
    sha256 = document.sha256
    await ctx.session.execute(delete(DocumentText).where(DocumentText.document_id == document.id))
    await ctx.session.delete(document)
    await ctx.session.flush()
    await storage.drop_if_unreferenced(ctx, sha256)
