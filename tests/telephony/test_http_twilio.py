"""Twilio through the HTTP app: status, agent-leg, <Dial action> and recording callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.models import Call, User
from telephony_webhooks.providers import twilio
from telephony_webhooks.providers.base import RawRequest
from tests.fakes.twilio_signer import FORM, TWILIO_AUTH_TOKEN, twilio_request
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import end_state

CLIENT = "+79161234567"
OURS = "+74951234567"
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
REC = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"


def ts(second: int) -> str:
    return format_datetime(T0 + timedelta(seconds=second))


def inbound(
    sid: str = "CA1",
    *,
    answered: bool = True,
    caller: str = CLIENT,
    rec: str = "RE1",
    offset: int = 0,
) -> list[RawRequest]:
    """Caller → our number → <Dial> client:101; 7 s of ringing, 95 s of talk (or no answer)."""
    parent = {"CallSid": sid, "Direction": "inbound", "From": caller, "To": OURS}
    leg = {"CallSid": f"{sid}-leg", "ParentCallSid": sid, "Direction": "outbound-dial"}
    leg |= {"From": caller, "To": "client:101"}

    def status(fields: dict[str, str], state: str, seq: int, second: int) -> RawRequest:
        extra = {"CallStatus": state, "SequenceNumber": str(seq)}
        extra |= {"Timestamp": ts(offset + second)}
        return twilio_request("status", fields | extra)

    requests = [
        status(parent, "ringing", 0, 0),
        status(parent, "in-progress", 1, 0),
        status(leg, "ringing", 0, 0),
    ]
    if answered:
        requests += [status(leg, "in-progress", 1, 7), status(leg, "completed", 2, 102)]
        result = {"DialCallStatus": "completed", "DialCallDuration": "95"}
    else:
        requests += [status(leg, "no-answer", 1, 25)]
        result = {"DialCallStatus": "no-answer", "DialCallDuration": "0"}
    end = 102 if answered else 25
    dial = parent | result | {"DialCallSid": f"{sid}-leg", "Timestamp": ts(offset + end)}
    requests += [twilio_request("dial-action", dial), status(parent, "completed", 2, end)]
    if answered:
        recording = {"CallSid": sid, "RecordingSid": rec, "RecordingStatus": "completed"}
        recording |= {"RecordingUrl": REC.replace("RE1", rec), "Timestamp": ts(offset + 130)}
        requests.append(twilio_request("recording", recording))
    return requests


def outbound_api(sid: str = "CA9", result: str = "completed") -> list[RawRequest]:
    """A call we placed through the REST API to the client."""
    fields = {"CallSid": sid, "Direction": "outbound-api", "From": OURS, "To": "+79037654321"}
    states = ["initiated", "ringing"] + (["in-progress"] if result == "completed" else [])
    requests = [
        twilio_request("status", fields | {"CallStatus": s, "SequenceNumber": str(i),
                                           "Timestamp": ts(i * 5)})
        for i, s in enumerate(states)
    ]  # fmt: skip
    done = {"CallStatus": result, "SequenceNumber": "9", "Timestamp": ts(60)}
    done |= {"CallDuration": "42" if result == "completed" else "0"}
    return [*requests, twilio_request("status", fields | done)]


async def test_inbound_answered_call_is_logged_with_agent_durations_and_recording(
    pbx: Pbx, anna: User
) -> None:
    await pbx.deliver(inbound(), "twilio")
    await pbx.process()

    call = await pbx.assert_answered_inbound("twilio", anna, client=CLIENT, our_phone=OURS)
    assert (call.ring_seconds, call.talk_seconds, call.recording) == (7, 95, REC)
    assert (call.started_at, call.answered_at) == (T0, T0 + timedelta(seconds=7))
    assert call.ended_at == T0 + timedelta(seconds=102)
    assert await pbx.callbacks() == []


async def test_recording_callback_after_the_call_attaches_only_the_recording(
    pbx: Pbx, anna: User
) -> None:
    *call_events, recording = inbound()
    assert await pbx.recording_after_the_call(call_events, [recording], "twilio") == REC


async def test_missed_calls_share_a_task_that_the_next_answered_call_closes(
    pbx: Pbx, anna: User
) -> None:
    await pbx.deliver(inbound("CA-M1", answered=False), "twilio")
    await pbx.process()
    missed = await pbx.only_call("twilio")
    assert (missed.status, missed.talk_seconds, missed.user_id) == ("missed", 0, anna.id)
    [task] = await pbx.callbacks(CLIENT)
    assert (task.owner_id, task.missed_count, task.created_at) == (
        anna.id,
        1,
        T0 + timedelta(seconds=25),
    )
    assert [n.user_id for n in await pbx.notifications("missed_call")] == [anna.id]

    await pbx.missed_again(inbound("CA-M2", answered=False, offset=600), "twilio", CLIENT)

    await pbx.deliver(inbound("CA-A3", offset=1800), "twilio")
    task, answered = await pbx.called_back(CLIENT, Call.provider_call_id == "CA-A3")
    assert task.done_at == answered.answered_at == T0 + timedelta(seconds=1807)
    assert task.time_to_callback_seconds == 1807 - 25
    assert answered.callback_of_id == missed.id


async def test_the_same_story_applied_in_one_processor_batch(pbx: Pbx, anna: User) -> None:
    """The batch keeps its open-task map current: missed, missed again, answered — one batch."""
    await pbx.deliver(inbound("CA-M1", answered=False), "twilio")
    await pbx.deliver(inbound("CA-M2", answered=False, offset=600), "twilio")
    await pbx.deliver(inbound("CA-A3", offset=1800), "twilio")
    await pbx.process()
    [task] = await pbx.callbacks(CLIENT)
    [first] = await pbx.load(Call, Call.provider_call_id == "CA-M1")
    [answered] = await pbx.load(Call, Call.provider_call_id == "CA-A3")
    assert (task.owner_id, task.missed_count, task.source_call_id) == (anna.id, 2, first.id)
    assert (task.status, task.closed_by_call_id) == ("done", answered.id)
    assert answered.callback_of_id == first.id
    [note] = await pbx.notifications("missed_call")
    assert (note.user_id, note.dedupe_key) == (anna.id, f"missed:{first.id}")
    assert (note.payload["call_id"], note.payload["activity_id"]) == (first.id, task.id)


@pytest.mark.parametrize(
    ("result", "status", "talk"),
    [("completed", "answered", 42), ("busy", "busy", 0), ("no-answer", "missed", 0)],
)
async def test_outbound_api_call_is_logged_without_a_callback_task(
    pbx: Pbx, result: str, status: str, talk: int
) -> None:
    call = await pbx.assert_outbound_call(outbound_api(result=result), "twilio", status, talk)
    assert call.our_phone == OURS


async def test_duplicates_are_stored_once_and_answered_200(pbx: Pbx) -> None:
    sequence = inbound(answered=False)
    await pbx.deliver_twice(sequence, "twilio")
    await pbx.process()
    [task] = await pbx.callbacks()
    assert task.missed_count == 1


async def test_any_arrival_order_ends_in_the_same_call(pbx: Pbx, anna: User) -> None:
    for answered in (True, False):
        await pbx.deliver(inbound(f"ORD-{answered}", answered=answered), "twilio")
        await pbx.process()
        [ordered] = await pbx.load(Call, Call.provider_call_id == f"ORD-{answered}")
        for seed in range(1, 4):
            sid = f"MIX-{answered}-{seed}"
            mixed = inbound(sid, answered=answered, rec=f"RE-{sid}")
            got = await pbx.shuffled_end_state(mixed, "twilio", sid, seed)
            want = end_state(ordered)
            assert (got.pop("recording") is None) == (want.pop("recording") is None)
            assert got == want, sid


@pytest.mark.parametrize("caller", ["anonymous", "abc", "+", "' OR 1=1 --", "266696687", "1" * 40])
async def test_odd_caller_ids_are_kept_raw(pbx: Pbx, caller: str) -> None:
    await pbx.assert_odd_number_kept_raw(inbound(caller=caller, answered=False), "twilio", caller)


async def test_forged_or_missing_signature_is_401_with_a_reason(pbx: Pbx) -> None:
    good = inbound()[0]
    forged = twilio_request("status", dict(good.form), auth_token="someone-elses-token")
    response = await pbx.send(forged, "twilio")
    assert response.status_code == 401
    assert response.json()["detail"] == "X-Twilio-Signature does not match"
    tampered = await pbx.client.post(
        "/webhooks/twilio/status",
        content=good.body.replace(b"ringing", b"completed"),
        headers={"content-type": FORM, **good.headers},
    )
    assert tampered.status_code == 401
    bare = await pbx.client.post("/webhooks/twilio/status", data=dict(good.form))
    assert (bare.status_code, bare.json()["detail"]) == (401, "X-Twilio-Signature is missing")
    assert await pbx.inbox_count() == 0


async def test_without_an_auth_token_twilio_is_disabled(pbx: Pbx) -> None:
    pbx.web.provider_secrets = {"GENERIC_TOKEN": "g"}
    response = await pbx.send(inbound()[0], "twilio")
    assert response.status_code == 404
    assert "PEREZVON_TWILIO_AUTH_TOKEN" in response.json()["detail"]


async def test_body_over_64_kib_is_413(pbx: Pbx) -> None:
    big = twilio_request("status", {"CallSid": "CA1", "CallStatus": "ringing", "x": "y" * 70_000})
    response = await pbx.send(big, "twilio")
    assert response.status_code == 413 and await pbx.inbox_count() == 0


async def test_signed_callback_without_call_sid_is_400_and_unknown_path_404(pbx: Pbx) -> None:
    response = await pbx.send(twilio_request("status", {"CallStatus": "ringing"}), "twilio")
    assert (response.status_code, response.json()["detail"]) == (400, "field 'CallSid' is missing")
    unknown = twilio_request("whatever", {"CallSid": "CA1", "CallStatus": "ringing"})
    response = await pbx.send(unknown, "twilio")
    assert response.status_code == 404 and "whatever" in response.json()["detail"]
    signature = twilio.sign_form(
        TWILIO_AUTH_TOKEN, "https://crm.example.com/webhooks/twilio/status", []
    )
    not_utf8 = await pbx.client.post(
        "/webhooks/twilio/status",
        content=b"CallSid=\xff\xfe",
        headers={"content-type": FORM, twilio.SIGNATURE_HEADER: signature},
    )
    assert (not_utf8.status_code, not_utf8.json()["detail"]) == (400, "body is not UTF-8")
    assert await pbx.inbox_count() == 0


async def test_dial_action_is_answered_with_empty_twiml(pbx: Pbx) -> None:
    dial = next(r for r in inbound() if r.path == "dial-action")
    response = await pbx.send(dial, "twilio")
    assert response.status_code == 200 and response.text == twilio.EMPTY_TWIML
    assert response.headers["content-type"].startswith("text/xml")
