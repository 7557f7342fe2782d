"""Search documents by name and content, any Russian word form, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.documents import search as docsearch
from core.documents.search import DocumentQuery
from core.errors import InvalidInput
from core.users import service as users
from tests.fakes import documents as fx


async def make_user(ctx: Ctx, system: Actor, name: str, role: str, tg: int) -> Actor:
    user = await users.create_user(ctx, actor=system, name=name, role=role, telegram_user_id=tg)
    return Actor.of_user(user)


async def ids(ctx: Ctx, actor: Actor, q: str = "", **kw: object) -> list[int]:
    found = await docsearch.search(ctx, actor, DocumentQuery(q=q, **kw))  # type: ignore[arg-type]
    return [hit.document.id for hit in found.items]


@pytest.fixture
async def archive(ctx: Ctx, system: Actor) -> dict[str, int]:
    vector = await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", company_name="ООО Вектор"
    )
    romashka = await contacts.create_contact(ctx, actor=system, name="Мария Сидорова")
    base = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    return {
        "vector": vector.id,
        "romashka": romashka.id,
        "supply": await fx.add_document(
            ctx,
            fx.pdf(["Договор поставки № 17", "между ООО Вектор и ООО Ромашка", "Hello Invoice"]),
            "dogovor.pdf",
            contact_id=vector.id,
            created_at=base,
        ),
        "invoice": await fx.add_document(
            ctx,
            fx.docx(["Счёт на оплату № 5", "за поставку гвоздей"]),
            "Счет_5.docx",
            contact_id=romashka.id,
            created_at=base + timedelta(days=2),
        ),
        "price": await fx.add_document(
            ctx,
            fx.xlsx([["Товар", "Цена"], ["Гвозди строительные", "100"]]),
            "прайс-лист.xlsx",
            contact_id=romashka.id,
            created_at=base + timedelta(days=3),
        ),
    }


async def test_word_forms_find_the_lemma(ctx: Ctx, system: Actor, archive: dict[str, int]) -> None:
    # Stemming ("поставк" vs "поставок") would miss this pair; lemmas match.
    assert await ids(ctx, system, "договоры поставок") == [archive["supply"]]
    assert await ids(ctx, system, "счета") == [archive["invoice"]]
    assert await ids(ctx, system, "гвоздь") == [archive["price"], archive["invoice"]]
    assert await ids(ctx, system, "invoice") == [archive["supply"]]
    assert await ids(ctx, system, "договоры аренды") == []


async def test_file_name_is_searched(ctx: Ctx, system: Actor, archive: dict[str, int]) -> None:
    assert await ids(ctx, system, "прайс") == [archive["price"]]
    assert await ids(ctx, system, "dogovor") == [archive["supply"]]


async def test_phrase_needs_adjacent_words(
    ctx: Ctx, system: Actor, archive: dict[str, int]
) -> None:
    assert await ids(ctx, system, '"договор поставки"') == [archive["supply"]]
    assert await ids(ctx, system, '"поставки договор"') == []
    assert await ids(ctx, system, '"ООО Ромашка" вектор') == [archive["supply"]]


async def test_hit_has_contact_snippet_and_date(
    ctx: Ctx, system: Actor, archive: dict[str, int]
) -> None:
    found = await docsearch.search(ctx, system, DocumentQuery(q="поставок"))
    assert found.total == 2
    first = found.items[0]
    assert first.document.id == archive["invoice"]
    assert first.contact_name == "Мария Сидорова"
    assert first.date == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert first.snippet.html() == "Счёт на оплату № 5 за <b>поставку</b> гвоздей"
    supply = found.items[1]
    assert "<b>поставки</b>" in supply.snippet.html()


async def test_filters(ctx: Ctx, system: Actor, archive: dict[str, int]) -> None:
    assert await ids(ctx, system, "гвозди", contact_id=archive["romashka"], kind="xlsx") == [
        archive["price"]
    ]
    assert await ids(ctx, system, "", contact_id=archive["vector"]) == [archive["supply"]]
    since = datetime(2026, 11, 2, tzinfo=UTC)
    assert await ids(ctx, system, "гвоздь", since=since, until=since + timedelta(days=2)) == [
        archive["invoice"]
    ]
    page = await docsearch.search(ctx, system, DocumentQuery(q="", limit=1, offset=1))
    assert page.total == 3 and [h.document.id for h in page.items] == [archive["invoice"]]
    past = await docsearch.search(ctx, system, DocumentQuery(q="гвоздь", offset=10))
    assert (past.items, past.total) == ([], 2)  # past the end: still the count
    none = await docsearch.search(ctx, system, DocumentQuery(q="аренда"))
    assert (none.items, none.total) == ([], 0)


@pytest.mark.parametrize(
    "query",
    [
        DocumentQuery(q="x", kind="exe"),
        DocumentQuery(q="x", limit=0),
        DocumentQuery(q="x", limit=101),
        DocumentQuery(q="x", offset=-1),
        DocumentQuery(q=" ".join(f"слово{i}" for i in range(20))),
    ],
)
async def test_bad_queries_are_refused(ctx: Ctx, system: Actor, query: DocumentQuery) -> None:
    with pytest.raises(InvalidInput):
        await docsearch.search(ctx, system, query)


async def test_punctuation_only_finds_nothing(
    ctx: Ctx, system: Actor, archive: dict[str, int]
) -> None:
    found = await docsearch.search(ctx, system, DocumentQuery(q='"" ** ) ( OR NEAR'))
    assert found.total == 0 or all(h.document.id in archive.values() for h in found.items)
    assert (await docsearch.search(ctx, system, DocumentQuery(q="—"))).total == 0


async def test_visibility_own(ctx: Ctx, system: Actor, config: CoreConfig) -> None:
    assert config.visibility == "own"
    anna = await make_user(ctx, system, "Анна", "sales", 9001)
    boris = await make_user(ctx, system, "Борис", "sales", 9002)
    mine = await contacts.create_contact(ctx, actor=anna, name="Клиент Анны")
    theirs = await contacts.create_contact(ctx, actor=boris, name="Клиент Бориса")
    await ctx.session.commit()
    a = await fx.add_document(ctx, fx.docx(["договор Анны"]), "a.docx", contact_id=mine.id)
    b = await fx.add_document(ctx, fx.docx(["договор Бориса"]), "b.docx", contact_id=theirs.id)
    unsorted_a = await fx.add_document(
        ctx, fx.docx(["договор"]), "u.docx", uploaded_by_id=anna.user_id
    )
    unsorted_b = await fx.add_document(
        ctx, fx.docx(["договор"]), "v.docx", uploaded_by_id=boris.user_id
    )
    # The "Unsorted" inbox (on no contact or deal) is for managers and admins.
    assert await ids(ctx, anna, "договор") == [a]
    assert await ids(ctx, boris, "договор") == [b]
    assert sorted(await ids(ctx, system, "договор")) == sorted([a, b, unsorted_a, unsorted_b])
    found = await docsearch.search(ctx, anna, DocumentQuery(q="договор"))
    assert found.total == 1


async def test_deleted_documents_are_not_found(
    ctx: Ctx, system: Actor, archive: dict[str, int]
) -> None:
    await ctx.session.execute(
        text("UPDATE documents SET deleted_at = created_at WHERE id = :id"),
        {"id": archive["supply"]},
    )
    await ctx.session.commit()
    assert await ids(ctx, system, "поставок") == [archive["invoice"]]


async def test_reextraction_replaces_the_index(ctx: Ctx, system: Actor) -> None:
    from core.documents import index
    from core.documents.extract import extract_bytes
    from core.documents.models import Document

    doc_id = await fx.add_document(ctx, fx.docx(["старый текст"]), "x.docx")
    document = await ctx.session.get(Document, doc_id)
    assert document is not None
    await index.store(ctx, document, extract_bytes(fx.docx(["новое содержание"]), "x.docx"))
    await ctx.session.commit()
    assert await ids(ctx, system, "старый") == []
    assert await ids(ctx, system, "содержание") == [doc_id]
    if ctx.session.get_bind().dialect.name == "sqlite":
        await ctx.session.execute(
            text(
                "INSERT INTO document_texts_fts (document_texts_fts, rank) "
                "VALUES ('integrity-check', 1)"
            )
        )
