"""Find documents by name and content: `GET /api/v1/documents?q=` (issue 18 §2).

Russian word forms match ("договоры поставок" finds "Договор поставки"); words in double
quotes are a phrase. Filters by contact, deal, type and date; only the documents the key
may see. Each item is the document with its contact's name, a snippet of the text around
the first match (`snippet`, and `snippet_html` with the matched words in <b>) and its date.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from api.auth import ActorDep, CtxDep
from api.documents import DocumentOut
from api.schemas import Id, Limit, ListOut, Offset, Timestamp
from api.shapes import QueryTime, ResponseModel
from core.documents import search as docsearch
from core.documents.search import DocumentHit, DocumentQuery

router = APIRouter(tags=["documents"])

Kind = Literal["pdf", "docx", "xlsx", "csv", "odt", "text", "email", "image", "other"]
SearchQuery = Annotated[
    str,
    Query(
        max_length=500,
        pattern="^[^\\x00]*$",
        description='words of the name or the text, any word form; "a phrase" in quotes',
    ),
]


class DocumentHitOut(ResponseModel):
    document: DocumentOut
    contact_name: str | None = Field(description="the document's contact, if any")
    snippet: str = Field(description="text around the first matching word")
    snippet_html: str = Field(description="the snippet, escaped, matched words in <b>")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) of each matched word in `snippet`"
    )
    date: Timestamp = Field(description="when the document was attached")


class DocumentHitList(ListOut[DocumentHitOut]):
    pass


def _hit(hit: DocumentHit) -> DocumentHitOut:
    return DocumentHitOut(
        document=DocumentOut.of(hit.document),
        contact_name=hit.contact_name,
        snippet=hit.snippet.text,
        snippet_html=hit.snippet.html(),
        highlights=[(start, end) for start, end in hit.snippet.marks],
        date=hit.date,
    )


@router.get("/documents")
async def search_documents(
    ctx: CtxDep,
    actor: ActorDep,
    q: SearchQuery = "",
    contact_id: Id | None = None,
    deal_id: Id | None = None,
    kind: Kind | None = None,
    since: QueryTime | None = None,
    until: QueryTime | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> DocumentHitList:
    """Documents whose name or text has all the words (newest first); without `q`, every
    visible document matching the filters."""
    query = DocumentQuery(
        q=q,
        contact_id=contact_id,
        deal_id=deal_id,
        kind=kind,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    found = await docsearch.search(ctx, actor, query)
    return DocumentHitList(items=[_hit(hit) for hit in found.items], total=found.total)
