"""PBX webhook routes: verify → store durably in the inbox → answer as the provider expects."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

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
# Shared secrets some PBXs put in the body itself (ITooLabs, Mango): verified, never stored.
SECRET_FIELDS = {"crm_token", "vpbx_api_key", "token"}


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
    scope = request.scope
    query = scope.get("query_string", b"").decode("latin-1")
    suffix = str(scope["path"]) + (f"?{query}" if query else "")
    if web.public_url:
        return web.public_url.rstrip("/") + suffix
    host = request.headers.get("host") or "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{suffix}"


def stored_body(body: bytes, content_type: str) -> bytes:
    """The body as the inbox keeps it: form or JSON without the shared-secret fields."""
    if not any(name.encode() in body for name in SECRET_FIELDS):
        return body
    try:
        if "json" in content_type or body.lstrip()[:1] == b"{":
            data = json.loads(body)
            if isinstance(data, dict):
                kept = {k: v for k, v in data.items() if k not in SECRET_FIELDS}
                return json.dumps(kept, ensure_ascii=False).encode("utf-8")
            return body
        if "multipart/" in content_type:
            return body  # only the adapter can read Zadarma's multipart; it carries no secret
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        return urlencode([(k, v) for k, v in pairs if k not in SECRET_FIELDS]).encode()
    except (ValueError, UnicodeDecodeError):
        return body


def _stored_url(url: str) -> str:
    if "?" not in url:
        return url
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_QUERY
    ]
    return parts._replace(query=urlencode(query)).geturl()


def _form(body: bytes, content_type: str) -> dict[str, str]:
    """Form fields when the request says it is a form; adapters sniff other bodies."""
    lowered = content_type.lower()
    if "application/x-www-form-urlencoded" not in lowered and "multipart/" not in lowered:
        return {}
    try:
        return decode_form(body, content_type)
    except ProviderError:
        return {}  # the adapter answers the body's problem with its own reason


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
        form=_form(body, content_type),
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
                    body=stored_body(body, content_type),
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


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    provider: str
    summary: str
    sub_path: str = ""  # fixed adapter path, or "" to take the {rest} path parameter


ENDPOINTS = (
    Endpoint("/zadarma", ("GET", "POST"), "zadarma", "Zadarma: zd_echo check and NOTIFY_* events"),
    Endpoint("/novofon", ("GET", "POST"), "novofon", "Novofon: zd_echo check and NOTIFY_* events"),
    Endpoint(
        "/mango/{rest:path}",
        ("POST",),
        "mango",
        "Mango Office VPBX: events/call, events/summary, events/recording, …",
    ),
    Endpoint(
        "/itoolabs",
        ("POST",),
        "itoolabs",
        "ITooLabs CRM protocol (MegaFon VATS, Gravitel…): cmd=event|history|contact|rating",
    ),
    Endpoint(
        "/twilio/{rest}",
        ("POST",),
        "twilio",
        "Twilio status, recording and <Dial action> callbacks",
    ),
    Endpoint(
        "/generic",
        ("POST",),
        "generic",
        "Our call-event schema for Asterisk/FreePBX or any PBX (docs/asterisk.md)",
    ),
    Endpoint(
        "/generic/lookup",
        ("GET",),
        "generic",
        "Who is this number: JSON, or `Name|ext` text with format=text",
        "lookup",
    ),
    Endpoint("/3cx/lookup", ("GET",), "3cx", "3CX CRM template: contact look-up", "lookup"),
    Endpoint("/3cx/journal", ("POST",), "3cx", "3CX CRM template: call journaling", "journal"),
)


def _endpoint_handler(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    provider = PROVIDERS[endpoint.provider]

    async def endpoint_handler(request: Request) -> Response:
        path = endpoint.sub_path or str(request.path_params.get("rest", ""))
        return await handle(request, provider, path)

    endpoint_handler.__doc__ = endpoint.summary
    return endpoint_handler


def fast_routes() -> list[Route]:
    """Plain Starlette routes that serve the webhooks: the hot path skips FastAPI's
    dependency solving and the included-router matching (see bench/webhooks.py)."""
    return [
        Route("/webhooks" + e.path, _endpoint_handler(e), methods=list(e.methods))
        for e in ENDPOINTS
    ]


class WebhookFastPath:
    """ASGI middleware: `/webhooks/...` goes straight to the plain routes.

    PBX deliveries are the hot path of the whole system. They skip FastAPI's inner
    middleware (telemetry, body limit, exception and exit-stack layers) and its routing;
    every other path, and the outer error middleware, stay as they are.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = Router(routes=fast_routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/webhooks/"):
            try:
                await self.routes(scope, receive, send)
            except HTTPException as exc:  # unknown path (404) or method (405)
                response = JSONResponse(
                    status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
                )
                await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def router() -> APIRouter:
    """The same endpoints for /docs; requests are served by `fast_routes`, mounted first."""
    routes = APIRouter(prefix="/webhooks", tags=["pbx webhooks"])
    for endpoint in ENDPOINTS:
        for method in endpoint.methods:
            routes.add_api_route(
                endpoint.path,
                _endpoint_handler(endpoint),
                methods=[method],
                name=f"{endpoint.provider}_{endpoint.sub_path or 'events'}_{method.lower()}",
                summary=endpoint.summary,
                response_class=Response,
            )
    return routes
