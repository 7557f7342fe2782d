"""3CX through its server-side CRM integration template (docs/3cx-template.xml).

3CX is the HTTP client here: the template calls `GET /webhooks/3cx/lookup?number=` while the
phone rings and `POST /webhooks/3cx/journal` (the ReportCall scenario) after the call. The
template sends our key as the `X-Perezvon-Token` header (or `?key=`); the key is the
`THREECX_TOKEN` secret, or `GENERIC_TOKEN` when that is not set.

3CX gives no call id, so the call is `sha1(Number|CallStartTimeUTC|Agent|CallType)`, the
time in canonical UTC ISO form so the key does not depend on how the template formats it.
Times are sent as `yyyyMMddHHmmss` in UTC: digits only, because `:` in a .NET format string is
the culture's time separator and would change with the PBX's language.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.events import CallEvent, Direction, EndStatus
from telephony_webhooks.providers.base import (
    Accepted,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
    Reply,
    bounded_key,
    known_path,
)
from telephony_webhooks.providers.generic import (
    TOKEN_HEADER,
    check_token,
    clip,
    parse_time,
    request_fields,
    seconds,
)

PROVIDER = "3cx"
SECRET_NAMES = ("THREECX_TOKEN", "GENERIC_TOKEN")
KEY_QUERY = "key"
PATHS = ("lookup", "journal")

# 3CX's [CallType] values (case-sensitive in 3CX; compared lower-cased here).
_CALL_TYPES: dict[str, tuple[Direction, EndStatus]] = {
    "inbound": ("in", "answered"),
    "missed": ("in", "missed"),
    "outbound": ("out", "answered"),
    "notanswered": ("out", "missed"),
}
_COMPACT_UTC = re.compile(r"\d{14}")
# Only what a written phone number is made of: digits, a leading +, spaces, ( ) - . /
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")


def sign_headers(token: str) -> dict[str, str]:
    """Headers the template sends to authenticate (for tests and `perezvon simulate call`)."""
    return {TOKEN_HEADER: token}


def _secret(secrets: Mapping[str, str]) -> str | None:
    for name in SECRET_NAMES:
        if secrets.get(name):
            return secrets[name]
    return None


def verify(request: RawRequest, secrets: Mapping[str, str]) -> None:
    """Check our key: `X-Perezvon-Token` / Bearer header, or `?key=` in the template's URL."""
    check_token(request, _secret(secrets), query_names=(KEY_QUERY,))


def _path(request: RawRequest) -> str:
    return known_path(request, PATHS, "3cx endpoint")


def utc_time(value: str | None) -> datetime | None:
    """`yyyyMMddHHmmss` (our template), or ISO-8601/epoch; a time without offset is UTC."""
    text = (value or "").strip()
    if _COMPACT_UTC.fullmatch(text):
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise ProviderError(400, f"time {text!r} is not a valid yyyyMMddHHmmss") from exc
    return parse_time(text, None)


def lookup_number(raw: str) -> str:
    """The number 3CX asked about, with the '+' a query string turned into a space put back."""
    text = raw.strip()
    if raw[:1] == " " and text[:1].isdigit():
        return "+" + text
    if text.startswith("00") and text[2:3].isdigit() and text[2:3] != "0":
        return "+" + text[2:]  # Prefix="Zeros" style international numbers
    return text


def split_name(name: str) -> tuple[str, str]:
    """(firstName, lastName) for 3CX, which shows "FirstName LastName".

    Split at the first space, which keeps the name as written (Russian "Фамилия Имя" stays
    in that order); a name that is a phone number (a contact made by a call is named by it)
    is never split: it goes whole into lastName, so "+7" never becomes a first name."""
    text = " ".join(name.split())
    if _PHONE_LIKE.fullmatch(text) and sum(c.isdigit() for c in text) >= 3:
        return "", text
    first, _, last = text.partition(" ")
    return first, last


def _call_type(fields: Mapping[str, str]) -> tuple[Direction, EndStatus]:
    raw = fields.get("CallType", "").strip()
    if not raw:
        raise ProviderError(400, "field 'CallType' is missing")
    try:
        return _CALL_TYPES[raw.lower()]
    except KeyError:
        raise ProviderError(400, f"unknown CallType {raw[:40]!r}") from None


def _start(fields: Mapping[str, str]) -> datetime:
    start = utc_time(fields.get("CallStartTimeUTC"))
    if start is None:
        raise ProviderError(400, "field 'CallStartTimeUTC' is missing")
    return start


def _call_key(fields: Mapping[str, str]) -> str:
    parts = [
        fields.get("Number", "").strip(),
        _start(fields).isoformat(),
        fields.get("Agent", "").strip(),
        fields.get("CallType", "").strip(),
    ]
    return hashlib.sha1("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def accept(request: RawRequest) -> Accepted:
    """Lookups are answered, not stored; a journal entry's dedupe key is `3cx:journal:<call>`."""
    if _path(request) == "lookup":
        raw = request.query.get("number") or request.query.get("phone") or ""
        if not raw.strip():
            raise ProviderError(400, "query parameter 'number' is missing")
        number = lookup_number(raw)[:64]
        return Accepted(
            dedupe_key=bounded_key(PROVIDER, ["lookup", number]),
            call_key=None,
            event_type="lookup",
            store=False,
            lookup_number=number,
        )
    fields = request_fields(request)
    _call_type(fields)
    call_key = _call_key(fields)
    # Refuse badly formatted times now, while 3CX can log the error, not at processing time.
    utc_time(fields.get("CallEstablishedTimeUTC"))
    utc_time(fields.get("CallEndTimeUTC"))
    return Accepted(
        dedupe_key=f"{PROVIDER}:journal:{call_key}",
        call_key=call_key,
        event_type=f"journal:{fields['CallType'].strip().lower()}",
    )


def parse(request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
    """One `final` event per journal entry, plus a `recording` event when 3CX sends its URL."""
    if _path(request) == "lookup":
        return []
    fields = request_fields(request)
    direction, status = _call_type(fields)
    started = _start(fields)
    established = utc_time(fields.get("CallEstablishedTimeUTC")) if status == "answered" else None
    ended = utc_time(fields.get("CallEndTimeUTC"))
    talk = seconds(fields.get("DurationSeconds"))
    if talk is None:
        talk = seconds(fields.get("Duration"))  # 3CX's own hh:mm:ss text
    if status == "answered" and talk is None and established and ended:
        talk = max(int((ended - established).total_seconds()), 0)
    ring_until = established if status == "answered" else ended
    ring = max(int((ring_until - started).total_seconds()), 0) if ring_until else None
    call_id = _call_key(fields)
    final = CallEvent(
        provider=PROVIDER,
        provider_call_id=call_id,
        kind="final",
        occurred_at=ended or started,
        direction=direction,
        client_number=clip(fields.get("Number")),
        extension=clip(fields.get("Agent"), 64) or clip(fields.get("QueueExtension"), 64),
        status=status,
        started_at=started,
        answered_at=established,
        ended_at=ended or started,
        ring_seconds=ring,
        talk_seconds=talk if status == "answered" else 0,
        disposition=clip(fields.get("CallType"), 64),
    )
    events = [final]
    recording = clip(fields.get("RecordingUrl"), 1024)
    if recording:
        events.append(
            CallEvent(
                provider=PROVIDER,
                provider_call_id=call_id,
                kind="recording",
                occurred_at=final.occurred_at,
                recording=recording,
            )
        )
    return events


def _contact_url(request: RawRequest, contact_id: int) -> str | None:
    # The REST resource of the contact: 3CX wants a stable URL per contact to link to.
    base, marker, _ = request.url.partition("/webhooks/")
    return f"{base}/api/v1/contacts/{contact_id}" if marker else None


def _lookup_payload(request: RawRequest, number: str, lookup: LookupResult | None) -> Any:
    if lookup is None or lookup.contact_id is None:
        return {"found": False}
    first, last = split_name(lookup.contact_name or "")
    return {
        "found": True,
        "contactId": str(lookup.contact_id),
        "firstName": first,
        "lastName": last,
        "companyName": lookup.company_name or "",
        "phone": number,
        "ownerName": lookup.owner_name or "",
        "ownerExtension": lookup.owner_extension or "",
        "contactUrl": _contact_url(request, lookup.contact_id) or "",
    }


def reply(
    request: RawRequest, accepted: Accepted, lookup: LookupResult | None, options: ProviderOptions
) -> Reply:
    """Lookup: the flat JSON the template maps (`{"found": false}` if unknown); journal: an ack."""
    if accepted.lookup_number is not None:
        payload = _lookup_payload(request, accepted.lookup_number, lookup)
    else:
        payload = {"ok": True, "call_id": accepted.call_key}
    return Reply(body=json.dumps(payload, ensure_ascii=False), media_type="application/json")
