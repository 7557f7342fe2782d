"""Build realistic, correctly signed PBX webhook requests (Zadarma/Novofon, Mango, ITooLabs).

No pytest here: `perezvon simulate call` and HTTP tests use the same builders. Each builder
returns the `RawRequest` the route would see (form already decoded, as the route does);
`.body`, `.content_type` and `.headers` are what to send over HTTP to
`/webhooks/<provider>/<path>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from telephony_webhooks.providers.base import RawRequest
from telephony_webhooks.providers.itoolabs import sign_itoolabs
from telephony_webhooks.providers.mango import sign_mango
from telephony_webhooks.providers.zadarma import sign_zadarma

FORM = "application/x-www-form-urlencoded"
BASE_URL = "https://crm.example.com/webhooks"

ZADARMA_SECRET = "zadarma-test-secret"
NOVOFON_SECRET = "novofon-test-secret"
MANGO_API_KEY = "mango-test-key"
MANGO_API_SALT = "mango-test-salt"
ITOOLABS_TOKEN = "itoolabs-test-token"
TEST_SECRETS: dict[str, str] = {
    "ZADARMA_SECRET": ZADARMA_SECRET,
    "NOVOFON_SECRET": NOVOFON_SECRET,
    "MANGO_API_KEY": MANGO_API_KEY,
    "MANGO_API_SALT": MANGO_API_SALT,
    "ITOOLABS_TOKEN": ITOOLABS_TOKEN,
}


def form_request(
    provider: str,
    fields: Mapping[str, str],
    *,
    path: str = "",
    headers: Mapping[str, str] | None = None,
) -> RawRequest:
    """A POST form request as the route hands it to an adapter."""
    url = f"{BASE_URL}/{provider}" + (f"/{path}" if path else "")
    return RawRequest(
        method="POST",
        url=url,
        path=path,
        headers={"content-type": FORM, **(headers or {})},
        query={},
        body=urlencode(list(fields.items())).encode(),
        content_type=FORM,
        form=dict(fields),
    )


def as_stored(request: RawRequest) -> RawRequest:
    """The request as the processor rebuilds it from the inbox row: no decoded form."""
    return replace(request, form={})


# --- Zadarma / Novofon -----------------------------------------------------------------


def zadarma_request(
    fields: Mapping[str, str], *, provider: str = "zadarma", secret: str | None = None
) -> RawRequest:
    """A notification signed the way Zadarma (or Novofon) signs that event type."""
    if secret is None:
        secret = NOVOFON_SECRET if provider == "novofon" else ZADARMA_SECRET
    return form_request(provider, fields, headers={"signature": sign_zadarma(fields, secret)})


def zadarma_multipart_request(
    fields: Mapping[str, str], *, provider: str = "zadarma", header_boundary: str | None = None
) -> RawRequest:
    """A multipart delivery; `header_boundary` reproduces Zadarma's header/body mismatch."""
    secret = NOVOFON_SECRET if provider == "novofon" else ZADARMA_SECRET
    boundary = "----zadarmaBoundary7MA4YWxk"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = ("".join(chunks) + f"--{boundary}--\r\n").encode()
    content_type = f"multipart/form-data; boundary={header_boundary or boundary}"
    return RawRequest(
        method="POST",
        url=f"{BASE_URL}/{provider}",
        path="",
        headers={"content-type": content_type, "signature": sign_zadarma(fields, secret)},
        query={},
        body=body,
        content_type=content_type,
    )


def zadarma_echo(value: str = "7f3c1a", *, provider: str = "zadarma") -> RawRequest:
    """The unsigned URL check Zadarma sends when the URL is saved."""
    return RawRequest(
        method="GET",
        url=f"{BASE_URL}/{provider}?zd_echo={value}",
        path="",
        headers={},
        query={"zd_echo": value},
        body=b"",
    )


def zadarma_inbound(
    *,
    call_id: str = "in_5e6f7a8b9c0d1e2f",
    caller: str = "+79161234567",
    did: str = "74951234567",
    extensions: tuple[str, ...] = ("101", "102"),
    answered_by: str | None = "101",
    start: str = "2024-03-05 14:30:00",
    recording: str | None = "1709638200.1234567",
    provider: str = "zadarma",
) -> list[RawRequest]:
    """START → INTERNAL per extension → (ANSWER) → END → (RECORD), as Zadarma sends them."""
    head = {"call_start": start, "pbx_call_id": call_id, "caller_id": caller}
    events = [{"event": "NOTIFY_START", **head, "called_did": did}]
    for ext in extensions:
        events.append(
            {"event": "NOTIFY_INTERNAL", **head, "called_did": did, "internal": ext}
            | {"calltype": "normal"}
        )
    if answered_by:
        events.append(
            {"event": "NOTIFY_ANSWER", **head, "internal": answered_by, "destination": did}
            | {"calltype": "normal"}
        )
    recorded = bool(answered_by and recording)
    end = {"event": "NOTIFY_END", **head, "called_did": did}
    if answered_by:
        end |= {"internal": answered_by, "last_internal": answered_by}
    end |= {
        "duration": "95" if answered_by else "0",
        "status_code": "16",
        "is_recorded": "1" if recorded else "0",
    }
    if recorded and recording:
        end["call_id_with_rec"] = recording
    end |= {"calltype": "normal", "disposition": "answered" if answered_by else "cancel"}
    events.append(end)
    if recorded and recording:
        events.append(
            {"event": "NOTIFY_RECORD", "call_id_with_rec": recording, "pbx_call_id": call_id}
        )
    return [zadarma_request(fields, provider=provider) for fields in events]


def zadarma_outbound(
    *,
    call_id: str = "out_1a2b3c4d5e6f",
    extension: str = "101",
    destination: str = "+79037654321",
    our_number: str = "74951234567",
    start: str = "2024-03-05 15:00:00",
    disposition: str = "answered",
    duration: str = "42",
    provider: str = "zadarma",
) -> list[RawRequest]:
    """NOTIFY_OUT_START → NOTIFY_OUT_END."""
    head = {"call_start": start, "pbx_call_id": call_id, "caller_id": our_number}
    head |= {"internal": extension, "destination": destination}
    begin = {"event": "NOTIFY_OUT_START", **head, "calltype": "normal"}
    end = {"event": "NOTIFY_OUT_END", **head, "duration": duration, "status_code": "16"}
    end |= {"is_recorded": "0", "calltype": "normal", "disposition": disposition}
    return [zadarma_request(fields, provider=provider) for fields in (begin, end)]


# --- Mango Office ----------------------------------------------------------------------


def mango_request(
    path: str,
    payload: Mapping[str, Any],
    *,
    api_key: str = MANGO_API_KEY,
    salt: str = MANGO_API_SALT,
) -> RawRequest:
    """One Mango notification: compact `json`, `vpbx_api_key` and its `sign`."""
    json_text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    fields = {
        "vpbx_api_key": api_key,
        "sign": sign_mango(api_key, json_text, salt),
        "json": json_text,
    }
    return form_request("mango", fields, path=path)


def mango_leg(
    state: str,
    *,
    entry_id: str = "MTAxMjM0NTY3ODk6MTAx",
    call_id: str = "MToxMDA1MjE3ODo0MDI6ODk1NjU3NjQy",
    seq: int | str = 1,
    timestamp: int | str = 1709638200,
    location: str = "abonent",
    caller: Mapping[str, Any] | None = None,
    callee: Mapping[str, Any] | None = None,
    disconnect_reason: int | str | None = None,
) -> dict[str, Any]:
    """An events/call payload; defaults describe an inbound leg ringing extension 101."""
    payload: dict[str, Any] = {
        "entry_id": entry_id,
        "call_id": call_id,
        "timestamp": timestamp,
        "seq": seq,
        "call_state": state,
        "location": location,
        "from": dict(caller) if caller is not None else {"number": "79161234567"},
        "to": dict(callee)
        if callee is not None
        else {
            "extension": "101",
            "number": "sip:ivanov@vpbx.mangosip.ru",
            "line_number": "74951234567",
        },
    }
    if disconnect_reason is not None:
        payload["disconnect_reason"] = disconnect_reason
    return payload


def mango_summary(
    *,
    entry_id: str = "MTAxMjM0NTY3ODk6MTAx",
    direction: int = 1,
    create_time: int = 1709638200,
    forward_time: int = 1709638205,
    talk_time: int = 1709638212,
    end_time: int = 1709638307,
    caller: Mapping[str, Any] | None = None,
    callee: Mapping[str, Any] | None = None,
    disconnect_reason: int = 1110,
) -> dict[str, Any]:
    """An events/summary payload; defaults: inbound call answered by 101, 95 s of talk."""
    return {
        "entry_id": entry_id,
        "call_direction": direction,
        "from": dict(caller) if caller is not None else {"number": "79161234567"},
        "to": dict(callee) if callee is not None else {"extension": "101", "number": "79160000101"},
        "line_number": "74951234567",
        "create_time": create_time,
        "forward_time": forward_time,
        "talk_time": talk_time,
        "end_time": end_time,
        "entry_result": 1,
        "disconnect_reason": disconnect_reason,
    }


def mango_inbound_answered(entry_id: str = "MTAxMjM0NTY3ODk6MTAx") -> list[RawRequest]:
    """IVR leg → employee leg Appeared/Connected/Disconnected → summary → recording."""
    ivr = {"number": "74951234567", "line_number": "74951234567"}
    ivr_leg = "MToxMDA1MjE3ODo0MDI6aXZy"
    leg = "MToxMDA1MjE3ODo0MDI6ODk1NjU3NjQy"
    bodies: list[tuple[str, dict[str, Any]]] = [
        (
            "events/call",
            mango_leg("Appeared", entry_id=entry_id, call_id=ivr_leg, callee=ivr, location="ivr"),
        ),
        (
            "events/call",
            mango_leg(
                "Disconnected",
                entry_id=entry_id,
                call_id=ivr_leg,
                seq=2,
                callee=ivr,
                location="ivr",
                disconnect_reason=1100,
                timestamp=1709638205,
            ),
        ),
        (
            "events/call",
            mango_leg("Appeared", entry_id=entry_id, call_id=leg, timestamp=1709638205),
        ),
        (
            "events/call",
            mango_leg("Connected", entry_id=entry_id, call_id=leg, seq=2, timestamp=1709638212),
        ),
        (
            "events/call",
            mango_leg(
                "Disconnected",
                entry_id=entry_id,
                call_id=leg,
                seq=3,
                timestamp=1709638307,
                disconnect_reason=1120,
            ),
        ),
        ("events/summary", mango_summary(entry_id=entry_id)),
        (
            "events/recording",
            {
                "entry_id": entry_id,
                "call_id": leg,
                "recording_id": "REC-77",
                "recording_state": "Completed",
                "seq": 1,
                "extension": "101",
                "timestamp": 1709638308,
                "completion_code": 1000,
            },
        ),
        (
            "events/record/added",
            {
                "entry_id": entry_id,
                "product_id": 1001,
                "user_id": 55,
                "timestamp": 1709638370,
                "recording_id": "REC-77",
            },
        ),
    ]
    return [mango_request(path, payload) for path, payload in bodies]


# --- ITooLabs (MegaFon VATS…) ----------------------------------------------------------


def itoolabs_request(
    fields: Mapping[str, str], *, token: str = ITOOLABS_TOKEN, as_json: bool = False
) -> RawRequest:
    """One CRM API push with the shared `crm_token`; `as_json` for PBXs that post JSON."""
    signed = sign_itoolabs(fields, token)
    if not as_json:
        return form_request("itoolabs", signed)
    return RawRequest(
        method="POST",
        url=f"{BASE_URL}/itoolabs",
        path="",
        headers={"content-type": "application/json"},
        query={},
        body=json.dumps(signed, ensure_ascii=False).encode(),
        content_type="application/json",
    )


def itoolabs_inbound(
    *,
    callid: str = "c7b3e1f0a2d94e8b",
    phone: str = "79161234567",
    diversion: str = "74951234567",
    users: tuple[tuple[str, str], ...] = (("ivanov", "101"), ("petrov", "102")),
    answered_by: str | None = "ivanov",
    start: str = "20240305T113000Z",
    link: str = "https://vats.megapbx.ru/records/c7b3e1f0a2d94e8b.mp3",
) -> list[RawRequest]:
    """contact → INCOMING per user → ACCEPTED + CANCELLED others → COMPLETED → history."""
    common = {"phone": phone, "diversion": diversion, "callid": callid}
    pushes: list[dict[str, str]] = [{"cmd": "contact", **common}]
    for user, ext in users:
        pushes.append(
            {
                "cmd": "event",
                "type": "INCOMING",
                "user": user,
                "ext": ext,
                "direction": "in",
                **common,
            }
        )
    for user, ext in users:
        kind = "ACCEPTED" if user == answered_by else "CANCELLED"
        pushes.append(
            {"cmd": "event", "type": kind, "user": user, "ext": ext, "direction": "in", **common}
        )
    ext_of = dict(users)
    history = {"cmd": "history", "type": "in", "phone": phone, "diversion": diversion}
    history |= {"start": start, "callid": callid}
    if answered_by:
        pushes.append(
            {
                "cmd": "event",
                "type": "COMPLETED",
                "user": answered_by,
                "ext": ext_of.get(answered_by, ""),
                "direction": "in",
                **common,
            }
        )
        history |= {"status": "Success", "duration": "95", "user": answered_by}
        history |= {"ext": ext_of.get(answered_by, ""), "link": link}
    else:
        history |= {"status": "missed", "duration": "25", "user": "g_4f1c@tenant"}
    pushes.append(history)
    return [itoolabs_request(fields) for fields in pushes]


def itoolabs_outbound(
    *,
    callid: str = "d1e2f3a4b5c6",
    phone: str = "89037654321",
    user: str = "ivanov",
    ext: str = "101",
    status: str = "Success",
    duration: str = "42",
    start: str = "20240305T120000Z",
) -> list[RawRequest]:
    """OUTGOING → ACCEPTED → COMPLETED → history type=out (no ACCEPTED/COMPLETED if unanswered)."""
    common = {"phone": phone, "user": user, "ext": ext, "callid": callid, "direction": "out"}
    pushes = [{"cmd": "event", "type": "OUTGOING", **common}]
    if status.lower() == "success":
        pushes += [{"cmd": "event", "type": t, **common} for t in ("ACCEPTED", "COMPLETED")]
    history = {"cmd": "history", "type": "out", "status": status, "phone": phone, "user": user}
    history |= {"ext": ext, "start": start, "duration": duration, "callid": callid}
    pushes.append(history)
    return [itoolabs_request(fields) for fields in pushes]
