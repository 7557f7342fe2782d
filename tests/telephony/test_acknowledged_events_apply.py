"""A 200 means the event will be applied: bad times, NULs, deep JSON and failing rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from core.models import Call, TelephonyEvent
from telephony_webhooks.providers.base import RawRequest
from telephony_webhooks.providers.mango import sign_mango
from tests.fakes.pbx_signers import (
    MANGO_API_KEY,
    MANGO_API_SALT,
    form_request,
    itoolabs_request,
    mango_leg,
    mango_request,
    mango_summary,
)
from tests.fakes.twilio_signer import (
    GENERIC_TOKEN,
    THREECX_TOKEN,
    generic_event,
    threecx_journal,
)
from tests.telephony.conftest import Pbx
from tests.telephony.test_processor_failures import Flaky, event, processor_with

CLIENT = "+79161234567"
T0 = 1795683600  # 2026-11-26 09:00:00 UTC, the fake clock's time
TOKEN = {"x-perezvon-token": GENERIC_TOKEN}
THREECX = {"x-perezvon-token": THREECX_TOKEN}


def _generic_end(timestamp: str, **extra: str) -> RawRequest:
    fields = {"event": "end", "call_id": "c-1", "from": CLIENT, "status": "missed"}
    return generic_event({**fields, "timestamp": timestamp, **extra})


BAD_TIMES: list[tuple[str, RawRequest, str]] = [
    ("generic", _generic_end("9999-12-31T23:59:00Z"), "timestamp"),
    ("generic", _generic_end("1999-12-31T23:59:59Z"), "timestamp"),
    ("generic", _generic_end(str(T0), started_at="2026-11-28T09:00:00Z"), "started_at"),
    (
        "mango/events/summary",
        mango_request(
            "events/summary",
            {**mango_summary(), "create_time": 253402300799, "end_time": 253402300799},
        ),
        "end_time",
    ),
    (
        "itoolabs",
        itoolabs_request(
            {"cmd": "history", "type": "in", "status": "Success", "phone": "79161234567"}
            | {"user": "ivanov", "start": "99991231T235959Z", "duration": "5", "callid": "i-1"}
        ),
        "start",
    ),
    (
        "3cx/journal",
        threecx_journal(
            {"CallType": "Missed", "Number": CLIENT, "Agent": "101"}
            | {"CallStartTimeUTC": "99991231235959"}
        ),
        "CallStartTimeUTC",
    ),
]


@pytest.mark.parametrize(
    ("target", "request_", "field"), BAD_TIMES, ids=[t for t, _r, _f in BAD_TIMES]
)
async def test_an_event_time_outside_the_sane_window_is_refused_naming_it(
    pbx: Pbx, target: str, request_: RawRequest, field: str
) -> None:
    response = await pbx.client.request(
        request_.method,
        f"/webhooks/{target}",
        content=request_.body,
        headers={**request_.headers, "content-type": request_.content_type},
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("field '") and field in detail.split(":")[0], detail
    assert "outside the accepted window" in detail
    assert await pbx.inbox_count() == 0


async def test_a_refused_far_future_end_does_not_block_the_call(pbx: Pbx) -> None:
    response = await pbx.send(_generic_end("9999-12-31T23:59:00Z"), "generic")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("field 'timestamp': time 9999-12-31T23:59:00")
    await pbx.deliver(
        [
            generic_event({"event": "start", "call_id": "c-1", "from": CLIENT, "timestamp": T0}),
            _generic_end(str(T0 + 30)),
        ],
        "generic",
    )
    await pbx.process()
    call = await pbx.only_call("generic")
    assert call.status == "missed" and call.ended_at is not None


@pytest.mark.parametrize("field", ["extension", "from", "call_id", "to"])
async def test_a_nul_in_a_webhook_field_is_stripped_the_same_on_every_database(
    pbx: Pbx, field: str
) -> None:
    fields = {"event": "start", "call_id": "c-1", "from": CLIENT, "to": "101", "timestamp": T0}
    fields["extension"] = "101"
    fields[field] = f"{fields[field]}\x00\x07"
    await pbx.deliver([generic_event(fields)], "generic")
    await pbx.process()
    call = await pbx.only_call("generic")
    assert call.provider_call_id == "c-1"
    assert call.client_e164 == CLIENT
    assert call.extension == "101"


async def test_a_nul_in_a_form_field_is_stripped_too(pbx: Pbx) -> None:
    fields = {"event": "start", "call_id": "c\x00-2", "from": CLIENT, "extension": "1\x0001"}
    await pbx.deliver([generic_event({**fields, "timestamp": T0}, as_json=False)], "generic")
    await pbx.process()
    call = await pbx.only_call("generic")
    assert (call.provider_call_id, call.extension) == ("c-2", "101")


DEEP = b"[" * 3000 + b"]" * 3000
DEEP_OBJECT = b'{"a":' * 3000 + b"1" + b"}" * 3000


@pytest.mark.parametrize(
    ("target", "body", "headers"),
    [
        ("itoolabs", DEEP_OBJECT, {"content-type": "application/json"}),
        ("generic", DEEP, {**TOKEN, "content-type": "application/json"}),
        ("generic", DEEP_OBJECT, {**TOKEN, "content-type": "application/json"}),
        ("3cx/journal", DEEP_OBJECT, {**THREECX, "content-type": "application/json"}),
    ],
    ids=["itoolabs-untokened", "generic-arrays", "generic-objects", "3cx-objects"],
)
async def test_deeply_nested_json_is_a_400(
    pbx: Pbx, target: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await pbx.client.post(f"/webhooks/{target}", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["detail"]


async def test_deeply_nested_mango_json_is_a_400(pbx: Pbx) -> None:
    deep = DEEP_OBJECT.decode()
    form = {
        "vpbx_api_key": MANGO_API_KEY,
        "sign": sign_mango(MANGO_API_KEY, deep, MANGO_API_SALT),
        "json": deep,
    }
    request = form_request("mango", form, path="events/call")
    response = await pbx.send(request, "mango")
    assert response.status_code == 400, response.text


async def test_out_of_order_generic_events_keep_the_earliest_times(pbx: Pbx) -> None:
    def at(hms: str) -> str:
        return f"2026-11-26T{hms}Z"

    base = {"call_id": "c-1", "from": CLIENT, "extension": "101"}
    await pbx.deliver(
        [
            generic_event(
                {**base, "event": "end", "status": "answered", "timestamp": at("10:01:40")}
            ),
            generic_event({**base, "event": "start", "timestamp": at("10:00:00")}),
            generic_event({**base, "event": "answer", "timestamp": at("10:00:50")}),
        ],
        "generic",
    )
    await pbx.process()
    call = await pbx.only_call("generic")
    assert call.started_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert call.answered_at == datetime(2026, 11, 26, 10, 0, 50, tzinfo=UTC)
    assert call.ended_at == datetime(2026, 11, 26, 10, 1, 40, tzinfo=UTC)
    assert call.started_at <= call.answered_at <= call.ended_at
    assert (call.ring_seconds, call.talk_seconds) == (50, 50)


async def test_a_row_failing_max_attempts_times_is_parked_and_its_call_goes_on(pbx: Pbx) -> None:
    pbx.web.inbox_max_attempts = 3
    for request in (
        event("c-1", "ringing", extension="101"),
        event("c-1", "answer", extension="101"),
        event("c-1", "hangup", timestamp=T0 + 60),
        event("c-2", "hangup", status="missed"),
    ):
        assert (await pbx.send(request, "generic")).status_code == 200
    processor = processor_with(pbx, Flaky('"answer"', failures=99))
    clock = pbx.web.clock
    for _ in range(5):  # each round is past the previous backoff
        await processor.drain()
        clock.advance(hours=2)  # type: ignore[attr-defined]
    rows = await pbx.load(TelephonyEvent)
    assert all(row.processed_at is not None for row in rows)
    (parked,) = [row for row in rows if row.error]
    assert parked.event_type == "answer" and parked.attempts == 3
    assert parked.error is not None and parked.error.startswith("parked after 3 attempts")
    assert "hiccuped" in parked.error
    calls = {c.provider_call_id: c for c in await pbx.load(Call)}
    assert calls["c-1"].ended_at is not None and calls["c-2"].status == "missed"


async def test_stored_bodies_carry_no_shared_secret(pbx: Pbx) -> None:
    boundary = "b0undary"

    def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
        chunks = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ]
        return ("".join(chunks) + f"--{boundary}--\r\n").encode(), (
            f"multipart/form-data; boundary={boundary}"
        )

    itoolabs = dict(
        itoolabs_request(
            {"cmd": "event", "type": "INCOMING", "phone": "79161234567", "callid": "i-1"}
            | {"user": "ivanov", "ext": "101"}
        ).form
    )
    mango = dict(mango_request("events/call", mango_leg("Appeared")).form)
    for target, fields in (("itoolabs", itoolabs), ("mango/events/call", mango)):
        body, content_type = multipart(fields)
        response = await pbx.client.post(
            f"/webhooks/{target}", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 200, response.text
    json_body = json.dumps(itoolabs | {"callid": "i-2"}).encode()
    response = await pbx.client.post(
        "/webhooks/itoolabs", content=json_body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    rows = await pbx.load(TelephonyEvent)
    assert len(rows) == 3
    for row in rows:
        stored = row.body + json.dumps(row.headers).encode()
        assert b"itoolabs-test-token" not in stored and b"mango-test-key" not in stored
        assert b"crm_token" not in stored and b"vpbx_api_key" not in stored
    await pbx.process()
    assert {c.provider for c in await pbx.load(Call)} == {"itoolabs", "mango"}


def _percent_encoded_name(fields: dict[str, str], token: str) -> bytes:
    return ("&".join(f"{k}={v}" for k, v in fields.items()) + f"&crm%5Ftoken={token}").encode()


def _json_escaped_name(fields: dict[str, str], token: str) -> bytes:
    return (json.dumps(fields)[:-1] + f', "\\u0063rm_token": "{token}"}}').encode()


@pytest.mark.parametrize(
    ("content_type", "body_of"),
    [
        ("application/x-www-form-urlencoded", _percent_encoded_name),
        ("application/json", _json_escaped_name),
    ],
    ids=["percent-encoded", "json-escaped"],
)
async def test_a_secret_field_under_an_encoded_name_is_not_stored(
    pbx: Pbx, content_type: str, body_of: Callable[[dict[str, str], str], bytes]
) -> None:
    fields = dict(
        itoolabs_request(
            {"cmd": "event", "type": "INCOMING", "phone": "79161234567", "callid": "i-1"}
        ).form
    )
    token = fields.pop("crm_token")
    response = await pbx.client.post(
        "/webhooks/itoolabs", content=body_of(fields, token), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text
    (row,) = await pbx.load(TelephonyEvent)
    assert token.encode() not in row.body
