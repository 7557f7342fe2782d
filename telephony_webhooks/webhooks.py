"""PBX webhook routes: verify → store durably in the inbox → answer as the provider expects."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from starlette.types import Receive, Scope, Send

from core.contacts import service as contacts
from core.context import Ctx
from core.db import session_scope
from core.telemetry import telemetry
from telephony_webhooks.context import WebContext
from telephony_webhooks.inbox import InboxRow, InboxUnavailable, InboxWriter
from telephony_webhooks.kept import STORED_HEADERS, stored_body, stored_url
from telephony_webhooks.processor import (
    METHOD_HEADER,
    PATH_HEADER,
    URL_HEADER,
    provider_options,
)
from telephony_webhooks.providers import generic
from telephony_webhooks.providers.base import (
    RECEIVED_AT_HEADER,
    LookupResult,
    ProviderError,
    RawRequest,
    decode_form,
)
from telephony_webhooks.providers.checks import parse_checked, without_controls
from telephony_webhooks.providers.registry import PROVIDERS, Provider
from telephony_webhooks.sources import source_allowed

log = logging.getLogger(__name__)
PREFIX = "/webhooks"
MAX_BODY = 64 * 1024
LOOKUP_TIMEOUT_SECONDS = 0.8
# A client that announces a body and never sends it holds a request (and shutdown) no longer.
BODY_READ_SECONDS = 10.0


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The PBX hung up before sending the whole body: nothing to store, nobody to answer."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """What the pipeline reads of an ASGI request (the hot path builds no Starlette Request)."""

    method: str
    path: str  # as the client sent it, root path included
    query_string: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    scheme: str
    client_host: str | None

    @classmethod
    def from_scope(cls, scope: Scope) -> Incoming:
        client = scope.get("client")
        return cls(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            # ASGI servers send header names in lower case (Starlette relies on it too).
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            scheme=scope.get("scheme", "http"),
            client_host=client[0] if client else None,
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to one webhook request."""

    status: int
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def detail(cls, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        """`{"detail": reason}`, the error shape of the whole HTTP app."""
        body = json.dumps({"detail": reason}, ensure_ascii=False, separators=(",", ":"))
        return cls(status, body.encode("utf-8"), "application/json", headers)

    def content_type(self) -> str:
        if self.media_type.startswith("text/") and "charset=" not in self.media_type:
            return self.media_type + "; charset=utf-8"
        return self.media_type


async def read_body(receive: Receive, headers: Mapping[str, str]) -> bytes:
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        if not message.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def public_url(web: WebContext, request: Incoming) -> str:
    """The URL the provider called: behind a proxy, PUBLIC_URL + path + query."""
    query = request.query_string
    suffix = request.path + (f"?{query}" if query else "")
    if web.public_url:
        return web.public_url.rstrip("/") + suffix
    host = request.headers.get("host") or "localhost"
    return f"{request.scheme}://{host}{suffix}"


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
    started = time.perf_counter()
    result = "error"
    try:
        if web.phone_lookup is not None:
            owner = await web.phone_lookup.find(number, within=LOOKUP_TIMEOUT_SECONDS)
        else:
            async with asyncio.timeout(LOOKUP_TIMEOUT_SECONDS):
                async with session_scope(web.sessions) as session:
                    ctx = Ctx(session=session, config=web.config, clock=web.clock)
                    owner = await contacts.lookup_phone(ctx, phone=number)
        result = "found" if owner is not None else "unknown"
    except TimeoutError:  # routing must never wait on us: the PBX gets "no data" in time
        result = "timeout"
        log.warning("caller look-up gave no data: no answer within %.1f s", LOOKUP_TIMEOUT_SECONDS)
        return None
    except Exception as exc:  # routing must never fail because of us
        # The driver's own reason: a SQLAlchemy error's text adds its SQL and parameters
        # (the caller's number), which the log has no need of.
        reason = getattr(exc, "orig", None) or exc
        log.warning("caller look-up gave no data: %s: %s", type(reason).__name__, reason)
        return None
    finally:
        telemetry().lookup_done(result, time.perf_counter() - started)
    if owner is None:
        return None
    return LookupResult(
        contact_id=owner.contact_id,
        contact_name=owner.contact_name,
        company_name=owner.company_name,
        owner_name=owner.owner_name,
        owner_extension=owner.owner_extension,
    )


async def handle(
    web: WebContext,
    inbox: InboxWriter,
    provider: Provider,
    request: Incoming,
    receive: Receive,
    path: str = "",
) -> Answer:
    """The whole webhook pipeline for one request: verify, store durably, answer."""
    if not provider.enabled(web.provider_secrets):
        reason = f"provider {provider.name} is disabled: set {provider.setting_names()}"
        return Answer.detail(404, reason)
    if not source_allowed(web, provider.name, request.client_host, request.headers):
        return Answer.detail(403, f"this address may not send {provider.name} webhooks")
    try:
        async with asyncio.timeout(BODY_READ_SECONDS):
            body = await read_body(receive, request.headers)
    except BodyTooLarge:
        return Answer.detail(413, "body is larger than 64 KiB")
    except TimeoutError:
        return Answer.detail(408, f"the body did not arrive within {BODY_READ_SECONDS:g} s")
    content_type = request.headers.get("content-type", "")
    query = request.query_string
    received = web.clock.now()
    raw = RawRequest(
        method=request.method,
        url=public_url(web, request),
        path=path,
        # Stamped as the processor stamps a stored request (a client's own value is replaced).
        headers={**request.headers, RECEIVED_AT_HEADER: received.isoformat()},
        query=dict(parse_qsl(query, keep_blank_values=True)) if query else {},
        body=body,
        content_type=content_type,
        form=_form(body, content_type),
    )
    options = provider_options(web)
    try:
        provider.adapter.verify(raw, web.provider_secrets)
        accepted = provider.adapter.accept(raw)
        if accepted.store:
            # What the processor will do with the stored request, done now: a request it
            # could not apply gets its 400 here instead of a 200 and a row that never applies.
            parse_checked(provider.adapter, raw, options, provider.time_fields)
    except ProviderError as exc:
        return Answer.detail(exc.status_code, exc.reason)
    except RecursionError:
        return Answer.detail(400, "body is nested too deeply")
    if accepted.store:
        headers = {k: v for k, v in raw.headers.items() if k in STORED_HEADERS}
        headers |= {METHOD_HEADER: raw.method, PATH_HEADER: path, URL_HEADER: stored_url(raw.url)}
        kept_body, kept_type = stored_body(body, content_type, raw.form)
        try:
            await inbox.store(
                InboxRow(
                    provider=provider.name,
                    dedupe_key=without_controls(accepted.dedupe_key),
                    call_key=accepted.call_key and without_controls(accepted.call_key),
                    event_type=accepted.event_type and without_controls(accepted.event_type),
                    body=kept_body,
                    content_type=kept_type,
                    headers=headers,
                    remote_addr=request.client_host,
                    received_at=received,
                )
            )
        except InboxUnavailable as exc:
            return Answer.detail(503, f"could not store the event: {exc}", (("Retry-After", "5"),))
    number = accepted.lookup_number and without_controls(accepted.lookup_number)
    found = await lookup(web, number) if number else None
    try:
        reply = provider.adapter.reply(raw, accepted, found, options)
    except ProviderError as exc:
        return Answer.detail(exc.status_code, exc.reason)
    body_out = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
    return Answer(reply.status_code, body_out, reply.media_type)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    provider: str
    summary: str
    sub_path: str = ""  # fixed adapter path, or "" to take the {rest} path parameter
    body_schema: Mapping[str, Any] | None = None  # for /docs only; the adapter validates


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
        body_schema=generic.EVENT_SCHEMA,
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


def _endpoint_handler(
    web: WebContext, inbox: InboxWriter, endpoint: Endpoint
) -> Callable[[Request], Awaitable[Response]]:
    """A FastAPI endpoint over `handle`, for /docs (requests are served by `WebhookApp`)."""
    provider = PROVIDERS[endpoint.provider]

    async def endpoint_handler(request: Request) -> Response:
        path = endpoint.sub_path or str(request.path_params.get("rest", ""))
        incoming = Incoming.from_scope(request.scope)
        answer = await handle(web, inbox, provider, incoming, request.receive, path)
        return Response(
            content=answer.body,
            status_code=answer.status,
            media_type=answer.media_type,
            headers=dict(answer.headers),
        )

    endpoint_handler.__doc__ = endpoint.summary
    return endpoint_handler


class WebhookApp:
    """A plain ASGI app for `/webhooks/...`, served ahead of FastAPI's middleware and routing.

    PBX deliveries are the hot path of the whole system: every ringing phone is several of
    them, and the PBX waits. They need none of what FastAPI adds per request (dependency
    solving, exception and body-limit middleware, telemetry, Starlette's Request/Response),
    so this matches the path in a dict, reads the body from `receive`, runs `handle` and
    sends its answer. The same endpoints are declared in FastAPI (`router()`) for /docs.
    """

    def __init__(self, web: WebContext, inbox: InboxWriter) -> None:
        self.web = web
        self.inbox = inbox
        self.exact: dict[str, Endpoint] = {}
        self.prefixed: list[tuple[str, Endpoint, bool]] = []  # (prefix, endpoint, rest may nest)
        for endpoint in ENDPOINTS:
            path = PREFIX + endpoint.path
            if "{" not in path:
                self.exact[path] = endpoint
            else:
                prefix, _, parameter = path.partition("{")
                self.prefixed.append((prefix, endpoint, parameter.endswith(":path}")))

    @staticmethod
    def route_path(scope: Scope) -> str:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            return path[len(root) :]
        return path

    def match(self, path: str) -> tuple[Endpoint, str] | None:
        endpoint = self.exact.get(path)
        if endpoint is not None:
            return endpoint, endpoint.sub_path
        for prefix, candidate, nested in self.prefixed:
            if path.startswith(prefix):
                rest = path[len(prefix) :]
                if nested or (rest and "/" not in rest):
                    return candidate, rest
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(self.route_path(scope))
        method = scope["method"]
        head = method == "HEAD"
        if found is None:
            answer = Answer.detail(404, "Not Found")
        else:
            endpoint, path = found
            allowed = endpoint.methods + (("HEAD",) if "GET" in endpoint.methods else ())
            if method not in allowed:
                answer = Answer.detail(405, "Method Not Allowed", (("Allow", ", ".join(allowed)),))
            else:
                request = Incoming.from_scope(scope)
                if head:
                    request = replace(request, method="GET")
                try:
                    answer = await handle(
                        self.web, self.inbox, PROVIDERS[endpoint.provider], request, receive, path
                    )
                except ClientGone:
                    return
                except Exception:
                    log.exception("webhook %s failed", scope["path"])
                    answer = Answer.detail(500, "internal error; the event was not stored")
        telemetry().webhook_answered(found[0].provider if found else "unknown", answer.status)
        await send_answer(send, answer, head=head)


async def send_answer(send: Send, answer: Answer, *, head: bool = False) -> None:
    headers = [
        (b"content-length", str(len(answer.body)).encode("latin-1")),
        (b"content-type", answer.content_type().encode("latin-1")),
    ]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else answer.body})


def _body_docs(endpoint: Endpoint) -> dict[str, Any] | None:
    if endpoint.body_schema is None:
        return None
    schema = dict(endpoint.body_schema)
    return {
        "description": "Authenticate with the `X-Perezvon-Token` header (or `?token=`).",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        },
    }


# The `{rest}` path parameter of the endpoints that take one, declared for the OpenAPI
# document (the handlers read it from the path; FastAPI sees no argument to declare it by).
REST_PARAMETERS: dict[str, dict[str, Any]] = {
    "mango": {
        "name": "rest",
        "in": "path",
        "required": True,
        "description": "What Mango appends to the base URL: events/call, events/summary, …",
        "schema": {"type": "string", "examples": ["events/call"]},
    },
    "twilio": {
        "name": "rest",
        "in": "path",
        "required": True,
        "description": "Which callback: status, recording or dial-action",
        "schema": {"type": "string", "enum": ["status", "recording", "dial-action"]},
    },
}


def _operation_docs(endpoint: Endpoint) -> dict[str, Any] | None:
    docs = _body_docs(endpoint)
    if "{rest" in endpoint.path:
        docs = {**(docs or {}), "parameters": [REST_PARAMETERS[endpoint.provider]]}
    return docs


def router(web: WebContext, inbox: InboxWriter) -> APIRouter:
    """The same endpoints for /docs; requests are served by `WebhookApp`, ahead of FastAPI."""
    routes = APIRouter(prefix=PREFIX, tags=["pbx webhooks"])
    for endpoint in ENDPOINTS:
        for method in endpoint.methods:
            routes.add_api_route(
                endpoint.path,
                _endpoint_handler(web, inbox, endpoint),
                methods=[method],
                name=f"{endpoint.provider}_{endpoint.sub_path or 'events'}_{method.lower()}",
                summary=endpoint.summary,
                response_class=Response,
                openapi_extra=_operation_docs(endpoint),
            )
    return routes
