"""Mango Office through the HTTP app: legs + summary + recordings end in the right calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.models import Call, Contact, User
from telephony_webhooks.providers.base import RawRequest
from telephony_webhooks.providers.mango import sign_mango
from tests.fakes.pbx_signers import (
    FORM,
    MANGO_API_KEY,
    MANGO_API_SALT,
    form_request,
    mango_inbound_answered,
    mango_leg,
    mango_request,
    mango_summary,
)
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import end_state

CLIENT = "+79161234567"
T0 = 1709638200  # 2024-03-05 11:30:00 UTC


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def missed(entry_id: str, start: int, caller: str = "79161234567") -> list[RawRequest]:
    """An inbound call that rang extension 101 for 25 s and was not answered."""
    source = {"number": caller}
    leg = f"{entry_id}-leg"
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("events/call", mango_leg("Appeared", entry_id=entry_id, call_id=leg, caller=source,
                                  timestamp=start)),
        ("events/call", mango_leg("Disconnected", entry_id=entry_id, call_id=leg, seq=2,
                                  caller=source, timestamp=start + 25, disconnect_reason=1110)),
        ("events/summary", mango_summary(entry_id=entry_id, caller=source, create_time=start,
                                         forward_time=start, talk_time=0, end_time=start + 25)),
    ]  # fmt: skip
    return [mango_request(path, payload) for path, payload in bodies]


def answered(entry_id: str) -> list[RawRequest]:
    """`mango_inbound_answered` for another call: its recording has its own id as well."""
    *call_events, recording, record_added = mango_inbound_answered(entry_id)
    renamed = []
    for request in (recording, record_added):
        payload = json.loads(request.form["json"]) | {"recording_id": f"REC-{entry_id}"}
        renamed.append(mango_request(request.path, payload))
    return [*call_events, *renamed]


def outbound(entry_id: str = "OUT-1", *, talk: bool = True) -> list[RawRequest]:
    """Extension 101 calls 79037654321: 10 s of ringing, then 42 s of talk (or no answer)."""
    ours = {"extension": "101", "number": "sip:ivanov@vpbx.mangosip.ru"}
    client = {"number": "79037654321", "line_number": "74951234567"}
    leg = f"{entry_id}-leg"
    legs = [mango_leg("Appeared", entry_id=entry_id, call_id=leg, caller=ours, callee=client)]
    if talk:
        legs.append(mango_leg("Connected", entry_id=entry_id, call_id=leg, seq=2, caller=ours,
                              callee=client, timestamp=T0 + 10))  # fmt: skip
    legs.append(mango_leg("Disconnected", entry_id=entry_id, call_id=leg, seq=3, caller=ours,
                          callee=client, timestamp=T0 + 52, disconnect_reason=1110))  # fmt: skip
    summary = mango_summary(entry_id=entry_id, direction=2, caller=ours,
                            callee={"number": "79037654321"}, create_time=T0, forward_time=T0,
                            talk_time=T0 + 10 if talk else 0, end_time=T0 + 52)  # fmt: skip
    requests = [mango_request("events/call", leg_payload) for leg_payload in legs]
    return [*requests, mango_request("events/summary", summary)]


async def test_inbound_answered_call_through_ivr_is_logged_with_talk_ring_and_recording(
    pbx: Pbx, anna: User
) -> None:
    await pbx.deliver(mango_inbound_answered(), "mango")
    await pbx.process()

    call = await pbx.assert_answered_inbound("mango", anna, client=CLIENT, our_phone="74951234567")
    assert (call.ring_seconds, call.talk_seconds, call.recording) == (7, 95, "REC-77")
    assert (call.started_at, call.answered_at, call.ended_at) == (
        at(T0),
        at(T0 + 12),
        at(T0 + 107),
    )
    [contact] = await pbx.load(Contact)
    assert call.contact_id == contact.id and contact.owner_id == anna.id
    assert await pbx.callbacks() == []


async def test_recording_after_the_summary_attaches_to_the_finished_call(
    pbx: Pbx, anna: User
) -> None:
    *call_events, recording, record_added = mango_inbound_answered()
    late = [record_added, recording]
    assert await pbx.recording_after_the_call(call_events, late, "mango") == "REC-77"


async def test_missed_calls_open_one_task_and_the_answered_call_closes_it(
    pbx: Pbx, anna: User
) -> None:
    await pbx.deliver(missed("MISS-1", T0 - 3600), "mango")
    await pbx.process()
    first = await pbx.only_call("mango")
    assert (first.status, first.ring_seconds, first.talk_seconds) == ("missed", 25, 0)
    [task] = await pbx.callbacks(CLIENT)
    assert (task.owner_id, task.missed_count, task.created_at) == (anna.id, 1, at(T0 - 3575))
    [alert] = await pbx.notifications("missed_call")
    assert alert.user_id == anna.id and alert.payload["activity_id"] == task.id

    await pbx.missed_again(missed("MISS-2", T0 - 1800), "mango", CLIENT)

    await pbx.deliver(mango_inbound_answered(), "mango")
    where = Call.provider_call_id == "MTAxMjM0NTY3ODk6MTAx"
    task, answered = await pbx.called_back(CLIENT, where)
    assert task.done_at == at(T0 + 12)
    assert task.time_to_callback_seconds == 3575 + 12
    assert answered.callback_of_id == first.id


@pytest.mark.parametrize(
    ("talk", "status", "seconds"), [(True, "answered", 42), (False, "missed", 0)]
)
async def test_outbound_call_belongs_to_the_extension_that_dialled(
    pbx: Pbx, anna: User, talk: bool, status: str, seconds: int
) -> None:
    call = await pbx.assert_outbound_call(outbound(talk=talk), "mango", status, seconds)
    assert (call.extension, call.user_id) == ("101", anna.id)
    assert call.ring_seconds == (10 if talk else 52)


async def test_duplicates_are_stored_once_and_change_nothing(pbx: Pbx, anna: User) -> None:
    sequence = mango_inbound_answered()
    await pbx.deliver(sequence + sequence[::-1], "mango")
    assert await pbx.inbox_count() == len(sequence)
    await pbx.process()
    once = end_state(await pbx.only_call("mango"))
    await pbx.deliver(sequence, "mango")
    assert await pbx.process() == 0
    assert end_state(await pbx.only_call("mango")) == once
    assert len(await pbx.notifications("post_call")) == 1


async def test_any_arrival_order_ends_in_the_same_call(pbx: Pbx, anna: User) -> None:
    await pbx.deliver(answered("ORDERED"), "mango")
    await pbx.deliver(missed("MISSED-ORDERED", T0 + 600), "mango")
    await pbx.process()
    [ordered] = await pbx.load(Call, Call.provider_call_id == "ORDERED")
    [missed_call] = await pbx.load(Call, Call.provider_call_id == "MISSED-ORDERED")
    assert ordered.recording == "REC-ORDERED"
    for seed in range(1, 4):
        for entry, template, expected in (
            (f"A{seed}", answered(f"A{seed}"), ordered),
            (f"M{seed}", missed(f"M{seed}", T0 + 600), missed_call),
        ):
            got = await pbx.shuffled_end_state(template, "mango", entry, seed)
            want = end_state(expected)
            assert got.pop("recording") == (f"REC-{entry}" if want.pop("recording") else None)
            assert got == want, entry


@pytest.mark.parametrize("caller", ["abc", "+", "' OR 1=1 --", "номер", "9" * 40, "sip:x@y"])
async def test_malformed_caller_numbers_are_kept_raw(pbx: Pbx, caller: str) -> None:
    await pbx.assert_odd_number_kept_raw(missed("ODD", T0, caller=caller), "mango", caller)


async def test_bad_sign_or_foreign_key_is_401_with_a_reason(pbx: Pbx) -> None:
    payload = json.dumps(mango_summary())
    forged = {"vpbx_api_key": MANGO_API_KEY, "sign": "0" * 64, "json": payload}
    foreign_key = {**forged, "vpbx_api_key": "someone-else"}
    unsigned = {"vpbx_api_key": MANGO_API_KEY, "json": payload}
    for fields, reason in (
        (forged, "sign does not match"),
        (foreign_key, "missing or foreign vpbx_api_key"),
        (unsigned, "missing sign"),
    ):
        response = await pbx.send(form_request("mango", fields, path="events/summary"), "mango")
        assert (response.status_code, response.json()["detail"]) == (401, reason)
    assert await pbx.inbox_count() == 0


async def test_without_key_and_salt_mango_is_disabled(pbx: Pbx) -> None:
    pbx.web.provider_secrets = {
        k: v for k, v in pbx.web.provider_secrets.items() if k != "MANGO_API_SALT"
    }
    response = await pbx.send(mango_inbound_answered()[0], "mango")
    assert response.status_code == 404 and "PEREZVON_MANGO_API_SALT" in response.json()["detail"]


async def test_body_over_64_kib_is_413(pbx: Pbx) -> None:
    big = mango_request("events/summary", {**mango_summary(), "padding": "x" * 70_000})
    response = await pbx.send(big, "mango")
    assert response.status_code == 413 and await pbx.inbox_count() == 0


@pytest.mark.parametrize(
    ("path", "json_text", "reason"),
    [
        ("events/call", "{not json", "body is not valid JSON"),
        ("events/call", "[1, 2]", "JSON body must be an object"),
        ("events/call", '{"entry_id": "E", "seq": 1}', "missing field: call_id"),
        ("events/summary", '{"create_time": 1}', "missing field: entry_id"),
    ],
)
async def test_signed_but_unreadable_json_is_400_with_a_reason_and_nothing_stored(
    pbx: Pbx, path: str, json_text: str, reason: str
) -> None:
    fields = {
        "vpbx_api_key": MANGO_API_KEY,
        "sign": sign_mango(MANGO_API_KEY, json_text, MANGO_API_SALT),
        "json": json_text,
    }
    response = await pbx.send(form_request("mango", fields, path=path), "mango")
    assert response.status_code == 400 and response.json()["detail"].startswith(reason)
    assert await pbx.inbox_count() == 0


async def test_connection_check_without_json_is_200_and_stores_nothing(pbx: Pbx) -> None:
    response = await pbx.client.post(
        "/webhooks/mango/ping", content=b"", headers={"content-type": FORM}
    )
    assert response.status_code == 200 and await pbx.inbox_count() == 0
