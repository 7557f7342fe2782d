"""The generic (Asterisk/FreePBX) protocol through the HTTP app: events and the lookup."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.models import Call, Contact, User
from telephony_webhooks.providers.base import RawRequest
from tests.fakes.twilio_signer import GENERIC_TOKEN, generic_event, generic_lookup
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import end_state

CLIENT = "+79161234567"
T0 = 1795683600  # 2026-11-26 09:00:00 UTC
TOKEN = {"x-perezvon-token": GENERIC_TOKEN}


def at(second: int) -> datetime:
    return datetime.fromtimestamp(T0 + second, UTC)


def inbound(
    call_id: str = "1795683600.1", *, answered: bool = True, caller: str = CLIENT, t: int = 0
) -> list[RawRequest]:
    """start → ringing 101 → (answer at +6) → hangup → end (95 s billed) → record."""
    base: dict[str, Any] = {"call_id": call_id, "direction": "in", "from": caller}
    base |= {"did": "74951234567"}
    talk = 95 if answered else 0
    end = t + (101 if answered else 20)
    events = [
        base | {"event": "start", "timestamp": T0 + t},
        base | {"event": "ringing", "extension": "101", "timestamp": T0 + t},
    ]
    if answered:
        events.append(base | {"event": "answer", "extension": "101", "timestamp": T0 + t + 6})
    events.append(base | {"event": "hangup", "uniqueid": f"{call_id}-h", "timestamp": T0 + end})
    events.append(
        base
        | {"event": "end", "started_at": T0 + t, "ended_at": T0 + end, "extension": "101"}
        | {"duration": end - t, "billsec": talk, "status": "answered" if answered else "missed"}
    )
    requests = [generic_event(e) for e in events]
    if answered:
        record = {"event": "record", "call_id": call_id, "recording": f"rec-{call_id}.wav"}
        requests.append(generic_event(record, as_json=False))
    return requests


async def test_inbound_answered_call_with_durations_and_recording(pbx: Pbx, anna: User) -> None:
    await pbx.deliver(inbound(), "generic")
    await pbx.process()
    call = await pbx.assert_answered_inbound(
        "generic", anna, client=CLIENT, our_phone="74951234567"
    )
    assert (call.ring_seconds, call.talk_seconds) == (6, 95)
    assert (call.started_at, call.answered_at, call.ended_at) == (at(0), at(6), at(101))
    assert call.recording == "rec-1795683600.1.wav"


async def test_missed_calls_share_a_task_closed_by_the_next_answered_call(
    pbx: Pbx, anna: User
) -> None:
    await pbx.deliver(inbound("m1", answered=False), "generic")
    await pbx.process()
    [task] = await pbx.callbacks(CLIENT)
    assert (task.owner_id, task.missed_count, task.created_at) == (anna.id, 1, at(20))
    assert [n.user_id for n in await pbx.notifications("missed_call")] == [anna.id]
    await pbx.missed_again(inbound("m2", answered=False, t=300), "generic", CLIENT)

    await pbx.deliver(inbound("a3", t=900), "generic")
    task, _answered = await pbx.called_back(CLIENT, Call.provider_call_id == "a3")
    assert task.time_to_callback_seconds == 906 - 20


async def test_outbound_call_belongs_to_the_extension_that_dialled(pbx: Pbx, anna: User) -> None:
    base = {"call_id": "o1", "direction": "out", "from": "101", "to": "89037654321"}
    requests = [
        generic_event(base | {"event": "start", "timestamp": T0}),
        generic_event(base | {"event": "end", "timestamp": T0 + 50} | {"billsec": 42}),
    ]
    call = await pbx.assert_outbound_call(requests, "generic", "answered", 42)
    assert (call.extension, call.user_id) == ("101", anna.id)


async def test_duplicates_stored_once_and_any_order_gives_the_same_call(
    pbx: Pbx, anna: User
) -> None:
    for answered in (True, False):
        ordered_requests = inbound(f"ord-{answered}", answered=answered)
        await pbx.deliver(ordered_requests + ordered_requests, "generic")
        await pbx.process()
        [ordered] = await pbx.load(Call, Call.provider_call_id == f"ord-{answered}")
        for seed in range(1, 4):
            call_id = f"mix-{answered}-{seed}"
            mixed = inbound(call_id, answered=answered)
            got = await pbx.shuffled_end_state(mixed, "generic", call_id, seed)
            want = end_state(ordered)
            assert (got.pop("recording") is None) == (want.pop("recording") is None)
            assert got == want, call_id
    assert await pbx.inbox_count() == 4 * (len(inbound()) + len(inbound(answered=False)))
    [task] = await pbx.callbacks()
    assert task.missed_count == 4


@pytest.mark.parametrize("caller", ["abc", "+", "' OR 1=1 --", "номер", "5" * 40, "sip:x@y"])
async def test_malformed_numbers_are_kept_raw(pbx: Pbx, caller: str) -> None:
    await pbx.assert_odd_number_kept_raw(inbound(caller=caller, answered=False), "generic", caller)
    lookup = await pbx.send(generic_lookup(caller), "generic")
    assert lookup.status_code == 200 and lookup.json()["found"] is False


async def test_lookup_answers_json_and_text_from_the_phone_index(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User
) -> None:
    contact = await contacts.create_contact(
        ctx, actor=system, name="Иван|Петров", phones=[CLIENT], owner_id=anna.id
    )
    response = await pbx.send(generic_lookup("89161234567"), "generic")
    assert response.json() == {
        "found": True,
        "contact_id": contact.id,
        "name": "Иван|Петров",
        "company": None,
        "owner": "Анна",
        "owner_extension": "101",
    }
    text = await pbx.send(generic_lookup("+7 916 123-45-67", text=True), "generic")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == "Иван Петров|101"
    by_query_token = await pbx.send(generic_lookup(CLIENT, token_in_query=True), "generic")
    assert by_query_token.json()["found"] is True
    unknown = await pbx.send(generic_lookup("+79990000000", text=True), "generic")
    assert (unknown.status_code, unknown.text) == (200, "")
    assert await pbx.inbox_count() == 0


async def test_lookup_with_a_broken_database_answers_no_data(
    pbx: Pbx, ivan: Contact, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pbx.break_lookup(monkeypatch, OSError("could not connect to server"))
    response = await pbx.send(generic_lookup(CLIENT), "generic")
    assert (response.status_code, response.json()["found"]) == (200, False)
    text = await pbx.send(generic_lookup(CLIENT, text=True), "generic")
    assert (text.status_code, text.text) == (200, "")
    # The operator is told why, at a level that reaches the log by default.
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("could not connect to server" in r.getMessage() for r in warned)


async def test_a_failed_lookup_logs_the_drivers_reason_without_the_sql_or_the_number(
    pbx: Pbx, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pbx.break_lookup(
        monkeypatch,
        OperationalError(
            "SELECT contacts.id FROM contact_phones WHERE e164 = $1",
            (CLIENT,),
            ConnectionResetError("connection was closed in the middle of operation"),
        ),
    )
    response = await pbx.send(generic_lookup(CLIENT), "generic")

    assert (response.status_code, response.json()["found"]) == (200, False)
    [warned] = [r for r in caplog.records if "look-up gave no data" in r.getMessage()]
    assert warned.levelno == logging.WARNING
    assert "ConnectionResetError: connection was closed" in warned.getMessage()
    assert CLIENT not in caplog.text and "SELECT" not in caplog.text


async def test_wrong_or_missing_token_is_401_and_no_token_setting_is_404(pbx: Pbx) -> None:
    event = inbound()[0]
    wrong = await pbx.send(generic_event({"event": "start", "call_id": "x"}, token="no"), "generic")
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "token does not match")
    bare = await pbx.client.post("/webhooks/generic", content=event.body)
    assert (bare.status_code, bare.json()["detail"]) == (401, "token is missing")
    lookup = await pbx.client.get("/webhooks/generic/lookup", params={"phone": CLIENT})
    assert lookup.status_code == 401
    pbx.web.provider_secrets = {"ZADARMA_SECRET": "z"}
    disabled = await pbx.send(event, "generic")
    assert disabled.status_code == 404 and "PEREZVON_GENERIC_TOKEN" in disabled.json()["detail"]
    assert await pbx.inbox_count() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"event": "start", ', "body is not valid JSON"),
        (b'["start"]', "JSON body must be an object"),
        (b'{"call_id": "x"}', "field 'event' is missing"),
        (b'{"event": "explode", "call_id": "x"}', "unknown event 'explode'"),
        (b"event=start", "field 'call_id'"),
        (b"\xff\xfe", "body is not UTF-8"),
    ],
)
async def test_unreadable_event_is_400_with_a_reason_and_nothing_stored(
    pbx: Pbx, body: bytes, reason: str
) -> None:
    response = await pbx.client.post("/webhooks/generic", content=body, headers=TOKEN)
    assert response.status_code == 400 and reason in response.json()["detail"]
    assert await pbx.inbox_count() == 0


async def test_body_over_64_kib_is_413(pbx: Pbx) -> None:
    big = generic_event({"event": "start", "call_id": "x", "pad": "y" * 70_000})
    response = await pbx.send(big, "generic")
    assert response.status_code == 413 and await pbx.inbox_count() == 0
