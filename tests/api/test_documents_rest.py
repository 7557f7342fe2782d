"""REST documents: upload to contacts and deals (and by the shop's order id), list, read,
download, delete; Idempotency-Key, duplicates, size limit, lying extensions, hostile names,
key scopes. Both storage backends."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals import service as deals
from core.documents.models import DocumentBlob, DocumentChunk
from core.models.audit import AuditLog
from tests.api.conftest import as_key, key

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 300_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["dir", "db"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> CoreConfig:
    return CoreConfig(
        documents_dir=str(tmp_path / "documents"),
        documents_storage=request.param,
        documents_max_bytes=1024 * 1024,
    )


@pytest.fixture
async def contact(ctx: Ctx, system: Actor) -> Contact:
    return await contacts.create_contact(ctx, actor=system, name="Вектор", phones=["+79160000001"])


def _raw_multipart(file_name: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body with the name as raw UTF-8 (httpx would percent-encode controls)."""
    boundary = "perezvon-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{file_name}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_upload_list_read_and_download_a_contact_document(
    client: httpx.AsyncClient, contact: Contact
) -> None:
    answer = await client.post(
        f"/contacts/{contact.id}/documents",
        files={"file": ("Договор поставки.pdf", PDF, "application/octet-stream")},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/api/v1/documents/{body['id']}"
    assert (body["file_name"], body["mime_type"], body["kind"]) == (
        "Договор поставки.pdf",
        "application/pdf",
        "pdf",
    )
    assert (body["size_bytes"], body["source"], body["extract_status"]) == (
        len(PDF),
        "api",
        "pending",
    )
    listed = (await client.get(f"/contacts/{contact.id}/documents")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
    record = (await client.get(answer.headers["location"].removeprefix("/api/v1"))).json()
    assert record["extract_status"] == "pending" and record["extract_error"] is None
    download = await client.get(f"/documents/{body['id']}/content")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Договор поставки.pdf"
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_a_new_file_is_found_by_its_name_before_its_text_is_read(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    contact = await contacts.create_contact(ctx, actor=system, name="Вектор")
    answer = await client.post(
        f"/contacts/{contact.id}/documents",
        files={"file": ("Договор поставки.pdf", PDF, "application/octet-stream")},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["extract_status"] == "pending"
    found = (await client.get("/documents", params={"q": "договоры поставок"})).json()
    assert [i["document"]["id"] for i in found["items"]] == [answer.json()["id"]]
    assert found["total"] == 1 and found["items"][0]["snippet"] == ""
    phrase = (await client.get("/documents", params={"q": '"договор поставки"'})).json()
    assert phrase["total"] == 1
    assert (await client.get("/documents", params={"q": "счёт"})).json()["total"] == 0


async def test_idempotency_key_answers_the_first_upload(
    client: httpx.AsyncClient, contact: Contact
) -> None:
    url = f"/contacts/{contact.id}/documents"
    headers = {"Idempotency-Key": "invoice-42"}
    first = await client.post(url, files={"file": ("a.pdf", PDF)}, headers=headers)
    again = await client.post(url, files={"file": ("a.pdf", PDF)}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    other = await client.post(url, files={"file": ("b.png", PNG)}, headers=headers)
    assert other.status_code == 409 and other.json()["existing_id"] == first.json()["id"]
    assert (await client.get(url)).json()["total"] == 1


async def test_the_same_file_twice_is_409_naming_the_first(
    client: httpx.AsyncClient, contact: Contact
) -> None:
    url = f"/contacts/{contact.id}/documents"
    first = await client.post(url, files={"file": ("a.pdf", PDF)})
    second = await client.post(url, files={"file": ("копия.pdf", PDF)})
    assert second.status_code == 409
    assert second.json()["existing_id"] == first.json()["id"]
    assert "already on the card" in second.json()["detail"]


async def test_too_large_is_413_by_header_and_by_body(
    client: httpx.AsyncClient, ctx: Ctx, contact: Contact
) -> None:
    url = f"/contacts/{contact.id}/documents"
    big = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)
    answer = await client.post(url, files={"file": ("big.pdf", big)})
    assert answer.status_code == 413 and "1 MB" in answer.json()["detail"]
    # Just over the limit: the header alone lets it through, the streamed count stops it.
    slightly = b"%PDF-1.4\n" + b"0" * (1024 * 1024)
    answer = await client.post(url, files={"file": ("big.pdf", slightly)})
    assert answer.status_code == 413
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentBlob)) == 0


async def test_a_lying_extension_and_a_hostile_name_are_stored_safely(
    client: httpx.AsyncClient, contact: Contact
) -> None:
    url = f"/contacts/{contact.id}/documents"
    body, headers = _raw_multipart("../../etc/сч\u202eёт\x07.pdf", PNG)
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["file_name"], body["mime_type"]) == ("счёт.png", "image/png")
    assert body["original_name"] == "../../etc/сч\u202eёт\x07.pdf"
    assert "saved as счёт.png" in body["warnings"][0]
    long_name = "Я" * 300 + ".pdf"
    answer = await client.post(url, files={"file": (long_name, PDF)})
    assert answer.status_code == 201
    assert answer.json()["file_name"].endswith(".pdf")
    assert len(answer.json()["file_name"].encode()) <= 200


async def test_no_file_field_is_422(client: httpx.AsyncClient, contact: Contact) -> None:
    answer = await client.post(f"/contacts/{contact.id}/documents", data={"other": "x"})
    assert answer.status_code == 422 and answer.json()["field"] == "file"
    missing = await client.post("/contacts/999999/documents", files={"file": ("a.pdf", PDF)})
    assert missing.status_code == 404


async def test_the_shop_attaches_an_invoice_by_order_id(
    app: FastAPI, ctx: Ctx, system: Actor, contact: Contact
) -> None:
    deal = await deals.create(
        ctx, actor=system, title="Заказ 1001", contact_id=contact.id, external_id="1001"
    )
    async with as_key(app, await key(ctx, system, "integration")) as shop:
        answer = await shop.post(
            "/deals/by-external-id/1001/documents", files={"file": ("invoice.pdf", PDF)}
        )
        assert answer.status_code == 201, answer.text
        assert (answer.json()["deal_id"], answer.json()["contact_id"]) == (deal.id, contact.id)
        assert answer.json()["source"] == "shop"
        unknown = await shop.post(
            "/deals/by-external-id/nope/documents", files={"file": ("i.pdf", PDF)}
        )
        assert unknown.status_code == 404
        on_deal = (await shop.get(f"/deals/{deal.id}/documents")).json()
        on_contact = (await shop.get(f"/contacts/{contact.id}/documents")).json()
        assert on_deal["total"] == on_contact["total"] == 1
        refused = await shop.delete(f"/documents/{answer.json()['id']}")
        assert refused.status_code == 403
    async with as_key(app, await key(ctx, system, "read")) as reader:
        refused = await reader.post(
            f"/deals/{deal.id}/documents", files={"file": ("other.pdf", PNG)}
        )
        assert refused.status_code == 403


async def test_admin_deletes_audited_and_the_bytes_go(
    client: httpx.AsyncClient, ctx: Ctx, contact: Contact
) -> None:
    made = await client.post(f"/contacts/{contact.id}/documents", files={"file": ("a.pdf", PDF)})
    document_id = made.json()["id"]
    assert (await client.delete(f"/documents/{document_id}")).status_code == 204
    assert (await client.get(f"/documents/{document_id}")).status_code == 404
    assert (await client.get(f"/documents/{document_id}/content")).status_code == 404
    assert (await client.delete(f"/documents/{document_id}")).status_code == 404
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentBlob)) == 0
    audited = await ctx.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.entity == "document", AuditLog.action == "delete")
    )
    assert audited == 1


async def test_a_file_missing_from_storage_is_a_404_saying_so(
    client: httpx.AsyncClient, ctx: Ctx, config: CoreConfig, contact: Contact
) -> None:
    made = (
        await client.post(f"/contacts/{contact.id}/documents", files={"file": ("a.pdf", PDF)})
    ).json()
    if config.documents_storage == "dir":
        await asyncio.to_thread(shutil.rmtree, config.documents_dir)
    else:
        await ctx.session.execute(delete(DocumentChunk))
        await ctx.session.commit()
    answer = await client.get(f"/documents/{made['id']}/content")
    assert answer.status_code == 404
    assert "missing from storage" in answer.json()["detail"]
    assert (await client.get(f"/documents/{made['id']}")).status_code == 200
