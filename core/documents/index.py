"""The full-text index of documents: what extraction read, stored where search finds it.

`document_texts.words` (the lemmas of the name and the text, core.documents.words) is the
input of both databases' indexes (migration 0013): PostgreSQL's GIN over the stored
`words_tsv = to_tsvector('simple', words)`, SQLite's FTS5 table kept in step by triggers.
Writing the row is all it takes to index a document; deleting it (or the document)
unindexes it.
"""

from __future__ import annotations

from sqlalchemy import text, update

from core.context import Ctx
from core.documents import words
from core.documents.extract import Extracted
from core.documents.models import Document, DocumentText

MAX_WORDS_CHARS = 500_000  # a tsvector holds at most 1 MB of distinct lexemes
MAX_ERROR = 500


def cap_words(value: str) -> str:
    if len(value) <= MAX_WORDS_CHARS:
        return value
    return value[:MAX_WORDS_CHARS].rsplit(" ", 1)[0]


async def store(ctx: Ctx, document: Document, result: Extracted) -> None:
    """Keep the outcome of one extraction: status, reason, pages, and the text with its
    words (the name alone when nothing was read, so the file is still found by name).
    Does not commit."""
    text_value = result.text if result.status == "done" else ""
    words_value = result.words or words.normalise([document.file_name])
    row = await ctx.session.get(DocumentText, document.id)
    now = ctx.clock.now()
    if row is None:
        row = DocumentText(document_id=document.id, extracted_at=now)
        ctx.session.add(row)
    row.text = text_value
    row.words = cap_words(words_value)
    row.method = result.method
    row.extracted_at = now
    await ctx.session.execute(
        update(Document)
        .where(Document.id == document.id)
        .values(
            extract_status=result.status,
            extract_error=(result.error or None) and str(result.error)[:MAX_ERROR],
            pages=result.pages,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await ctx.session.flush()


async def index_size(ctx: Ctx) -> int:
    """Bytes of the full-text index on this database (the GIN index, or the FTS5 shadow
    tables), for the benchmark and `doctor`-style reports."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        size = await ctx.session.scalar(text("SELECT pg_relation_size('ix_document_texts_words')"))
        return int(size or 0)
    try:
        size = await ctx.session.scalar(
            text("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'document_texts_fts%'")
        )
    except Exception:  # dbstat is a compile-time option of SQLite
        size = await ctx.session.scalar(
            text("SELECT SUM(LENGTH(block)) FROM document_texts_fts_data")
        )
    return int(size or 0)
