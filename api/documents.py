"""Documents on contacts and deals: upload, list, read, download, delete (issue 18).

Uploads are `multipart/form-data` with the field `file`; an `Idempotency-Key` header makes
a retry answer the first upload (201 again, `Idempotent-Replayed: true`) instead of a copy.
A body over DOCUMENTS_MAX_MB is refused with 413 from its Content-Length, before it is read.
Downloads stream from storage with the stored (safe) name and the type read from the bytes.
The search list `GET /documents?q=` lives with the search (not here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Header, Path, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.types import DecoratedCallable
from pydantic import Field

from api.auth import ActorDep, CtxDep
from api.common import NOT_FOUND, Responses, post_created
from api.fields import ExternalId
from api.schemas import ErrorOut, Id, Limit, ListOut, Offset, Timestamp
from api.shapes import ResponseModel
from core.context import Actor, Ctx
from core.documents import service, storage
from core.documents.models import Document

router = APIRouter(tags=["documents"])
# What multipart framing adds around the file (boundaries, part headers, the name).
MULTIPART_SLACK = 64 * 1024
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=160,
        description="a retry with the same key answers the first upload instead of a copy",
    ),
]
UploadField = Annotated[UploadFile, File(description="the file (one per request)")]
UPLOAD_RESPONSES: Responses = {
    404: {"model": ErrorOut},
    409: {
        "model": ErrorOut,
        "description": "the same file is already on this card, or the Idempotency-Key was "
        "used for another file (existing_id)",
    },
    413: {"model": ErrorOut, "description": "larger than DOCUMENTS_MAX_MB"},
}


class DocumentOut(ResponseModel):
    id: int
    contact_id: int | None
    deal_id: int | None
    uploaded_by_id: int | None
    source: str = Field(description="bot|api|import|client_chat|shop")
    file_name: str = Field(description="the safe name it downloads under")
    original_name: str | None = Field(description="the name as it was given")
    mime_type: str = Field(description="read from the bytes, not from the name")
    kind: str = Field(description="pdf|docx|xlsx|csv|odt|text|email|image|other")
    size_bytes: int
    sha256: str
    extract_status: str = Field(description="pending|done|failed|unsupported")
    extract_error: str | None = Field(description="why the text could not be read")
    pages: int | None
    created_at: Timestamp
    warnings: list[str] = Field(
        default_factory=list, description="what was changed on upload (e.g. the extension)"
    )


class DocumentList(ListOut[DocumentOut]):
    pass


def _out(outcome: service.StoreOutcome) -> DocumentOut:
    out = DocumentOut.of(outcome.document)
    if outcome.renamed_from is not None:
        out.warnings.append(
            f"the name said .{outcome.renamed_from} but the content is "
            f"{outcome.document.mime_type}: saved as {outcome.document.file_name}"
        )
    return out


def _too_large(request: Request, ctx: Ctx) -> JSONResponse | None:
    """413 from the Content-Length alone: an oversized body is never read."""
    limit = ctx.config.documents_max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + MULTIPART_SLACK:
        return JSONResponse(status_code=413, content={"detail": storage.TooLarge(limit).message})
    return None


def _upload_route(path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """`POST path`: an upload, answered 201 with the document (see UPLOAD_RESPONSES)."""
    return post_created(router, path, "the document", UPLOAD_RESPONSES, response_model=DocumentOut)


async def _upload(
    ctx: Ctx,
    actor: Actor,
    request: Request,
    file: UploadFile,
    idempotency_key: str | None,
    *,
    contact_id: int | None = None,
    deal_id: int | None = None,
    source: str = "api",
) -> Response:
    try:
        outcome = await service.store(
            ctx,
            actor=actor,
            name=file.filename,
            source=source,
            data=file.file,
            contact_id=contact_id,
            deal_id=deal_id,
            idempotency_key=idempotency_key,
        )
    except storage.TooLarge as exc:
        return JSONResponse(status_code=413, content={"detail": exc.message})
    finally:
        await file.close()
    headers = {"Location": request.url_for("get_document", document_id=outcome.document.id).path}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        status_code=status.HTTP_201_CREATED,
        content=_out(outcome).model_dump(mode="json"),
        headers=headers,
    )


@_upload_route("/contacts/{contact_id}/documents")
async def upload_contact_document(
    ctx: CtxDep,
    actor: ActorDep,
    contact_id: Id,
    request: Request,
    file: UploadField,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Attach a file to a contact's card."""
    return _too_large(request, ctx) or await _upload(
        ctx, actor, request, file, idempotency_key, contact_id=contact_id
    )


@_upload_route("/deals/{deal_id}/documents")
async def upload_deal_document(
    ctx: CtxDep,
    actor: ActorDep,
    deal_id: Id,
    request: Request,
    file: UploadField,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Attach a file to a deal (it shows on the deal's contact too)."""
    return _too_large(request, ctx) or await _upload(
        ctx, actor, request, file, idempotency_key, deal_id=deal_id
    )


@_upload_route("/deals/by-external-id/{external_id}/documents")
async def upload_deal_document_by_external_id(
    ctx: CtxDep,
    actor: ActorDep,
    external_id: Annotated[ExternalId, Path(description="the shop's order id")],
    request: Request,
    file: UploadField,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The shop attaches an invoice to the deal it pushed with this order id."""
    refused = _too_large(request, ctx)
    if refused is not None:
        return refused
    deal = await service.deal_by_external_id(ctx, actor=actor, external_id=external_id)
    return await _upload(ctx, actor, request, file, idempotency_key, deal_id=deal.id, source="shop")


@router.get("/contacts/{contact_id}/documents", responses=NOT_FOUND)
async def list_contact_documents(
    ctx: CtxDep, actor: ActorDep, contact_id: Id, limit: Limit = 50, offset: Offset = 0
) -> DocumentList:
    """A contact's documents (its deals' included), newest first."""
    page = await service.list_documents(
        ctx, actor=actor, contact_id=contact_id, limit=limit, offset=offset
    )
    return DocumentList(items=[DocumentOut.of(d) for d in page.items], total=page.total)


@router.get("/deals/{deal_id}/documents", responses=NOT_FOUND)
async def list_deal_documents(
    ctx: CtxDep, actor: ActorDep, deal_id: Id, limit: Limit = 50, offset: Offset = 0
) -> DocumentList:
    """A deal's documents, newest first."""
    page = await service.list_documents(
        ctx, actor=actor, deal_id=deal_id, limit=limit, offset=offset
    )
    return DocumentList(items=[DocumentOut.of(d) for d in page.items], total=page.total)


@router.get("/documents/{document_id}", responses=NOT_FOUND)
async def get_document(ctx: CtxDep, actor: ActorDep, document_id: Id) -> DocumentOut:
    """The record, with its extraction status (and the reason when it failed)."""
    return DocumentOut.of(await service.get_document(ctx, actor=actor, document_id=document_id))


@router.get(
    "/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses={
        **NOT_FOUND,
        200: {"description": "the file", "content": {"application/octet-stream": {}}},
    },
)
async def document_content(ctx: CtxDep, actor: ActorDep, document_id: Id) -> StreamingResponse:
    """The file, streamed, with its name and the type read from its bytes."""
    document, chunks = await service.open_content(ctx, actor=actor, document_id=document_id)
    return StreamingResponse(chunks, media_type=document.mime_type, headers=_download(document))


def _download(document: Document) -> dict[str, str]:
    fallback = document.file_name.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace('"', "_").replace("\\", "_")
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(document.file_name)}"
        ),
        "Content-Length": str(document.size_bytes),
        "ETag": f'"{document.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {"model": ErrorOut, "description": "admins only"}},
)
async def delete_document(ctx: CtxDep, actor: ActorDep, document_id: Id) -> Response:
    """Delete a document (admin keys; audited); its bytes go with the last copy."""
    await service.delete_document(ctx, actor=actor, document_id=document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
