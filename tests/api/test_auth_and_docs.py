"""API keys on every route, and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from core.context import Actor, Ctx
from core.users import api_keys

API_PATHS = [
    "/api/v1/contacts",
    "/api/v1/contacts/1",
    "/api/v1/companies",
    "/api/v1/calls",
    "/api/v1/activities",
    "/api/v1/deals",
    "/api/v1/pipeline/stages",
    "/api/v1/users",
]


@pytest.mark.parametrize("path", API_PATHS)
async def test_no_key_is_401_with_a_reason(anon: httpx.AsyncClient, path: str) -> None:
    response = await anon.get(path)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_wrong_scheme_and_revoked_keys_are_401(
    anon: httpx.AsyncClient, api_key: str, ctx: Ctx, system: Actor
) -> None:
    ok = await anon.get("/api/v1/contacts", headers={"Authorization": f"Bearer {api_key}"})
    assert ok.status_code == 200
    unknown = await anon.get("/api/v1/contacts", headers={"Authorization": "Bearer pzv_nope"})
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "unknown or revoked API key"
    basic = await anon.get("/api/v1/contacts", headers={"Authorization": f"Basic {api_key}"})
    assert basic.status_code == 401
    assert "missing API key" in basic.json()["detail"]
    key, plain = await api_keys.create(ctx, actor=system, name="old")
    await api_keys.revoke(ctx, actor=system, key_id=key.id)
    revoked = await anon.get("/api/v1/contacts", headers={"Authorization": f"Bearer {plain}"})
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "unknown or revoked API key"


async def test_a_request_without_key_changes_nothing(
    anon: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    response = await anon.post("/api/v1/contacts", json={"name": "X", "phones": ["+79161234567"]})
    assert response.status_code == 401
    assert (await client.get("/contacts")).json()["total"] == 0


async def test_openapi_lists_every_route_with_tag_and_description(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    expected = {
        ("get", "/api/v1/contacts"),
        ("post", "/api/v1/contacts"),
        ("get", "/api/v1/contacts/{contact_id}"),
        ("patch", "/api/v1/contacts/{contact_id}"),
        ("delete", "/api/v1/contacts/{contact_id}"),
        ("put", "/api/v1/contacts/by-phone/{phone}"),
        ("put", "/api/v1/deals/by-external-id/{external_id}"),
        ("post", "/api/v1/contacts/{contact_id}/merge"),
        ("get", "/api/v1/contacts/{contact_id}/timeline"),
        ("post", "/api/v1/contacts/{contact_id}/notes"),
        ("get", "/api/v1/contacts/{contact_id}/notes"),
        ("get", "/api/v1/contacts/{contact_id}/notes/{note_id}"),
        ("post", "/api/v1/contacts/{contact_id}/messages"),
        ("patch", "/api/v1/contacts/{contact_id}/notes/{note_id}"),
        ("delete", "/api/v1/contacts/{contact_id}/notes/{note_id}"),
        ("get", "/api/v1/companies"),
        ("post", "/api/v1/companies"),
        ("get", "/api/v1/companies/{company_id}"),
        ("patch", "/api/v1/companies/{company_id}"),
        ("get", "/api/v1/calls"),
        ("get", "/api/v1/calls/{call_id}"),
        ("patch", "/api/v1/calls/{call_id}"),
        ("get", "/api/v1/activities"),
        ("post", "/api/v1/activities"),
        ("get", "/api/v1/activities/{activity_id}"),
        ("patch", "/api/v1/activities/{activity_id}"),
        ("post", "/api/v1/activities/{activity_id}/complete"),
        ("post", "/api/v1/activities/{activity_id}/cancel"),
        ("post", "/api/v1/activities/{activity_id}/snooze"),
        ("post", "/api/v1/activities/{activity_id}/reschedule"),
        ("get", "/api/v1/deals"),
        ("post", "/api/v1/deals"),
        ("get", "/api/v1/deals/{deal_id}"),
        ("patch", "/api/v1/deals/{deal_id}"),
        ("post", "/api/v1/deals/{deal_id}/stage"),
        ("get", "/api/v1/deals/{deal_id}/history"),
        ("get", "/api/v1/pipeline/stages"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/users/{user_id}"),
        ("patch", "/api/v1/users/{user_id}"),
        ("get", "/api/v1/reports/digest.xlsx"),
        ("post", "/api/v1/imports"),
        ("post", "/api/v1/imports/rejected.xlsx"),
        ("get", "/api/v1/exports/contacts.{fmt}"),
        ("get", "/api/v1/documents"),
        ("post", "/api/v1/contacts/{contact_id}/documents"),
        ("get", "/api/v1/contacts/{contact_id}/documents"),
        ("post", "/api/v1/deals/{deal_id}/documents"),
        ("get", "/api/v1/deals/{deal_id}/documents"),
        ("post", "/api/v1/deals/by-external-id/{external_id}/documents"),
        ("get", "/api/v1/documents/{document_id}"),
        ("get", "/api/v1/documents/{document_id}/content"),
        ("delete", "/api/v1/documents/{document_id}"),
    }
    found = {
        (method, path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert found == expected
    for method, path in expected:
        operation = spec["paths"][path][method]
        assert operation["tags"], (method, path)
        assert operation.get("description"), (method, path)
        assert "401" in operation["responses"], (method, path)
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" not in spec["paths"]["/healthz"]["get"]
    contact = spec["components"]["schemas"]["ContactOut"]["properties"]
    assert {"id", "name", "phones", "created_at", "updated_at"} <= set(contact)


async def test_docs_page_renders(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text
