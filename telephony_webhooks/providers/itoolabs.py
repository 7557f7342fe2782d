"""ITooLabs "CRM API" pushes (MegaFon VATS, Gravitel, Kcell, Moldcell…).

Wire format: POST form (JSON tolerated) with `cmd=contact|event|history|rating` and the
shared `crm_token` (no HMAC). `contact` asks, while the caller waits, who the caller is and
who is responsible for them; `history` is the final record of the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

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
    decode_json,
    display_name,
    received_at,
    same_secret,
)

_HISTORY_STATUS: dict[str, EndStatus] = {
    "success": "answered",
    "missed": "missed",
    "cancel": "missed",
    "busy": "busy",
    "notavailable": "failed",
    "notallowed": "failed",
    "notfound": "failed",
}
_RESPONSIBLE = re.compile(r"^[\w.@+-]{1,64}$")
_ASCII_SECONDS = re.compile(r"[0-9]{1,8}")
_MAX_SECONDS = 10**7


def sign_itoolabs(fields: Mapping[str, str], token: str) -> dict[str, str]:
    """`fields` as the PBX sends them: with the shared `crm_token`."""
    return {**fields, "crm_token": token}


class ITooLabsProvider:
    """The ITooLabs CRM API protocol."""

    name = "itoolabs"

    def verify(self, request: RawRequest, secrets: Mapping[str, str]) -> None:
        """Check the `crm_token` field against ITOOLABS_TOKEN."""
        token = secrets.get("ITOOLABS_TOKEN")
        if not token:
            raise ProviderError(401, "ITOOLABS_TOKEN is not configured")
        given = _fields(request).get("crm_token")
        if not given:
            raise ProviderError(401, "missing crm_token")
        if not same_secret(given, token):
            raise ProviderError(401, "crm_token does not match")

    def accept(self, request: RawRequest) -> Accepted:
        """Dedupe key cmd+type+callid+user, call key callid; `contact` is a look-up."""
        fields = _fields(request)
        cmd = fields.get("cmd", "").strip().lower()
        if not cmd:
            raise ProviderError(400, "missing field: cmd")
        callid = fields.get("callid", "")
        if cmd == "contact":
            phone = fields.get("phone", "")
            if not phone:
                raise ProviderError(400, "missing field: phone")
            return Accepted(
                dedupe_key=bounded_key("itoolabs", [cmd, callid, phone]),
                call_key=bounded_call_key(callid) if callid else None,
                event_type=cmd,
                store=False,
                lookup_number=phone,
            )
        if cmd in {"event", "history", "rating"} and not callid:
            raise ProviderError(400, "missing field: callid")
        if cmd in {"event", "history"} and not fields.get("type"):
            raise ProviderError(400, "missing field: type")
        kind = fields.get("type", "").strip().lower()
        return Accepted(
            dedupe_key=bounded_key("itoolabs", [cmd, kind, callid, fields.get("user", "")]),
            call_key=bounded_call_key(callid) if callid else None,
            event_type=f"{cmd}:{kind}"[:64] if kind else cmd[:64],
        )

    def parse(self, request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
        """Normalized events of one stored push ([] for ones that change nothing)."""
        fields = _fields(request)
        cmd = fields.get("cmd", "").strip().lower()
        callid = fields.get("callid", "")
        if not callid:
            return []
        base = CallEvent(
            provider=self.name,
            provider_call_id=bounded_call_key(callid),
            kind="ringing",
            occurred_at=received_at(request) or datetime.now(UTC),
            client_number=fields.get("phone") or None,
            our_number=fields.get("diversion") or None,
            extension=_extension(fields),
        )
        if cmd == "event":
            return _event(base, fields)
        if cmd == "history":
            return [_history(base, fields)]
        return []

    def reply(
        self,
        request: RawRequest,
        accepted: Accepted,
        lookup: LookupResult | None,
        options: ProviderOptions,
    ) -> Reply:
        """`contact` gets the caller's name and responsible employee (or `{}`); else 200."""
        if accepted.event_type != "contact":
            return Reply()
        answer: dict[str, str] = {}
        name = display_name(lookup)
        if name:
            answer["contact_name"] = name
        responsible = lookup.owner_extension if lookup else None
        # Setting `responsible` makes the PBX route the call there, hence the option.
        if options.redirect_to_owner and responsible and _RESPONSIBLE.match(responsible):
            answer["responsible"] = responsible
        return Reply(body=json.dumps(answer, ensure_ascii=False), media_type="application/json")


ITOOLABS = ITooLabsProvider()


def _event(base: CallEvent, fields: Mapping[str, str]) -> list[CallEvent]:
    kind = fields.get("type", "").strip().upper()
    stated = fields.get("direction", "").strip().lower()
    direction: Direction | None = "in" if stated == "in" else "out" if stated == "out" else None
    if kind == "INCOMING":
        return [replace(base, direction=direction or "in")]
    if kind == "OUTGOING":
        return [replace(base, direction=direction or "out")]
    if kind == "ACCEPTED":
        return [replace(base, kind="answered", direction=direction, answered_at=base.occurred_at)]
    if kind == "COMPLETED":
        return [replace(base, kind="ended", direction=direction, status="answered")]
    if kind == "CANCELLED":
        # This employee stopped ringing: the caller gave up or a colleague answered, so the
        # call's status is left to `history`.
        return [replace(base, kind="ended", direction=direction)]
    return []  # TRANSFERRED and unknown types: the next INCOMING/history tells the story


def _history(base: CallEvent, fields: Mapping[str, str]) -> CallEvent:
    stated = fields.get("type", "").strip().lower()
    direction: Direction | None = "in" if stated == "in" else "out" if stated == "out" else None
    raw_status = fields.get("status", "").strip()
    status = _HISTORY_STATUS.get(raw_status.lower(), "failed")
    if direction == "in" and status != "answered":
        status = "missed"  # an inbound caller who was not served is a call to return
    started = _timestamp(fields.get("start", ""))
    duration = _seconds(fields.get("duration"))
    try:
        ended = started + timedelta(seconds=duration) if duration is not None else None
    except OverflowError:  # a start in year 9999 is garbage, not a reason to fail the call
        ended = None
    answered = status == "answered"
    return replace(
        base,
        kind="final",
        occurred_at=ended or started,
        direction=direction,
        status=status,
        started_at=started,
        ended_at=ended,
        talk_seconds=duration if answered else 0,
        ring_seconds=None if answered else duration,
        recording=fields.get("link") or None,
        disposition=raw_status or None,
    )


def _fields(request: RawRequest) -> Mapping[str, str]:
    if request.form:
        return request.form
    body = request.body.lstrip()
    if "json" in request.content_type.lower() or body.startswith(b"{"):
        # One public module notes the spec's example is JSON, so some PBXs may send it.
        data = decode_json(request.body)
        return {key: _scalar(value) for key, value in data.items()}
    return decode_form(request.body, request.content_type)


def _scalar(value: object) -> str:
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value)


def _extension(fields: Mapping[str, str]) -> str | None:
    ext = fields.get("ext", "").strip()
    if ext:
        return ext
    user = fields.get("user", "").strip()
    # A group login (g_<uuid>@tenant) names no person; users map by login as well.
    return user if user and not user.startswith("g_") else None


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ")  # noqa: DTZ007
    except ValueError as exc:
        raise ProviderError(400, f"start is not YYYYmmddTHHMMSSZ: {value!r}"[:200]) from exc
    return moment.replace(tzinfo=UTC)


def _seconds(value: str | None) -> int | None:
    text = (value or "").strip()
    if not _ASCII_SECONDS.fullmatch(text) or int(text) > _MAX_SECONDS:
        return None
    return int(text)


__all__ = ["ITOOLABS", "RECEIVED_AT_HEADER", "ITooLabsProvider", "sign_itoolabs"]
