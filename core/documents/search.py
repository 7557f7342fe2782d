"""Find documents by their name and the text inside, in any Russian word form.

The query is lemmatised like the documents' words (core.documents.words), so "договоры
поставок" finds "Договор поставки". Words are all required; a part in double quotes is a
phrase (its lemmas adjacent, in order). The database's own full-text index answers
(PostgreSQL GIN over a stored `to_tsvector('simple', words)` kept in the row so a phrase's
adjacency check reads no TOAST, 0013 and 0018; SQLite FTS5, 0013); the
filters, the access rule (core.access.document_clause), the order (newest first) and the
count of all matches are one SQL query (the count a window over the same rows). A hit
carries its contact's name, the date and a snippet of the text around the first matching
word, the words marked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, column, func, literal_column, select, table

from core.access import document_clause
from core.common import given_filters
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.documents import words
from core.documents.models import DOCUMENT_KINDS, Document, DocumentText
from core.errors import InvalidInput

MAX_LIMIT = 100
MAX_TERMS = 16
SNIPPET_CHARS = 160
SNIPPET_SCAN = 100_000  # characters of the text read for a snippet
_PHRASE = re.compile(r'"([^"]*)"')
_fts = table("document_texts_fts", column("rowid", Integer))
_TSVECTOR = "document_texts.words_tsv"  # to_tsvector('simple', words), stored (0013)


@dataclass(frozen=True)
class DocumentQuery:
    q: str = ""
    contact_id: int | None = None
    deal_id: int | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Snippet:
    text: str
    marks: tuple[tuple[int, int], ...] = ()  # (start, end) of the matched words in `text`

    def html(self) -> str:
        """The snippet with the matched words in <b>, the rest escaped."""
        out: list[str] = []
        at = 0
        for start, end in self.marks:
            out.append(html.escape(self.text[at:start]))
            out.append(f"<b>{html.escape(self.text[start:end])}</b>")
            at = end
        out.append(html.escape(self.text[at:]))
        return "".join(out)


@dataclass(frozen=True)
class DocumentHit:
    document: Document
    contact_name: str | None
    snippet: Snippet
    date: datetime


@dataclass(frozen=True)
class DocumentResults:
    items: list[DocumentHit]
    total: int


@dataclass(frozen=True)
class Terms:
    """A query in lemmas: single words and phrases, all required."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def lemmas(self) -> set[str]:
        return set(self.words) | {w for phrase in self.phrases for w in phrase}

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def parse(q: str) -> Terms:
    """The lemmas of a query; text in double quotes is a phrase."""
    phrases: list[tuple[str, ...]] = []
    for match in _PHRASE.finditer(q):
        phrase = tuple(words.lemmas(match.group(1)))
        if len(phrase) == 1:
            q += " " + phrase[0]
        elif phrase:
            phrases.append(phrase)
    rest = _PHRASE.sub(" ", q).replace('"', " ")
    single = tuple(dict.fromkeys(words.lemmas(rest)))
    if len(single) + len(phrases) > MAX_TERMS:
        raise InvalidInput(f"at most {MAX_TERMS} words", field="q", code="search-too-many-words")
    return Terms(single, tuple(phrases))


def _match(ctx: Ctx, terms: Terms) -> ColumnElement[bool]:
    if ctx.session.get_bind().dialect.name == "postgresql":
        parts = [
            func.plainto_tsquery(literal_column("'simple'::regconfig"), w) for w in terms.words
        ]
        parts += [
            func.phraseto_tsquery(literal_column("'simple'::regconfig"), " ".join(p))
            for p in terms.phrases
        ]
        query: ColumnElement[Any] = parts[0]
        for part in parts[1:]:
            query = query.op("&&")(part)
        return literal_column(_TSVECTOR).op("@@")(query)
    # FTS5: each lemma quoted (they are letters and digits only); implicit AND.
    expression = " ".join(
        [f'"{w}"' for w in terms.words] + [f'"{" ".join(p)}"' for p in terms.phrases]
    )
    matching = select(_fts.c.rowid).where(literal_column("document_texts_fts").match(expression))
    return DocumentText.document_id.in_(matching)


def _filters(ctx: Ctx, actor: Actor, query: DocumentQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Document.deleted_at.is_(None), document_clause(ctx, actor)]
    where += given_filters(
        equal=[(Document.contact_id, query.contact_id), (Document.deal_id, query.deal_id)]
    )
    if query.kind is not None:
        if query.kind not in DOCUMENT_KINDS:
            raise InvalidInput(
                f"kind must be one of {', '.join(DOCUMENT_KINDS)}", field="kind", code="bad-kind"
            )
        where.append(Document.kind == query.kind)
    if query.since is not None:
        where.append(Document.created_at >= query.since)
    if query.until is not None:
        where.append(Document.created_at < query.until)
    return where


def _validate(query: DocumentQuery) -> None:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}", field="limit", code="bad-limit")
    if query.offset < 0:
        raise InvalidInput("offset must not be negative", field="offset", code="bad-offset")
    if query.since and query.until and query.since >= query.until:
        raise InvalidInput("since must be before until", field="since", code="bad-range")


async def search(ctx: Ctx, actor: Actor, query: DocumentQuery) -> DocumentResults:
    """The visible documents matching the query and filters, newest first, with snippets."""
    _validate(query)
    terms = parse(query.q)
    if query.q.strip() and not terms:
        return DocumentResults([], 0)
    where = _filters(ctx, actor, query)
    base: Select[tuple[int]] = select(Document.id)
    if terms:
        base = base.join(DocumentText, DocumentText.document_id == Document.id)
        where.append(_match(ctx, terms))
    base = base.where(*where)
    # One pass: the page and the count of all matches (a window over the same rows), so
    # each candidate's words are matched once, not once for the count and again for the
    # page; a page past the end has no row to carry it, and is counted apart.
    rows = (
        await ctx.session.execute(
            select(Document, Contact.name, func.count().over())
            .outerjoin(Contact, Contact.id == Document.contact_id)
            .where(*where)
            .join(DocumentText, DocumentText.document_id == Document.id, isouter=not terms)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
    ).all()
    if rows:
        total = int(rows[0][2])
    elif query.offset:
        count = select(func.count()).select_from(base.subquery())
        total = int(await ctx.session.scalar(count) or 0)
    else:
        total = 0
    texts = await _texts(ctx, [row[0].id for row in rows])
    lemmas = terms.lemmas
    items = [
        DocumentHit(
            document=document,
            contact_name=contact_name,
            snippet=snippet(texts.get(document.id, ""), lemmas),
            date=document.created_at,
        )
        for document, contact_name, _total in rows
    ]
    return DocumentResults(items, total)


async def _texts(ctx: Ctx, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await ctx.session.execute(
        select(DocumentText.document_id, func.substr(DocumentText.text, 1, SNIPPET_SCAN)).where(
            DocumentText.document_id.in_(list(ids))
        )
    )
    return {int(i): str(t or "") for i, t in rows}


def snippet(text: str, lemmas: set[str], width: int = SNIPPET_CHARS) -> Snippet:
    """About `width` characters around the first matching word, matched words marked."""
    text = " ".join(text.split())
    if not text:
        return Snippet("")
    first: int | None = None
    if lemmas:
        for start, _end, lemma in words.spans(text):
            if lemma in lemmas:
                first = start
                break
    begin = 0 if first is None else max(0, first - width // 3)
    if begin:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < first else begin  # type: ignore[operator]
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin else end
    body = text[begin:end]
    prefix = "…" if begin else ""
    suffix = "…" if end < len(text) else ""
    marks = tuple(
        (start + len(prefix), stop + len(prefix))
        for start, stop, lemma in words.spans(body)
        if lemma in lemmas
    )
    return Snippet(prefix + body + suffix, marks)


__all__ = [
    "DocumentHit",
    "DocumentQuery",
    "DocumentResults",
    "Snippet",
    "Terms",
    "parse",
    "search",
    "snippet",
]
