"""PBX webhook routes: verify → store durably in the inbox → answer as the provider expects."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from core.context import Ctx
from core.db import session_scope
from core.services import contacts
from telephony_webhooks.context import WebContext, web_context
from telephony_webhooks.inbox import InboxRow, InboxUnavailable, InboxWriter
from telephony_webhooks.processor import (
    METHOD_HEADER,
    PATH_HEADER,
    URL_HEADER,
    provider_options,
)
from telephony_webhooks.providers.base import (
    LookupResult,
    ProviderError,
    RawRequest,
    decode_form,
)
from telephony_webhooks.providers.registry import PROVIDERS, Provider

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
LOOKUP_TIMEOUT_SECONDS = 0.8
# Headers worth keeping with the raw request; tokens and cookies are never stored.
STORED_HEADERS = (
    "content-type",
    "user-agent",
    "signature",
    "x-twilio-signature",
    "x-forwarded-for",
    "x-real-ip",
    "i-twilio-idempotency-token",
)
SECRET_QUERY = {"token", "key", "crm_token", "api_key"}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def public_url(web: WebContext, request: Request) -> str:
    """The URL the provider called: behind a proxy, PUBLIC_URL + path + query."""
    if not web.public_url:
        return str(request.url)
    query = request.url.query
    return web.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def _stored_url(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_QUERY
    ]
    return parts._replace(query=urlencode(query)).geturl()


async def _form(request: Request, body: bytes, content_type: str) -> dict[str, str]:
    if "multipart/form-data" in content_type:
        try:
            form = await request.form()
        except Exception:  # a broken multipart body: the adapter reads the raw body itself
            return {}
        return {key: value for key, value in form.items() if isinstance(value, str)}
    if "application/x-www-form-urlencoded" in content_type:
        try:
            return decode_form(body, content_type)
        except ProviderError:
            return {}
    return {}


async def lookup(web: WebContext, number: str) -> LookupResult | None:
    """Who is calling, from the phone index; any failure or slowness means "no data"."""

    async def query() -> LookupResult | None:
        async with session_scope(web.sessions) as session:
            ctx = Ctx(session=session, config=web.config, clock=web.clock)
            owner = await contacts.lookup_phone(ctx, phone=number)
        if owner is None:
            return None
        return LookupResult(
            contact_id=owner.contact_id,
            contact_name=owner.contact_name,
            company_name=owner.company_name,
            owner_name=owner.owner_name,
            owner_extension=owner.owner_extension,
        )

    try:
        return await asyncio.wait_for(query(), timeout=LOOKUP_TIMEOUT_SECONDS)
    except Exception as exc:  # routing must never fail because of us
        log.info("lookup for a caller gave no data: %s", type(exc).__name__)
        return None


async def handle(request: Request, provider: Provider, path: str = "") -> Response:
    """The whole webhook pipeline for one request."""
    web = web_context(request)
    if not provider.enabled(web.provider_secrets):
        return JSONResponse(
            status_code=404,
            content={
                "detail": f"provider {provider.name} is disabled: set {provider.setting_names()}"
            },
        )
    try:
        body = await read_body(request)
    except BodyTooLarge:
        return JSONResponse(status_code=413, content={"detail": "body is larger than 64 KiB"})
    content_type = request.headers.get("content-type", "")
    raw = RawRequest(
        method=request.method,
        url=public_url(web, request),
        path=path,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
        content_type=content_type,
        form=await _form(request, body, content_type),
    )
    options = provider_options(web)
    try:
        provider.adapter.verify(raw, web.provider_secrets)
        accepted = provider.adapter.accept(raw)
    except ProviderError as exc:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.reason})
    if accepted.store:
        inbox: InboxWriter = request.app.state.inbox
        headers = {k: v for k, v in raw.headers.items() if k in STORED_HEADERS}
        headers |= {METHOD_HEADER: raw.method, PATH_HEADER: path, URL_HEADER: _stored_url(raw.url)}
        try:
            await inbox.store(
                InboxRow(
                    provider=provider.name,
                    dedupe_key=accepted.dedupe_key,
                    call_key=accepted.call_key,
                    event_type=accepted.event_type,
                    body=body,
                    content_type=content_type,
                    headers=headers,
                    remote_addr=request.client.host if request.client else None,
                    received_at=web.clock.now(),
                )
            )
        except InboxUnavailable as exc:
            return JSONResponse(
                status_code=503,
                headers={"Retry-After": "5"},
                content={"detail": f"could not store the event: {exc}"},
            )
    found = await lookup(web, accepted.lookup_number) if accepted.lookup_number else None
    try:
        reply = provider.adapter.reply(raw, accepted, found, options)
    except ProviderError as exc:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.reason})
    return Response(content=reply.body, status_code=reply.status_code, media_type=reply.media_type)


def router() -> APIRouter:
    routes = APIRouter(prefix="/webhooks", tags=["pbx webhooks"])

    for name in ("zadarma", "novofon"):

        async def zadarma_like(request: Request, _name: str = name) -> Response:
            """Zadarma/Novofon: GET answers zd_echo; POST carries NOTIFY_* events."""
            return await handle(request, PROVIDERS[_name])

        for method in ("GET", "POST"):
            routes.add_api_route(
                f"/{name}", zadarma_like, methods=[method], name=f"{name}_{method.lower()}"
            )

    @routes.post("/mango/{event_path:path}")
    async def mango(request: Request, event_path: str) -> Response:
        """Mango Office VPBX: events/call, events/summary, events/recording, …"""
        return await handle(request, PROVIDERS["mango"], event_path)

    @routes.post("/itoolabs")
    async def itoolabs(request: Request) -> Response:
        """ITooLabs CRM protocol (MegaFon VATS, Gravitel…): cmd=event|history|contact|rating."""
        return await handle(request, PROVIDERS["itoolabs"])

    @routes.post("/twilio/{callback}")
    async def twilio(request: Request, callback: str) -> Response:
        """Twilio status, recording and <Dial action> callbacks."""
        return await handle(request, PROVIDERS["twilio"], callback)

    @routes.post("/generic")
    async def generic(request: Request) -> Response:
        """Our own call-event schema for Asterisk/FreePBX or any PBX (see docs/asterisk.md)."""
        return await handle(request, PROVIDERS["generic"])

    @routes.get("/generic/lookup")
    async def generic_lookup(request: Request) -> Response:
        """Who is this number: JSON, or `Name|ext` text with format=text."""
        return await handle(request, PROVIDERS["generic"], "lookup")

    @routes.get("/3cx/lookup")
    async def threecx_lookup(request: Request) -> Response:
        """3CX CRM template: contact look-up by number."""
        return await handle(request, PROVIDERS["3cx"], "lookup")

    @routes.post("/3cx/journal")
    async def threecx_journal(request: Request) -> Response:
        """3CX CRM template: call journaling."""
        return await handle(request, PROVIDERS["3cx"], "journal")

    return routes
