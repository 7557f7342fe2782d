"""Signed sample call scenarios for `perezvon simulate call` (pure: builds requests, sends none).

`build_call(provider, ...)` returns the HTTP requests a PBX would send for one call, in
order, signed with the deployment's own secrets through the adapters' `sign_*` helpers:

- `answered`: an inbound call rings the extension, the extension answers, they talk.
- `missed`: an inbound call rings the extension and the caller gives up.
- `outbound`: the extension calls the number and the client answers.
- `recorded`: `answered`, plus the recording notification.

`base_url` is the URL the server believes it is called at (its `PEREZVON_PUBLIC_URL`, or the
URL the requests go to): Twilio signs the full URL. Times are those of a call that has just
ended (it started `RING + TALK` seconds before `now`), in each provider's own format.
"""

from __future__ import annotations

import json
import secrets as random_tokens
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from telephony_webhooks.providers import generic, threecx, twilio
from telephony_webhooks.providers.itoolabs import sign_itoolabs
from telephony_webhooks.providers.mango import sign_mango
from telephony_webhooks.providers.registry import PROVIDERS
from telephony_webhooks.providers.zadarma import sign_zadarma

Kind = Literal["answered", "missed", "outbound", "recorded"]
KINDS: tuple[Kind, ...] = ("answered", "missed", "outbound", "recorded")
PROVIDER_NAMES = ("zadarma", "novofon", "mango", "itoolabs", "twilio", "generic", "3cx")
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
DEFAULT_OUR_NUMBER = "+74951234567"
RING_SECONDS = 12
TALK_SECONDS = 95
MISSED_EXTRA_RING_SECONDS = 8


class SimulateError(Exception):
    """The scenario cannot be built (unknown provider, a secret not set here)."""


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request of a scenario; `path` includes the query string, if any."""

    label: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Call:
    """What the scenario is about; times are UTC."""

    kind: Kind
    client: str  # the outside number, as the user typed it
    extension: str
    our_number: str
    token: str  # unique per simulated call: ids are derived from it
    started: datetime
    answered: datetime
    ended: datetime
    secrets: Mapping[str, str]
    base_url: str
    timezone: str

    @property
    def inbound(self) -> bool:
        return self.kind != "outbound"

    @property
    def talks(self) -> bool:
        return self.kind != "missed"

    @property
    def recorded(self) -> bool:
        return self.kind == "recorded"

    @property
    def talk_seconds(self) -> int:
        return int((self.ended - self.answered).total_seconds()) if self.talks else 0

    @property
    def client_digits(self) -> str:
        """The number without '+', as the Russian PBXs send it."""
        return "".join(ch for ch in self.client if ch.isdigit())

    @property
    def our_digits(self) -> str:
        return "".join(ch for ch in self.our_number if ch.isdigit())

    def epoch(self, moment: datetime) -> int:
        return int(moment.timestamp())

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            raise SimulateError(f"PEREZVON_{name} is not set here (use the server's value)")
        return value


def required_settings(provider: str) -> str:
    """The settings that enable `provider`, phrased for an error message."""
    return PROVIDERS[provider].setting_names()


def build_call(
    provider: str,
    *,
    client: str,
    extension: str,
    kind: Kind = "answered",
    secrets: Mapping[str, str],
    base_url: str = "http://127.0.0.1:8000",
    our_number: str | None = None,
    timezone: str = "Europe/Moscow",
    now: datetime | None = None,
    token: str | None = None,
) -> list[SimRequest]:
    """The signed requests of one simulated call, in the order the PBX sends them."""
    builder = _BUILDERS.get(provider)
    if builder is None:
        raise SimulateError(f"unknown provider {provider!r}; use {', '.join(PROVIDER_NAMES)}")
    if kind not in KINDS:
        raise SimulateError(f"unknown scenario {kind!r}; use {', '.join(KINDS)}")
    if not client.strip() or not extension.strip():
        raise SimulateError("both the number (--from) and the extension (--to) are needed")
    if not PROVIDERS[provider].enabled(secrets):
        raise SimulateError(
            f"{provider} cannot be signed: set {required_settings(provider)} "
            "(the same value as on the server)"
        )
    ended = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    # The call ends now (PBXs that send no end time are read at their receive time).
    lasted = RING_SECONDS + (MISSED_EXTRA_RING_SECONDS if kind == "missed" else TALK_SECONDS)
    started = ended - timedelta(seconds=lasted)
    call = Call(
        kind=kind,
        client=client.strip(),
        extension=extension.strip(),
        our_number=our_number or DEFAULT_OUR_NUMBER,
        token=token or random_tokens.token_hex(8),
        started=started,
        answered=started + timedelta(seconds=RING_SECONDS),
        ended=ended,
        secrets=secrets,
        base_url=base_url.rstrip("/"),
        timezone=timezone,
    )
    return builder(provider, call)


# --- Zadarma / Novofon ---------------------------------------------------------------------


def _zadarma(provider: str, call: Call) -> list[SimRequest]:
    secret = call.secret("NOVOFON_SECRET" if provider == "novofon" else "ZADARMA_SECRET")
    local_start = call.started.astimezone(ZoneInfo(call.timezone)).strftime("%Y-%m-%d %H:%M:%S")
    events: list[dict[str, str]]
    if call.inbound:
        call_id = f"in_{call.token}"
        head = {"call_start": local_start, "pbx_call_id": call_id, "caller_id": call.client_digits}
        events = [
            {"event": "NOTIFY_START", **head, "called_did": call.our_digits},
            {"event": "NOTIFY_INTERNAL", **head, "called_did": call.our_digits}
            | {"internal": call.extension, "calltype": "normal"},
        ]
        if call.talks:
            events.append(
                {"event": "NOTIFY_ANSWER", **head, "internal": call.extension}
                | {"destination": call.our_digits, "calltype": "normal"}
            )
        end = {"event": "NOTIFY_END", **head, "called_did": call.our_digits}
        if call.talks:
            end |= {"internal": call.extension, "last_internal": call.extension}
        recording = f"{call.epoch(call.started)}.{int(call.token[:6], 16)}"
        end |= {
            "duration": str(call.talk_seconds),
            "status_code": "16",
            "is_recorded": "1" if call.recorded else "0",
        }
        if call.recorded:
            end["call_id_with_rec"] = recording
        end |= {"calltype": "normal", "disposition": "answered" if call.talks else "cancel"}
        events.append(end)
        if call.recorded:
            events.append(
                {"event": "NOTIFY_RECORD", "call_id_with_rec": recording, "pbx_call_id": call_id}
            )
    else:
        head = {"call_start": local_start, "pbx_call_id": f"out_{call.token}"}
        head |= {"caller_id": call.our_digits, "internal": call.extension}
        head |= {"destination": call.client_digits}
        end = {"event": "NOTIFY_OUT_END", **head, "duration": str(call.talk_seconds)}
        end |= {"status_code": "16", "is_recorded": "0", "calltype": "normal"}
        end |= {"disposition": "answered"}
        events = [{"event": "NOTIFY_OUT_START", **head, "calltype": "normal"}, end]
    return [
        _form(
            fields["event"],
            f"/webhooks/{provider}",
            fields,
            {"Signature": sign_zadarma(fields, secret)},
        )
        for fields in events
    ]


# --- Mango Office --------------------------------------------------------------------------


def _mango(provider: str, call: Call) -> list[SimRequest]:
    api_key, salt = call.secret("MANGO_API_KEY"), call.secret("MANGO_API_SALT")
    entry_id = f"MTAx{call.token}OjEwMQ=="
    leg = f"MToxMDA1{call.token}"
    employee = {
        "extension": call.extension,
        "number": f"sip:{call.extension}@vpbx.mangosip.ru",
    }
    client = {"number": call.client_digits}
    if call.inbound:
        source, target = client, {**employee, "line_number": call.our_digits}
    else:
        source, target = employee, {**client, "line_number": call.our_digits}
    location = "abonent"

    def leg_event(state: str, seq: int, at: datetime, reason: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "entry_id": entry_id,
            "call_id": leg,
            "timestamp": call.epoch(at),
            "seq": seq,
            "call_state": state,
            "location": location,
            "from": source,
            "to": target,
        }
        if reason is not None:
            payload["disconnect_reason"] = reason
        return payload

    bodies: list[tuple[str, dict[str, Any]]] = [
        ("events/call", leg_event("Appeared", 1, call.started))
    ]
    if call.talks:
        bodies.append(("events/call", leg_event("Connected", 2, call.answered)))
    bodies.append(("events/call", leg_event("Disconnected", 3, call.ended, 1110)))
    summary: dict[str, Any] = {
        "entry_id": entry_id,
        "call_direction": 1 if call.inbound else 2,
        "from": {"extension": call.extension} if not call.inbound else client,
        "to": {"extension": call.extension, "number": call.our_digits} if call.inbound else client,
        "line_number": call.our_digits,
        "create_time": call.epoch(call.started),
        "forward_time": call.epoch(call.started) + 1,
        "end_time": call.epoch(call.ended),
        "entry_result": 1,
        "disconnect_reason": 1110,
    }
    if call.talks:
        summary["talk_time"] = call.epoch(call.answered)
    bodies.append(("events/summary", summary))
    if call.recorded:
        recording_id = f"MToxMDA1MjE3ODo{call.token}"
        bodies.append(
            (
                "events/recording",
                {
                    "entry_id": entry_id,
                    "call_id": leg,
                    "recording_id": recording_id,
                    "recording_state": "Completed",
                    "seq": 1,
                    "extension": call.extension,
                    "timestamp": call.epoch(call.ended) + 1,
                    "completion_code": 1000,
                },
            )
        )
    requests = []
    for path, payload in bodies:
        json_text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        fields = {
            "vpbx_api_key": api_key,
            "sign": sign_mango(api_key, json_text, salt),
            "json": json_text,
        }
        label = f"{path} {payload.get('call_state', '')}".strip()
        requests.append(_form(label, f"/webhooks/mango/{path}", fields))
    return requests


# --- ITooLabs (MegaFon VATS…) --------------------------------------------------------------


def _itoolabs(provider: str, call: Call) -> list[SimRequest]:
    token = call.secret("ITOOLABS_TOKEN")
    callid = call.token
    user = f"operator{call.extension}"
    person = {"user": user, "ext": call.extension}
    start = call.started.strftime("%Y%m%dT%H%M%SZ")
    pushes: list[dict[str, str]]
    if call.inbound:
        common = {"phone": call.client_digits, "diversion": call.our_digits, "callid": callid}
        pushes = [
            {"cmd": "contact", **common},
            {"cmd": "event", "type": "INCOMING", **person, "direction": "in", **common},
        ]
        history = {"cmd": "history", "type": "in", **common, "start": start}
        if call.talks:
            pushes.append(
                {"cmd": "event", "type": "ACCEPTED", **person, "direction": "in"} | common
            )
            pushes.append(
                {"cmd": "event", "type": "COMPLETED", **person, "direction": "in"} | common
            )
            history |= {"status": "Success", "duration": str(call.talk_seconds), **person}
            if call.recorded:
                history["link"] = f"https://vats.megapbx.ru/records/{callid}.mp3"
        else:
            pushes.append(
                {"cmd": "event", "type": "CANCELLED", **person, "direction": "in"} | common
            )
            history |= {"status": "missed", "duration": str(RING_SECONDS + 8), **person}
    else:
        common = {"phone": call.client_digits, **person, "callid": callid, "direction": "out"}
        pushes = [{"cmd": "event", "type": t, **common} for t in ("OUTGOING", "ACCEPTED")]
        pushes.append({"cmd": "event", "type": "COMPLETED", **common})
        history = {"cmd": "history", "type": "out", "status": "Success"}
        history |= {"phone": call.client_digits, **person, "start": start}
        history |= {"duration": str(call.talk_seconds), "callid": callid}
    pushes.append(history)
    requests = []
    for fields in pushes:
        label = f"{fields['cmd']} {fields.get('type', '')}".strip()
        requests.append(_form(label, "/webhooks/itoolabs", sign_itoolabs(fields, token)))
    return requests


# --- Twilio --------------------------------------------------------------------------------


def _twilio(provider: str, call: Call) -> list[SimRequest]:
    auth_token = call.secret(twilio.SECRET_NAME)
    account = "AC" + call.token * 2
    parent, child = "CA" + call.token * 2, "CA" + call.token[::-1] * 2
    agent = f"sip:{call.extension}@perezvon.sip.twilio.com"
    if call.inbound:
        parent_party = {"From": call.client, "To": call.our_number}
        child_party = {"From": call.client, "To": agent}
    else:  # a softphone calls out: Twilio receives it as an inbound call from the agent
        parent_party = {"From": f"client:{call.extension}", "To": call.client}
        child_party = {"From": call.our_number, "To": call.client}
    common = {"AccountSid": account, "ApiVersion": "2010-04-01"}

    def stamp(at: datetime) -> str:
        return format_datetime(at)

    def parent_status(status: str, seq: int, at: datetime, **extra: str) -> dict[str, str]:
        return {
            **common,
            "CallSid": parent,
            **parent_party,
            "Direction": "inbound",
            "CallStatus": status,
            "SequenceNumber": str(seq),
            "Timestamp": stamp(at),
            "CallbackSource": "call-progress-events",
            **extra,
        }

    def leg_status(status: str, seq: int, at: datetime, **extra: str) -> dict[str, str]:
        return {
            **common,
            "CallSid": child,
            "ParentCallSid": parent,
            **child_party,
            "Direction": "outbound-dial",
            "CallStatus": status,
            "SequenceNumber": str(seq),
            "Timestamp": stamp(at),
            "CallbackSource": "call-progress-events",
            **extra,
        }

    result = "completed" if call.talks else "no-answer"
    total = str(int((call.ended - call.started).total_seconds()))
    dial = {
        **common,
        "CallSid": parent,
        **parent_party,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        "DialCallSid": child,
        "DialCallStatus": result,
        "DialCallDuration": str(call.talk_seconds),
        "DialBridged": "true" if call.talks else "false",
    }
    steps: list[tuple[str, str, dict[str, str]]] = [
        ("status", "ringing", parent_status("ringing", 0, call.started)),
        ("status", "in-progress", parent_status("in-progress", 1, call.started)),
        ("status", "leg ringing", leg_status("ringing", 0, call.started)),
    ]
    if call.talks:
        steps.append(("status", "leg in-progress", leg_status("in-progress", 1, call.answered)))
        steps.append(("dial-action", "dial completed", dial))
        steps.append(
            (
                "status",
                "leg completed",
                leg_status("completed", 2, call.ended, CallDuration=str(call.talk_seconds)),
            )
        )
    else:
        steps.append(("status", "leg no-answer", leg_status("no-answer", 1, call.ended)))
        steps.append(("dial-action", "dial no-answer", dial))
    steps.append(
        ("status", "completed", parent_status("completed", 3, call.ended, CallDuration=total))
    )
    if call.recorded:
        recording_sid = "RE" + call.token * 2
        steps.append(
            (
                "recording",
                "recording completed",
                {
                    **common,
                    "CallSid": parent,
                    "RecordingSid": recording_sid,
                    "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{account}"
                    f"/Recordings/{recording_sid}",
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(call.talk_seconds),
                    "RecordingChannels": "2",
                    "RecordingStartTime": stamp(call.answered),
                    "RecordingSource": "DialVerb",
                },
            )
        )
    requests = []
    for path, label, fields in steps:
        url_path = f"/webhooks/twilio/{path}"
        signature = twilio.sign_form(auth_token, call.base_url + url_path, fields)
        requests.append(_form(label, url_path, fields, {"X-Twilio-Signature": signature}))
    return requests


# --- generic (Asterisk, FreePBX, any PBX) --------------------------------------------------


def _generic(provider: str, call: Call) -> list[SimRequest]:
    headers = generic.sign_headers(call.secret(generic.SECRET_NAME))
    call_id = f"{call.epoch(call.started)}.{int(call.token[:4], 16)}"
    direction = "in" if call.inbound else "out"
    if call.inbound:
        parties = {"from": call.client, "to": call.extension, "did": call.our_number}
    else:
        parties = {"from": call.extension, "to": call.client, "did": call.our_number}
    base = {"call_id": call_id, "direction": direction, **parties}
    started = call.started.isoformat()
    events: list[dict[str, Any]] = [{"event": "start", **base, "started_at": started}]
    if call.inbound:
        events.append(
            {"event": "ringing", **base, "extension": call.extension, "started_at": started}
        )
    if call.talks:
        events.append(
            {
                "event": "answer",
                **base,
                "extension": call.extension,
                "answered_at": call.answered.isoformat(),
            }
        )
    duration = int((call.ended - call.started).total_seconds())
    events.append(
        {
            "event": "end",
            **base,
            "extension": call.extension,
            "status": "answered" if call.talks else "missed",
            "dialstatus": "ANSWER" if call.talks else "NOANSWER",
            "duration": duration,
            "billsec": call.talk_seconds,
            "started_at": started,
            "answered_at": call.answered.isoformat() if call.talks else None,
            "ended_at": call.ended.isoformat(),
        }
    )
    if call.recorded:
        events.append(
            {
                "event": "record",
                **base,
                "recording": f"https://pbx.example.com/monitor/{call_id}.wav",
            }
        )
    return [
        SimRequest(
            label=str(fields["event"]),
            method="POST",
            path="/webhooks/generic",
            headers={**headers, "Content-Type": JSON},
            body=json.dumps(
                {k: v for k, v in fields.items() if v is not None}, ensure_ascii=False
            ).encode(),
        )
        for fields in events
    ]


# --- 3CX -----------------------------------------------------------------------------------


def _threecx(provider: str, call: Call) -> list[SimRequest]:
    token = call.secrets.get("THREECX_TOKEN") or call.secret("GENERIC_TOKEN")
    headers = threecx.sign_headers(token)

    def compact(at: datetime) -> str:
        return at.strftime("%Y%m%d%H%M%S")

    talk = call.talk_seconds
    call_type = "Outbound" if not call.inbound else "Inbound" if call.talks else "Missed"
    fields = {
        "CallType": call_type,
        "Number": call.client,
        "Agent": call.extension,
        "AgentFirstName": f"Agent {call.extension}",
        "QueueExtension": "",
        "CallStartTimeUTC": compact(call.started),
        "CallEndTimeUTC": compact(call.ended),
        "DurationSeconds": str(talk),
        "Duration": f"{talk // 3600:02d}:{talk // 60 % 60:02d}:{talk % 60:02d}",
    }
    if call.talks:
        fields["CallEstablishedTimeUTC"] = compact(call.answered)
    if call.recorded:
        fields["RecordingUrl"] = f"https://pbx.example.com/recordings/{call.token}.wav"
    requests = []
    if call.inbound:
        query = urlencode({"number": call.client})
        requests.append(SimRequest("lookup", "GET", f"/webhooks/3cx/lookup?{query}", headers))
    requests.append(
        SimRequest(
            f"journal {call_type}",
            "POST",
            "/webhooks/3cx/journal",
            {**headers, "Content-Type": JSON},
            json.dumps(fields).encode(),
        )
    )
    return requests


def _form(
    label: str, path: str, fields: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> SimRequest:
    return SimRequest(
        label=label,
        method="POST",
        path=path,
        headers={"Content-Type": FORM, **(headers or {})},
        body=urlencode(list(fields.items())).encode(),
    )


_BUILDERS: dict[str, Callable[[str, Call], list[SimRequest]]] = {
    "zadarma": _zadarma,
    "novofon": _zadarma,
    "mango": _mango,
    "itoolabs": _itoolabs,
    "twilio": _twilio,
    "generic": _generic,
    "3cx": _threecx,
}
