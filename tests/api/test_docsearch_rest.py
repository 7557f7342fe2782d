"""REST search: GET /api/v1/documents?q= finds word forms, filters, pages, refuses bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from core.contacts import service as contacts
from core.context import Actor, Ctx
from tests.fakes import documents as fx


async def test_search_by_word_form_with_snippet_contact_and_date(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    vector = await contacts.create_contact(ctx, actor=system, name="ООО Вектор")
    other = await contacts.create_contact(ctx, actor=system, name="ИП Сидоров")
    day = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    supply = await fx.add_document(
        ctx,
        fx.pdf(["Договор поставки № 17 <скрипт>"]),
        "d.pdf",
        contact_id=vector.id,
        created_at=day,
    )
    invoice = await fx.add_document(
        ctx,
        fx.docx(["Счёт за поставку"]),
        "s.docx",
        contact_id=other.id,
        created_at=day + timedelta(days=1),
    )
    answer = await client.get("/documents", params={"q": "договоры поставок"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["document"]["id"] == supply
    assert item["document"]["kind"] == "pdf"
    assert item["contact_name"] == "ООО Вектор"
    assert item["date"] == "2026-11-20T09:00:00+00:00"
    assert item["snippet"] == "Договор поставки № 17 <скрипт>"
    assert item["snippet_html"] == "<b>Договор</b> <b>поставки</b> № 17 &lt;скрипт&gt;"
    assert item["highlights"] == [[0, 7], [8, 16]]

    both = (await client.get("/documents", params={"q": "поставка"})).json()
    assert [i["document"]["id"] for i in both["items"]] == [invoice, supply]
    only = await client.get(
        "/documents", params={"q": "поставка", "contact_id": other.id, "kind": "docx"}
    )
    assert [i["document"]["id"] for i in only.json()["items"]] == [invoice]
    dated = await client.get(
        "/documents",
        params={
            "q": "поставка",
            "since": "2026-11-20T00:00:00+03:00",
            "until": "2026-11-21T00:00:00Z",
        },
    )
    assert [i["document"]["id"] for i in dated.json()["items"]] == [supply]
    page = (await client.get("/documents", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 2 and [i["document"]["id"] for i in page["items"]] == [supply]
    phrase = (await client.get("/documents", params={"q": '"поставки договор"'})).json()
    assert (phrase["items"], phrase["total"]) == ([], 0)


async def test_bad_search_input_is_a_4xx_with_a_reason(client: httpx.AsyncClient) -> None:
    for params in (
        {"kind": "exe"},
        {"limit": 0},
        {"limit": 10_000},
        {"offset": -1},
        {"contact_id": "abc"},
        {"since": "yesterday"},
        {"q": "x" * 501},
        {"q": "a\x00b"},
        {"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
        {"q": " ".join(f"слово{i}" for i in range(20))},
    ):
        answer = await client.get("/documents", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"], params


async def test_query_syntax_characters_are_only_words(client: httpx.AsyncClient) -> None:
    for q in ('"', "***", "OR AND NOT", "a:b (c) {d} ^e", "'; DROP TABLE documents; --", "\\"):
        answer = await client.get("/documents", params={"q": q})
        assert answer.status_code == 200, (q, answer.text)
        assert answer.json()["total"] == 0
