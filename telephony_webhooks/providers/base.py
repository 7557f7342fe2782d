"""The shape every PBX provider adapter has: verify, accept, parse, reply.

A provider module is pure: no database, no FastAPI. The HTTP routes glue it to the inbox:

1. `verify(request, secrets)` — authenticity (signature/token); raises ProviderError(401).
2. `accept(request)` — what to store: dedupe key, call key, event type, and for a synchronous
   look-up the number to look up. Raises ProviderError(400) for an unparseable body.
3. The route stores the raw request in the inbox (durable) and answers with `reply(...)`.
4. Later, the processor calls `parse(stored, options)` on the stored request to get
   normalized CallEvents and applies them through the core call service.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote_plus

# The inbox's receive time, which the processor puts back into a stored request's headers:
# the event time for payloads that carry none (Zadarma, ITooLabs events, Twilio dial results).
RECEIVED_AT_HEADER = "x-perezvon-received-at"


class ProviderError(Exception):
    """A request the provider adapter refuses; the route answers `status_code` with `reason`."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


@dataclass(frozen=True)
class RawRequest:
    """A webhook request as received, before anything trusts it."""

    method: str
    url: str  # the public URL the provider called (PUBLIC_URL-based behind a proxy)
    path: str  # the part after the provider's base path, e.g. "events/call" or "status"
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    body: bytes
    content_type: str = ""
    form: Mapping[str, str] = field(default_factory=dict)  # decoded form fields, if a form


@dataclass(frozen=True)
class Accepted:
    """What the route stores in the inbox and how it answers."""

    dedupe_key: str
    call_key: str | None
    event_type: str | None
    store: bool = True  # False for pure handshakes/look-ups that change nothing
    lookup_number: str | None = None  # set when the reply must say who this caller is


@dataclass(frozen=True)
class LookupResult:
    """Who a number belongs to, for routing answers."""

    contact_id: int | None = None
    contact_name: str | None = None
    company_name: str | None = None
    owner_name: str | None = None
    owner_extension: str | None = None  # the responsible person's first extension


@dataclass(frozen=True)
class Reply:
    status_code: int = 200
    body: str | bytes = ""
    media_type: str = "text/plain"


@dataclass(frozen=True)
class ProviderOptions:
    """Per-deployment facts a parser needs (time zone of the PBX account, redirect on/off…)."""

    account_timezone: str = "Europe/Moscow"
    redirect_to_owner: bool = False
    secrets: Mapping[str, str] = field(default_factory=dict)


def decode_form(body: bytes, content_type: str) -> dict[str, str]:
    """Form fields of an urlencoded or multipart body ({} for other content types)."""
    if "multipart/form-data" in content_type.lower():
        return decode_multipart(body, content_type)
    if "application/x-www-form-urlencoded" in content_type or not content_type:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProviderError(400, "body is not UTF-8") from exc
        return decode_urlencoded(text)
    return {}


def decode_urlencoded(text: str) -> dict[str, str]:
    """`dict(parse_qsl(text, keep_blank_values=True))`, at a third of its cost: parse_qsl
    unquotes every name and value, and most have nothing to unquote (every webhook pays it)."""
    fields: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        fields[name] = value
    return fields


def decode_multipart(body: bytes, content_type: str) -> dict[str, str]:
    """Text fields of a multipart/form-data body; files are ignored."""
    # Zadarma has sent a boundary in the header that differs from the body's: trust the body.
    first_line = body.lstrip(b"\r\n").split(b"\r\n", 1)[0]
    boundary = first_line[2:].decode("latin-1") if first_line.startswith(b"--") else ""
    header = f'multipart/form-data; boundary="{boundary}"' if boundary else content_type
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + header.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and not part.get_filename():
            fields[name] = payload.decode("utf-8", "replace")
    return fields


def decode_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderError(400, f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # thousands of nested arrays or objects
        raise ProviderError(400, "body is not valid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise ProviderError(400, "JSON body must be an object")
    return data


def same_secret(given: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time comparison that never raises, not on non-ASCII nor on lone surrogates."""
    if given is None:
        return False
    left = given.encode("utf-8", "surrogatepass") if isinstance(given, str) else given
    right = expected.encode("utf-8", "surrogatepass") if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


DEDUPE_KEY_LIMIT = 255  # telephony_events.dedupe_key
CALL_KEY_LIMIT = 128  # telephony_events.call_key and calls.provider_call_id


def bounded_key(prefix: str, parts: list[str], limit: int = DEDUPE_KEY_LIMIT) -> str:
    """`prefix:part:part…`, or `prefix:sha1:<hex>` when that would not fit the column."""
    key = ":".join([prefix, *parts])
    if len(key) <= limit:
        return key
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}:sha1:{digest}"


def bounded_call_key(raw: str) -> str:
    """The call key as stored and as `provider_call_id`; hashed only when over the column size."""
    if len(raw) <= CALL_KEY_LIMIT:
        return raw
    return "sha1:" + hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()


def known_path(request: RawRequest, paths: Collection[str], what: str) -> str:
    """The request's path below the provider's route if it is one of `paths`, else a 404
    naming it as `what` (e.g. "twilio callback")."""
    path = request.path.strip("/")
    if path not in paths:
        raise ProviderError(404, f"unknown {what} {path[:40]!r}")
    return path


def received_at(request: RawRequest) -> datetime | None:
    """When the route received the request, if the processor recorded it in the headers."""
    value = request.headers.get(RECEIVED_AT_HEADER)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. year 1 with a positive offset
        return None


def display_name(lookup: LookupResult | None) -> str | None:
    """How a PBX should show a known caller: "Name (Company)"."""
    if lookup is None:
        return None
    name, company = lookup.contact_name, lookup.company_name
    if name and company:
        return f"{name} ({company})"
    return name or company
