"""Zadarma and Novofon (classic) call notifications: one protocol, two accounts.

Wire format: POST form (sometimes multipart) with `event`, `pbx_call_id`, `call_start`…;
the `Signature` header is base64 of the lower-case hex HMAC-SHA1 of two or three fields
that depend on the event. The URL check is `GET ?zd_echo=<value>`, answered with the value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.events import CallEvent, Direction, EndStatus
from telephony_webhooks.providers.base import (
    RECEIVED_AT_HEADER,
    Accepted,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
    Reply,
    bounded_call_key,
    bounded_key,
    decode_form,
    display_name,
    received_at,
    same_secret,
)

_SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_IVR": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
_KNOWN_LAYOUTS = tuple(dict.fromkeys(_SIGNED_FIELDS.values()))
_EXTENSION = re.compile(r"^\d{1,6}$")
_SHORT_NUMBER = re.compile(r"^\d{2,5}$")
_MISSED = {"cancel", "no answer"}
_ASCII_SECONDS = re.compile(r"[0-9]{1,9}")
_PADDED_CALL_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# The fields of a CallEvent being built (see ZadarmaProvider.parse).
_Fields = dict[str, Any]


def sign_zadarma(fields: Mapping[str, str], secret: str) -> str:
    """The `Signature` header value Zadarma/Novofon send for these (decoded) form fields."""
    layout = _SIGNED_FIELDS.get(fields.get("event", ""), _SIGNED_FIELDS["NOTIFY_START"])
    return _signature(fields, layout, secret)


def _signature(fields: Mapping[str, str], layout: tuple[str, ...], secret: str) -> str:
    message = "".join(fields.get(name, "") for name in layout)
    digest = hmac.new(
        secret.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha1
    ).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class ZadarmaProvider:
    """The Zadarma protocol for one account kind (`zadarma` or `novofon`)."""

    def __init__(self, name: str, secret_setting: str) -> None:
        self.name = name
        self.secret_setting = secret_setting

    def verify(self, request: RawRequest, secrets: Mapping[str, str]) -> None:
        """Check the `Signature` header; the unsigned `zd_echo` URL check passes."""
        secret = secrets.get(self.secret_setting)
        if not secret:
            raise ProviderError(401, f"{self.secret_setting} is not configured")
        fields = _fields(request)
        if _is_echo(request, fields):
            return
        given = request.headers.get("signature")
        if not given:
            raise ProviderError(401, "missing Signature header")
        event = fields.get("event", "")
        # An event we do not know may still be signed the way the known ones are.
        layouts = (_SIGNED_FIELDS[event],) if event in _SIGNED_FIELDS else _KNOWN_LAYOUTS
        if not any(same_secret(given, _signature(fields, lay, secret)) for lay in layouts):
            raise ProviderError(401, "Signature does not match")

    def accept(self, request: RawRequest) -> Accepted:
        """Dedupe and call keys, event type, and the caller to look up on NOTIFY_START."""
        fields = _fields(request)
        if _is_echo(request, fields):
            echo = fields["zd_echo"]
            return Accepted(
                dedupe_key=bounded_key(self.name, ["zd_echo", echo]),
                call_key=None,
                event_type="zd_echo",
                store=False,
            )
        event = fields.get("event", "")
        if not event:
            raise ProviderError(400, "missing field: event")
        call_id = fields.get("pbx_call_id", "")
        if event not in _SIGNED_FIELDS:
            digest = hashlib.sha256(_canonical(fields).encode("utf-8", "surrogatepass")).hexdigest()
            return Accepted(
                dedupe_key=bounded_key(self.name, [event, digest]),
                call_key=bounded_call_key(call_id) if call_id else None,
                event_type=event[:64],
            )
        required = ["pbx_call_id"]
        required.append("call_id_with_rec" if event == "NOTIFY_RECORD" else "call_start")
        missing = [name for name in required if not fields.get(name)]
        if missing:
            raise ProviderError(400, f"missing field: {', '.join(missing)}")
        parts = [event, call_id]
        if event == "NOTIFY_RECORD":
            parts.append(fields["call_id_with_rec"])
        else:
            parts += [fields.get("internal", ""), fields["call_start"], fields.get("calltype", "")]
        if event == "NOTIFY_IVR":
            parts += [fields.get("wait_dtmf[name]", ""), fields.get("wait_dtmf[digits]", "")]
        return Accepted(
            dedupe_key=bounded_key(self.name, [*parts]),
            call_key=bounded_call_key(call_id),
            event_type=event,
            lookup_number=(fields.get("caller_id") or None) if event == "NOTIFY_START" else None,
        )

    def parse(self, request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
        """Normalized events of one stored notification ([] for ones that change nothing)."""
        fields = _fields(request)
        event = fields.get("event", "")
        call_id = fields.get("pbx_call_id", "")
        calltype = fields.get("calltype", "")
        if event not in _SIGNED_FIELDS or not call_id or calltype == "callback_leg1":
            # Leg 1 of a click-to-call rings the employee, not the client.
            return []
        if event == "NOTIFY_END" and calltype.startswith("callback"):
            # NOTIFY_OUT_END carries the outcome of a click-to-call.
            return []
        received = received_at(request)
        # Each event is built once from a dict of its fields (a chain of dataclass
        # replace() calls cost more than the rest of the parse: this runs on every webhook).
        base: _Fields = {
            "provider": self.name,
            "provider_call_id": bounded_call_key(call_id),
            "kind": "ringing",
            "occurred_at": received or datetime.now(UTC),
        }
        if event == "NOTIFY_RECORD":
            return [
                CallEvent(
                    **base | {"kind": "recording", "recording": fields.get("call_id_with_rec")}
                )
            ]
        started = _call_start(fields.get("call_start", ""), options.account_timezone)
        call = base | {"occurred_at": received or started, "started_at": started}
        if event.startswith("NOTIFY_OUT_"):
            return [CallEvent(**_outbound(call, fields, event, received))]
        return [CallEvent(**_inbound(call, fields, event, received))]

    def reply(
        self,
        request: RawRequest,
        accepted: Accepted,
        lookup: LookupResult | None,
        options: ProviderOptions,
    ) -> Reply:
        """Echo for `zd_echo`; caller name (and redirect) JSON for NOTIFY_START; else 200."""
        if accepted.event_type == "zd_echo":
            return Reply(body=_fields(request).get("zd_echo", ""))
        if accepted.event_type != "NOTIFY_START":
            return Reply()
        answer: dict[str, str | int] = {}
        name = display_name(lookup)
        if name:
            answer["caller_name"] = name
        extension = lookup.owner_extension if lookup else None
        if options.redirect_to_owner and extension and _EXTENSION.match(extension):
            # Return to the normal scenario if the owner does not pick up in 20 s.
            answer.update(redirect=extension, return_timeout=20)
        return Reply(body=json.dumps(answer, ensure_ascii=False), media_type="application/json")


ZADARMA = ZadarmaProvider("zadarma", "ZADARMA_SECRET")
NOVOFON = ZadarmaProvider("novofon", "NOVOFON_SECRET")


def _inbound(
    call: _Fields, fields: Mapping[str, str], event: str, received: datetime | None
) -> _Fields:
    """An inbound notification's fields added to `call` (its id, times and kind so far)."""
    caller = fields.get("caller_id") or None
    direction: Direction = "internal" if caller and _SHORT_NUMBER.match(caller) else "in"
    call = call | {
        "direction": direction,
        "client_number": None if direction == "internal" else caller,
        "our_number": fields.get("called_did") or fields.get("destination") or None,
    }
    if event in {"NOTIFY_START", "NOTIFY_IVR"}:
        return call
    if event == "NOTIFY_INTERNAL":
        return call | {"extension": fields.get("internal") or None}
    if event == "NOTIFY_ANSWER":
        return call | {
            "kind": "answered",
            "extension": fields.get("internal") or None,
            "answered_at": received,
        }
    answered = _answered(fields)
    status: EndStatus = "answered" if answered else "missed"
    return _final(call, fields, status, received)


def _outbound(
    call: _Fields, fields: Mapping[str, str], event: str, received: datetime | None
) -> _Fields:
    """An outbound notification's fields added to `call` (its id, times and kind so far)."""
    destination = fields.get("destination") or None
    internal_call = bool(destination and _SHORT_NUMBER.match(destination))
    our_number = fields.get("caller_id", "")
    call = call | {
        "direction": "internal" if internal_call else "out",
        "client_number": None if internal_call else destination,
        "our_number": our_number if our_number not in {"", "0"} else None,
        "extension": fields.get("internal") or None,
    }
    if event == "NOTIFY_OUT_START":
        return call
    disposition = fields.get("disposition", "").strip().lower()
    status: EndStatus
    if _answered(fields):
        status = "answered"
    elif disposition == "busy":
        status = "busy"
    elif disposition in _MISSED or not disposition:
        status = "missed"
    else:
        status = "failed"
    return _final(call, fields, status, received)


def _final(
    call: _Fields, fields: Mapping[str, str], status: EndStatus, received: datetime | None
) -> _Fields:
    talk = _seconds(fields.get("duration")) if status == "answered" else 0
    recorded = fields.get("is_recorded") == "1" and fields.get("call_id_with_rec")
    extension = fields.get("last_internal") or fields.get("internal") or call.get("extension")
    return call | {
        "kind": "final",
        "status": status,
        "talk_seconds": talk,
        "ended_at": received,
        "extension": extension or None,
        "disposition": fields.get("disposition") or None,
        "recording": fields.get("call_id_with_rec") if recorded else None,
    }


def _answered(fields: Mapping[str, str]) -> bool:
    disposition = fields.get("disposition", "").strip().lower()
    if disposition:
        return disposition == "answered"
    return (_seconds(fields.get("duration")) or 0) > 0


def _fields(request: RawRequest) -> Mapping[str, str]:
    if request.method.upper() == "GET":
        return request.query
    if request.form:
        return request.form
    return decode_form(request.body, request.content_type)


def _is_echo(request: RawRequest, fields: Mapping[str, str]) -> bool:
    return request.method.upper() == "GET" and "zd_echo" in fields


def _call_start(value: str, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProviderError(500, f"unknown account time zone {timezone!r}") from exc
    text = value.strip()
    try:
        if _PADDED_CALL_START.fullmatch(text):  # as Zadarma writes it: the quick parse
            wall_clock = datetime.fromisoformat(text)
        else:
            wall_clock = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
        return wall_clock.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        reason = f"call_start is not a YYYY-MM-DD HH:MM:SS time: {value!r}"
        raise ProviderError(400, reason[:200]) from exc


def _seconds(value: str | None) -> int | None:
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    text = (value or "").strip()
    if not _ASCII_SECONDS.fullmatch(text):
        return None
    return int(text)


def _canonical(fields: Mapping[str, str]) -> str:
    return json.dumps(sorted(fields.items()), ensure_ascii=False)


__all__ = ["NOVOFON", "RECEIVED_AT_HEADER", "ZADARMA", "ZadarmaProvider", "sign_zadarma"]
