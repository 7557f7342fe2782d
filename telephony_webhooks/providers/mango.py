"""Mango Office VPBX API notifications (API Realtime).

Wire format: POST form with `vpbx_api_key`, `sign` and `json`, to the base URL plus an event
path (`events/call`, `events/summary`, `events/recording`, `events/record/added`, …);
`sign = sha256_hex(api_key + json + salt)` over the exact `json` string received. Values are
strings or integers depending on the doc version, so every field is read leniently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

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
    same_secret,
)

_CALL_STATES: dict[str, EventKind] = {
    "appeared": "ringing",
    "connected": "answered",
    "disconnected": "ended",
}
_DIRECTIONS: dict[str, Direction] = {"0": "internal", "1": "in", "2": "out"}
_BUSY = {"1121"}
_RECORDING_SAVED = {"", "1000"}
_ASCII_EPOCH = re.compile(r"[0-9]{1,12}")
# Epoch seconds outside this range are garbage, not a date (and would overflow datetime).
_MAX_EPOCH = 253_402_300_799


def sign_mango(api_key: str, json_text: str, salt: str) -> str:
    """The `sign` form field Mango sends with `json_text`."""
    return hashlib.sha256((api_key + json_text + salt).encode("utf-8", "surrogatepass")).hexdigest()


class MangoProvider:
    """Mango Office: events/call legs, events/summary, recording events."""

    name = "mango"

    def verify(self, request: RawRequest, secrets: Mapping[str, str]) -> None:
        """Check `vpbx_api_key` and `sign`; the cabinet's connection check has no `json`."""
        api_key = secrets.get("MANGO_API_KEY")
        salt = secrets.get("MANGO_API_SALT")
        if not api_key or not salt:
            raise ProviderError(401, "MANGO_API_KEY / MANGO_API_SALT are not configured")
        fields = _form(request)
        given_key = fields.get("vpbx_api_key")
        if "json" not in fields:
            # The connection check stores nothing, so it only has to not name a foreign key.
            if given_key is not None and not same_secret(given_key, api_key):
                raise ProviderError(401, "vpbx_api_key is not ours")
            return
        if given_key is None or not same_secret(given_key, api_key):
            raise ProviderError(401, "missing or foreign vpbx_api_key")
        given_sign = fields.get("sign")
        if not given_sign:
            raise ProviderError(401, "missing sign")
        if not same_secret(given_sign.lower(), sign_mango(api_key, fields["json"], salt)):
            raise ProviderError(401, "sign does not match")

    def accept(self, request: RawRequest) -> Accepted:
        """Dedupe key per event kind (leg+seq, entry, recording+state); call key = entry_id."""
        fields = _form(request)
        path = _event_path(request)
        if "json" not in fields:
            return Accepted(
                dedupe_key="mango:check", call_key=None, event_type=path[:64], store=False
            )
        data = decode_json(fields["json"].encode("utf-8", "surrogatepass"))
        entry_id = _text(data.get("entry_id"))
        call_key = bounded_call_key(entry_id) if entry_id else None
        if path == "events/call":
            parts = [_require(data, "call_id"), _require(data, "seq")]
            _require(data, "entry_id")
        elif path == "events/summary":
            parts = [_require(data, "entry_id")]
        elif path == "events/recording":
            parts = [_require(data, "recording_id"), _text(data.get("recording_state")) or ""]
        elif path == "events/record/added":
            parts = [_require(data, "recording_id")]
        else:
            parts = [hashlib.sha256(fields["json"].encode("utf-8", "surrogatepass")).hexdigest()]
        return Accepted(
            dedupe_key=bounded_key(f"mango:{path}", list(parts)),
            call_key=call_key,
            event_type=path[:64],
        )

    def parse(self, request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
        """Normalized events of one stored notification ([] for ones that change nothing)."""
        fields = _form(request)
        if "json" not in fields:
            return []
        data = decode_json(fields["json"].encode("utf-8", "surrogatepass"))
        entry_id = _text(data.get("entry_id"))
        if not entry_id:
            return []
        path = _event_path(request)
        base = CallEvent(
            provider=self.name,
            provider_call_id=bounded_call_key(entry_id),
            kind="ringing",
            occurred_at=datetime.fromtimestamp(0, UTC),
        )
        if path == "events/call":
            return _leg_event(base, data)
        if path == "events/summary":
            return [_summary(base, data)]
        if path in {"events/recording", "events/record/added"}:
            return _recording(base, data, path)
        return []

    def reply(
        self,
        request: RawRequest,
        accepted: Accepted,
        lookup: LookupResult | None,
        options: ProviderOptions,
    ) -> Reply:
        """Mango reads only the status code of its notifications."""
        return Reply()


MANGO = MangoProvider()


def _leg_event(base: CallEvent, data: Mapping[str, Any]) -> list[CallEvent]:
    kind = _CALL_STATES.get((_text(data.get("call_state")) or "").lower())
    if kind is None:  # OnHold and unknown states change nothing we track
        return []
    source, target = _party(data.get("from")), _party(data.get("to"))
    source_ext, target_ext = _text(source.get("extension")), _text(target.get("extension"))
    direction: Direction
    client: str | None
    extension: str | None
    if source_ext and target_ext:
        direction, client, extension = "internal", None, target_ext
    elif source_ext:
        direction, client, extension = "out", _text(target.get("number")), source_ext
    else:
        direction, client, extension = "in", _text(source.get("number")), target_ext
    if kind == "ended" and extension is None:
        # An IVR/queue leg ends when the call moves on to an employee: not the call's end.
        return []
    moment = _epoch(data.get("timestamp"), "timestamp")
    reason = _text(data.get("disconnect_reason"))
    # A leg's end is not the call's: group ringing ends the other legs while one talks, so
    # the status stays unknown here and events/summary settles it.
    return [
        replace(
            base,
            kind=kind,
            occurred_at=moment,
            direction=direction,
            client_number=client,
            our_number=_text(target.get("line_number")),
            extension=extension,
            answered_at=moment if kind == "answered" else None,
            disposition=reason if kind == "ended" else None,
        )
    ]


def _summary(base: CallEvent, data: Mapping[str, Any]) -> CallEvent:
    direction = _DIRECTIONS.get(_text(data.get("call_direction")) or "")
    source, target = _party(data.get("from")), _party(data.get("to"))
    if direction == "out":
        client, extension = _text(target.get("number")), _text(source.get("extension"))
    elif direction == "internal":
        client, extension = None, _text(source.get("extension"))
    else:
        client, extension = _text(source.get("number")), _text(target.get("extension"))
    created = _epoch(data.get("create_time"), "create_time")
    ended = _optional_epoch(data.get("end_time")) or created
    talk_start = _optional_epoch(data.get("talk_time"))
    forwarded = _optional_epoch(data.get("forward_time"))
    reason = _text(data.get("disconnect_reason")) or ""
    # The doc's own missed example says entry_result=1, so talk_time decides.
    status: EndStatus
    if talk_start is not None:
        status = "answered"
    elif direction == "out" and reason in _BUSY:
        status = "busy"
    elif direction == "out" and reason[:1] in {"2", "3", "4", "5"}:
        status = "failed"
    else:
        status = "missed"
    ring_from = forwarded or created
    ring_until = talk_start or ended
    return replace(
        base,
        kind="final",
        occurred_at=ended,
        direction=direction,
        client_number=client,
        our_number=_text(data.get("line_number")),
        extension=extension,
        status=status,
        started_at=created,
        answered_at=talk_start,
        ended_at=ended,
        ring_seconds=max(0, int((ring_until - ring_from).total_seconds())),
        talk_seconds=max(0, int((ended - talk_start).total_seconds())) if talk_start else 0,
        disposition=reason or None,
    )


def _recording(base: CallEvent, data: Mapping[str, Any], path: str) -> list[CallEvent]:
    recording_id = _text(data.get("recording_id"))
    if not recording_id:
        return []
    if path == "events/recording":
        state = (_text(data.get("recording_state")) or "").lower()
        saved = (_text(data.get("completion_code")) or "") in _RECORDING_SAVED
        if state != "completed" or not saved:
            return []
    extension = _text(data.get("extension"))
    return [
        replace(
            base,
            kind="recording",
            occurred_at=_epoch(data.get("timestamp"), "timestamp"),
            recording=recording_id,
            extension=extension,
        )
    ]


def _form(request: RawRequest) -> Mapping[str, str]:
    return request.form or decode_form(request.body, request.content_type)


def _event_path(request: RawRequest) -> str:
    return request.path.strip("/").lower()


def _party(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    """A string-or-integer field as a non-empty string; anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _require(data: Mapping[str, Any], name: str) -> str:
    value = _text(data.get(name))
    if value is None:
        raise ProviderError(400, f"missing field: {name}")
    return value


def _optional_epoch(value: object) -> datetime | None:
    """Epoch seconds; `0` and garbage mean "did not happen"."""
    text = _text(value)
    if text is None or not _ASCII_EPOCH.fullmatch(text) or not 0 < int(text) <= _MAX_EPOCH:
        return None
    return datetime.fromtimestamp(int(text), UTC)


def _epoch(value: object, name: str) -> datetime:
    moment = _optional_epoch(value)
    if moment is None:
        raise ProviderError(400, f"{name} is not epoch seconds: {value!r}"[:200])
    return moment


__all__ = ["MANGO", "MangoProvider", "sign_mango"]
