"""Our own call-event protocol for Asterisk, FreePBX or any PBX that can send an HTTP request.

`POST /webhooks/generic` takes one event as a JSON object or as the same fields
form-encoded (what Asterisk's `CURL()` sends). `GET /webhooks/generic/lookup?phone=` answers
who a number belongs to, as JSON or, with `format=text`, as `Name|owner_extension`.

Fields (all strings; numbers may be JSON numbers; see docs/asterisk.md):

- `event` (required): `start`, `ringing`, `answer`, `hangup`, `end`, `record`.
- `call_id` (or Asterisk's `linkedid`, required): one id shared by every leg of the call.
- `event_id` / `uniqueid`: tells apart events of the same kind within a call (per channel).
- `direction`: `in`, `out`, `internal`; `from`, `to`, `did`, `extension`, `dstchannel`.
- `status` (`answered|missed|busy|failed`), `dialstatus` (Asterisk DIALSTATUS),
  `disposition` (Asterisk CDR disposition); the first one present decides the end status.
- `duration` (whole call, seconds), `billsec` (talk, seconds), `recording` (URL or file name).
- `timestamp`, `started_at`, `answered_at`, `ended_at`: epoch seconds or ISO-8601; a naive
  ISO time is in the PBX's zone (`ProviderOptions.account_timezone`).

This module also holds the small helpers the Twilio and 3CX adapters share (time parsing,
key bounding, token extraction), so the three modules parse the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.events import CallEvent, Direction, EndStatus, EventKind
from telephony_webhooks.providers.base import (
    Accepted,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
    Reply,
    bounded_call_key,
    bounded_key,
    decode_form,
    decode_json,
    received_at,
    same_secret,
)

PROVIDER = "generic"
SECRET_NAME = "GENERIC_TOKEN"
TOKEN_HEADER = "x-perezvon-token"

EVENT_TYPE_LIMIT = 64

_TEXT_OR_NUMBER: dict[str, Any] = {"type": ["string", "number"]}
# The body of POST /webhooks/generic as OpenAPI shows it (the adapter is the validation).
EVENT_SCHEMA: dict[str, Any] = {
    "title": "GenericCallEvent",
    "type": "object",
    "required": ["event", "call_id"],
    "properties": {
        "event": {
            "type": "string",
            "enum": ["start", "ringing", "answer", "hangup", "end", "record"],
            "description": "what happened (aliases: call_start, answered, call_end, recording)",
        },
        "call_id": {"type": "string", "description": "one id for every leg (or `linkedid`)"},
        "event_id": {
            "type": "string",
            "description": "tells apart events of one kind (or `uniqueid`)",
        },
        "direction": {"type": "string", "enum": ["in", "out", "internal"]},
        "from": {"type": "string", "description": "the calling number"},
        "to": {"type": "string", "description": "the called number or extension"},
        "did": {"type": "string", "description": "our number that was dialled"},
        "extension": {"type": "string", "description": "the extension that rang or answered"},
        "status": {"type": "string", "enum": ["answered", "missed", "busy", "failed"]},
        "dialstatus": {"type": "string", "description": "Asterisk DIALSTATUS"},
        "disposition": {"type": "string", "description": "Asterisk CDR disposition"},
        "duration": {**_TEXT_OR_NUMBER, "description": "whole call, seconds"},
        "billsec": {**_TEXT_OR_NUMBER, "description": "talk time, seconds"},
        "recording": {"type": "string", "description": "URL or file name"},
        "timestamp": {**_TEXT_OR_NUMBER, "description": "epoch seconds or ISO-8601"},
        "started_at": {**_TEXT_OR_NUMBER, "description": "epoch seconds or ISO-8601"},
        "answered_at": {**_TEXT_OR_NUMBER, "description": "epoch seconds or ISO-8601"},
        "ended_at": {**_TEXT_OR_NUMBER, "description": "epoch seconds or ISO-8601"},
    },
    "example": {
        "event": "end",
        "call_id": "1795683600.1",
        "direction": "in",
        "from": "+79161234567",
        "did": "+74951234567",
        "extension": "101",
        "status": "answered",
        "duration": 107,
        "billsec": 95,
    },
}

_EVENT_KINDS: dict[str, EventKind] = {
    "start": "ringing",
    "ringing": "ringing",
    "answer": "answered",
    "hangup": "ended",
    "end": "final",
    "record": "recording",
}
_EVENT_ALIASES = {
    "call_start": "start",
    "answered": "answer",
    "call_end": "end",
    "recording": "record",
}
_DIRECTIONS: dict[str, Direction] = {
    "in": "in",
    "inbound": "in",
    "incoming": "in",
    "out": "out",
    "outbound": "out",
    "outgoing": "out",
    "internal": "internal",
    "local": "internal",
}
# Asterisk DIALSTATUS and CDR dispositions plus our own words, upper-cased, '-'/'_' as spaces.
_STATUSES: dict[str, EndStatus] = {
    "ANSWERED": "answered",
    "ANSWER": "answered",
    "MISSED": "missed",
    "NO ANSWER": "missed",
    "NOANSWER": "missed",
    "CANCEL": "missed",
    "CANCELED": "missed",
    "CANCELLED": "missed",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "failed",
    "CHANUNAVAIL": "failed",
    "DONTCALL": "failed",
    "TORTURE": "failed",
    "INVALIDARGS": "failed",
}
_DSTCHANNEL = re.compile(r"^[A-Za-z0-9]+/([^-@/]+)")
_TEXT_UNSAFE = re.compile(r"[|\x00-\x1f\x7f]+")


# --- helpers shared by the Twilio and 3CX adapters -------------------------------------------


def presented_token(request: RawRequest, *, query_names: tuple[str, ...] = ()) -> str | None:
    """The shared token a PBX sent: our header, a Bearer header, or one of `query_names`."""
    header = request.headers.get(TOKEN_HEADER)
    if header:
        return header.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    for name in query_names:
        value = request.query.get(name)
        if value:
            return value
    return None


def check_token(request: RawRequest, expected: str | None, *, query_names: tuple[str, ...]) -> None:
    """Raise 404 when the provider is disabled (no secret) and 401 when the token is wrong."""
    if not expected:
        raise ProviderError(404, "provider is not configured")
    given = presented_token(request, query_names=query_names)
    if given is None:
        raise ProviderError(401, "token is missing")
    if not same_secret(given, expected):
        raise ProviderError(401, "token does not match")


def zone(options: ProviderOptions) -> ZoneInfo:
    try:
        return ZoneInfo(options.account_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProviderError(500, f"unknown time zone {options.account_timezone!r}") from exc


def parse_time(value: str | None, naive_zone: ZoneInfo | None) -> datetime | None:
    """Epoch seconds or ISO-8601 (naive means `naive_zone`) as aware UTC; '' and 0 mean none."""
    text = (value or "").strip()
    if not text or text.strip("0.") == "":
        return None
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except (ValueError, OverflowError, OSError) as exc:
        raise ProviderError(400, f"time {text[:40]!r} is not epoch seconds or ISO-8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone or UTC)
    try:
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ProviderError(400, f"time {text[:40]!r} is out of range") from exc


def now() -> datetime:
    """Last-resort event time: the processor records the receive time, but if a stored request
    lacks it, processing time is the closest honest guess and dropping the event is worse."""
    return datetime.now(UTC)


def seconds(value: str | None) -> int | None:
    """Whole seconds from '42', '42.7' or 'hh:mm:ss'; None for empty or nonsense."""
    text = (value or "").strip()
    try:
        if ":" in text:
            total = 0
            for part in text.split(":"):
                total = total * 60 + int(part)
            return total if total >= 0 and text.count(":") <= 2 else None
        number = int(float(text))
    except (ValueError, OverflowError):
        return None
    return number if 0 <= number < 10**7 else None


def scalar_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """String values of a decoded JSON object; nested values and nulls are dropped, not trusted."""
    fields: dict[str, str] = {}
    for key, value in data.items():
        if type(value) is str:  # the common case first: this runs on every generic webhook
            fields[key] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            fields[str(key)] = str(value)
    return fields


def clip(value: str | None, limit: int = 128) -> str | None:
    """A stripped field value cut to fit its column; empty means absent."""
    text = (value or "").strip()
    return text[:limit] or None


# --- the generic protocol ----------------------------------------------------------------------


def sign_headers(token: str) -> dict[str, str]:
    """Headers that authenticate a request to the generic endpoint (for tests and simulate)."""
    return {TOKEN_HEADER: token}


def _is_lookup(request: RawRequest) -> bool:
    return request.path.strip("/") == "lookup" or request.method.upper() == "GET"


def verify(request: RawRequest, secrets: Mapping[str, str]) -> None:
    """Check the shared token; the lookup also takes `?token=`: dialplan CURL may lack headers."""
    query_names = ("token",) if _is_lookup(request) else ()
    check_token(request, secrets.get(SECRET_NAME), query_names=query_names)


def request_fields(request: RawRequest) -> dict[str, str]:
    """The fields of a request: its parsed form, or a JSON or form body as flat text fields."""
    if request.form:
        return dict(request.form)
    body = request.body.strip()
    # The content type is not trusted to pick the decoder: dialplan CURL with a custom header
    # may drop it, so a body that looks like JSON is JSON and anything else is a form.
    if "json" in request.content_type.lower() or body[:1] in (b"{", b"["):
        return scalar_fields(decode_json(request.body))
    return decode_form(request.body, "application/x-www-form-urlencoded")


def _event_name(fields: Mapping[str, str]) -> str:
    name = fields.get("event", "").strip().lower()
    name = _EVENT_ALIASES.get(name, name)
    if not name:
        raise ProviderError(400, "field 'event' is missing")
    if name not in _EVENT_KINDS:
        raise ProviderError(400, f"unknown event {name[:40]!r}")
    return name


def _call_id(fields: Mapping[str, str]) -> str:
    raw = (fields.get("call_id") or fields.get("linkedid") or "").strip()
    if not raw:
        raise ProviderError(400, "field 'call_id' (or 'linkedid') is missing")
    return bounded_call_key(raw)


def _extension(fields: Mapping[str, str]) -> str | None:
    extension = clip(fields.get("extension"), 64)
    if extension:
        return extension
    # Asterisk's CDR(dstchannel) looks like 'PJSIP/101-00000013': the peer name is the extension.
    match = _DSTCHANNEL.match(fields.get("dstchannel", "").strip())
    return match.group(1)[:64] if match else None


def accept(request: RawRequest) -> Accepted:
    """Dedupe `generic:<call>:<event>:<event_id, uniqueid, extension or recording>`."""
    if _is_lookup(request):
        phone = (request.query.get("phone") or request.query.get("number") or "").strip()
        if not phone:
            raise ProviderError(400, "query parameter 'phone' is missing")
        return Accepted(
            dedupe_key=bounded_key(PROVIDER, ["lookup", phone]),
            call_key=None,
            event_type="lookup",
            store=False,
            lookup_number=phone[:64],
        )
    fields = request_fields(request)
    event = _event_name(fields)
    call_key = _call_id(fields)
    discriminator = (
        fields.get("event_id")
        or fields.get("uniqueid")
        or (_extension(fields) if event in {"ringing", "answer"} else None)
        or (fields.get("recording") if event == "record" else None)
        or ""
    ).strip()
    return Accepted(
        dedupe_key=bounded_key(PROVIDER, [call_key, event, discriminator]),
        call_key=call_key,
        event_type=event,
    )


def end_status(fields: Mapping[str, str], talk_seconds: int | None) -> EndStatus | None:
    """How the call ended: `status`, else DIALSTATUS, else CDR disposition, else billsec > 0."""
    for name in ("status", "dialstatus", "disposition"):
        word = re.sub(r"[-_\s]+", " ", fields.get(name, "")).strip().upper()
        if word:
            status = _STATUSES.get(word) or _STATUSES.get(word.replace(" ", ""))
            if status:
                return status
    if talk_seconds is None:
        return None
    return "answered" if talk_seconds > 0 else "missed"


def _numbers(
    fields: Mapping[str, str], direction: Direction | None
) -> tuple[str | None, str | None, str | None]:
    """(client number, our number, extension) by direction; numbers stay raw."""
    source, target = clip(fields.get("from")), clip(fields.get("to"))
    did = clip(fields.get("did"), 64)
    if direction in {"out", "internal"}:
        # The caller is our extension; the dialled channel is the trunk or the callee, so
        # dstchannel is not who made the call.
        extension = clip(fields.get("extension"), 64) or (source[:64] if source else None)
        return (target if direction == "out" else None), did, extension
    return source, did or (target[:64] if target else None), _extension(fields)


def parse(request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
    """One CallEvent per generic event; see the module docstring for the fields."""
    fields = request_fields(request)
    event = _event_name(fields)
    kind = _EVENT_KINDS[event]
    local = zone(options)
    started = parse_time(fields.get("started_at"), local)
    answered = parse_time(fields.get("answered_at"), local)
    ended = parse_time(fields.get("ended_at"), local)
    own_time = {"start": started, "ringing": started, "answer": answered}.get(event, ended)
    occurred = (
        parse_time(fields.get("timestamp"), local) or own_time or received_at(request) or now()
    )
    direction = _DIRECTIONS.get(fields.get("direction", "").strip().lower())
    client, ours, extension = _numbers(fields, direction)
    duration, talk = seconds(fields.get("duration")), seconds(fields.get("billsec"))
    closing = kind in {"ended", "final"}
    recording = clip(fields.get("recording"), 1024)
    if kind == "recording" and recording is None:
        raise ProviderError(400, "field 'recording' is missing")
    return [
        CallEvent(
            provider=PROVIDER,
            provider_call_id=_call_id(fields),
            kind=kind,
            occurred_at=occurred,
            direction=direction,
            client_number=client,
            our_number=ours,
            extension=extension,
            status=end_status(fields, talk) if closing else None,
            started_at=started,
            answered_at=answered or (occurred if kind == "answered" else None),
            ended_at=ended or (occurred if closing else None),
            ring_seconds=max(duration - talk, 0)
            if duration is not None and talk is not None
            else None,
            talk_seconds=talk if closing else None,
            recording=recording,
            disposition=clip(fields.get("disposition") or fields.get("dialstatus"), 64),
        )
    ]


def _lookup_text(lookup: LookupResult | None) -> str:
    if lookup is None or lookup.contact_id is None:
        return ""
    name = _TEXT_UNSAFE.sub(" ", lookup.contact_name or lookup.company_name or "").strip()[:80]
    extension = re.sub(r"\D", "", lookup.owner_extension or "")
    return f"{name}|{extension}" if name or extension else ""


_ACK = Reply(body=b'{"ok": true}', media_type="application/json")


def reply(
    request: RawRequest, accepted: Accepted, lookup: LookupResult | None, options: ProviderOptions
) -> Reply:
    """Lookup: JSON or `Name|ext` text (empty when unknown); events: a JSON ack."""
    if accepted.lookup_number is None:
        return _ACK
    if request.query.get("format", "").lower() == "text":
        # No trailing newline: dialplan CURL() keeps it, and 'Name\n' would become the CALLERID.
        return Reply(body=_lookup_text(lookup), media_type="text/plain")
    found = lookup is not None and lookup.contact_id is not None
    payload: dict[str, Any] = {
        "found": found,
        "contact_id": lookup.contact_id if lookup else None,
        "name": lookup.contact_name if lookup else None,
        "company": lookup.company_name if lookup else None,
        "owner": lookup.owner_name if lookup else None,
        "owner_extension": lookup.owner_extension if lookup else None,
    }
    return Reply(body=json.dumps(payload, ensure_ascii=False), media_type="application/json")
