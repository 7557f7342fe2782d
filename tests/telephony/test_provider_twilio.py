"""Twilio adapter: signature, dedupe and call keys, and full call sequences as CallEvents."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CallEvent
from telephony_webhooks.providers import twilio
from telephony_webhooks.providers.base import ProviderError, ProviderOptions, RawRequest
from tests.fakes.twilio_signer import TEST_SECRETS, twilio_request
from tests.telephony.adapters import verify_refusal

OPTIONS = ProviderOptions()
PARENT = "CA" + "a" * 32
CHILD = "CA" + "b" * 32
OUTBOUND = "CA" + "c" * 32
CLIENT = "+79161234567"
OURS = "+74951234567"
RECEIVED = datetime(2025, 6, 3, 9, 1, 40, tzinfo=UTC)


def ts(second: int) -> str:
    """Twilio's RFC 2822 Timestamp at 09:00:<second> UTC."""
    return f"Tue, 03 Jun 2025 09:00:{second:02d} +0000"


def at(second: int) -> datetime:
    return datetime(2025, 6, 3, 9, 0, second, tzinfo=UTC)


def inbound_status(status: str, sequence: int, **extra: str) -> RawRequest:
    params = {
        "CallSid": PARENT,
        "From": CLIENT,
        "To": OURS,
        "Direction": "inbound",
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "Timestamp": ts(sequence * 10),
        "CallbackSource": "call-progress-events",
        **extra,
    }
    return twilio_request("status", params)


def agent_leg(status: str, sequence: int) -> RawRequest:
    params = {
        "CallSid": CHILD,
        "ParentCallSid": PARENT,
        "From": CLIENT,
        "To": "client:alice",
        "Direction": "outbound-dial",
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "Timestamp": ts(5 + sequence),
    }
    return twilio_request("status", params)


def dial_action(result: str, duration: str = "0") -> RawRequest:
    params = {
        "CallSid": PARENT,
        "From": CLIENT,
        "To": OURS,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        "DialCallSid": CHILD,
        "DialCallStatus": result,
        "DialCallDuration": duration,
        "DialBridged": "true" if result == "completed" else "false",
    }
    return twilio_request("dial-action", params, received_at=RECEIVED)


def recording(status: str = "completed") -> RawRequest:
    params = {
        "CallSid": PARENT,
        "RecordingSid": "RE" + "d" * 32,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE{'d' * 32}",
        "RecordingStatus": status,
        "RecordingDuration": "95",
        "RecordingChannels": "2",
        "RecordingStartTime": ts(20),
        "RecordingSource": "DialVerb",
    }
    return twilio_request("recording", params)


def outbound_status(status: str, sequence: int, duration: str | None = None) -> RawRequest:
    params = {
        "CallSid": OUTBOUND,
        "From": OURS,
        "To": CLIENT,
        "Direction": "outbound-api",
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "Timestamp": ts(sequence),
    }
    if duration is not None:
        params["CallDuration"] = duration
    return twilio_request("status", params)


def events(request: RawRequest) -> list[CallEvent]:
    twilio.verify(request, TEST_SECRETS)
    accepted = twilio.accept(request)
    parsed = twilio.parse(request, OPTIONS)
    assert all(event.provider_call_id == accepted.call_key for event in parsed)
    return parsed


# --- signature --------------------------------------------------------------------------------


def test_signature_matches_the_sdk_test_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio.sign_form("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signed_callback_verifies() -> None:
    twilio.verify(inbound_status("ringing", 0), TEST_SECRETS)


def test_signature_over_the_url_with_default_port_is_accepted() -> None:
    signed = twilio_request(
        "status",
        {"CallSid": PARENT, "CallStatus": "ringing"},
        url="https://crm.example.com:443/webhooks/twilio/status",
    )
    twilio.verify(
        replace(signed, url="https://crm.example.com/webhooks/twilio/status"), TEST_SECRETS
    )


def test_missing_signature_is_401() -> None:
    request = inbound_status("ringing", 0)
    with pytest.raises(ProviderError) as caught:
        twilio.verify(replace(request, headers={}), TEST_SECRETS)
    assert (caught.value.status_code, caught.value.reason) == (401, "X-Twilio-Signature is missing")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda r: replace(r, form={**r.form, "CallStatus": "busy"}, body=b""), id="param"
        ),
        pytest.param(lambda r: replace(r, url=r.url + "?x=1"), id="url"),
        pytest.param(lambda r: replace(r, headers={"x-twilio-signature": "AAAA"}), id="sig"),
    ],
)
def test_tampered_request_is_401(tamper: Callable[[RawRequest], RawRequest]) -> None:
    request = tamper(inbound_status("ringing", 0))
    refusal = verify_refusal(twilio, request)
    assert refusal.status_code == 401
    assert "does not match" in refusal.reason


def test_wrong_auth_token_is_401() -> None:
    request = twilio_request("status", {"CallSid": PARENT, "CallStatus": "ringing"}, auth_token="x")
    assert verify_refusal(twilio, request).status_code == 401


def test_non_ascii_signature_header_is_401_not_type_error() -> None:
    request = replace(inbound_status("ringing", 0), headers={"x-twilio-signature": "подпись€"})
    assert verify_refusal(twilio, request).status_code == 401


def test_unconfigured_twilio_is_404() -> None:
    with pytest.raises(ProviderError) as caught:
        twilio.verify(inbound_status("ringing", 0), {})
    assert caught.value.status_code == 404


def test_json_body_is_checked_against_body_sha256() -> None:
    body = b'{"CallSid": "CA1"}'
    url = f"https://crm.example.com/webhooks/twilio/status?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = twilio.sign_form(TEST_SECRETS["TWILIO_AUTH_TOKEN"], url, {})
    request = RawRequest(
        "POST", url, "status", {"x-twilio-signature": signature}, {}, body, "application/json"
    )
    twilio.verify(request, TEST_SECRETS)
    with pytest.raises(ProviderError) as caught:
        twilio.verify(replace(request, body=b'{"CallSid": "CA2"}'), TEST_SECRETS)
    assert caught.value.reason == "bodySHA256 does not match the body"


# --- accept: keys -----------------------------------------------------------------------------


def test_duplicate_delivery_has_the_same_dedupe_key() -> None:
    first, again = (
        twilio.accept(inbound_status("ringing", 0)),
        twilio.accept(inbound_status("ringing", 0)),
    )
    assert first.dedupe_key == again.dedupe_key == f"twilio:status:{PARENT}:0"
    assert first.call_key == PARENT
    assert first.event_type == "status:ringing"


def test_each_status_of_a_call_has_its_own_dedupe_key() -> None:
    keys = {
        twilio.accept(outbound_status(s, n)).dedupe_key
        for n, s in enumerate(["initiated", "ringing"])
    }
    assert len(keys) == 2


def test_agent_leg_belongs_to_the_parent_call() -> None:
    accepted = twilio.accept(agent_leg("ringing", 0))
    assert accepted.call_key == PARENT
    assert accepted.dedupe_key == f"twilio:status:{CHILD}:0"


def test_recording_and_dial_action_keys() -> None:
    assert twilio.accept(recording()).dedupe_key == f"twilio:recording:RE{'d' * 32}:completed"
    dial = twilio.accept(dial_action("no-answer"))
    assert dial.dedupe_key == f"twilio:dial-action:{PARENT}:{CHILD}:no-answer"
    assert dial.call_key == PARENT


@pytest.mark.parametrize(
    ("path", "params", "missing"),
    [
        ("status", {"CallStatus": "ringing"}, "CallSid"),
        ("status", {"CallSid": PARENT}, "CallStatus"),
        ("dial-action", {"CallSid": PARENT}, "DialCallStatus"),
        ("recording", {"CallSid": PARENT, "RecordingStatus": "completed"}, "RecordingSid"),
    ],
)
def test_missing_required_field_is_400(path: str, params: dict[str, str], missing: str) -> None:
    with pytest.raises(ProviderError) as caught:
        twilio.accept(twilio_request(path, params))
    assert caught.value.status_code == 400
    assert missing in caught.value.reason


def test_unknown_callback_path_is_404() -> None:
    with pytest.raises(ProviderError) as caught:
        twilio.accept(twilio_request("voice", {"CallSid": PARENT}))
    assert caught.value.status_code == 404


# --- parse: sequences -------------------------------------------------------------------------


def test_inbound_answered_call() -> None:
    ringing = events(inbound_status("ringing", 0))
    assert [(e.kind, e.direction, e.client_number, e.our_number) for e in ringing] == [
        ("ringing", "in", CLIENT, OURS)
    ]
    assert ringing[0].started_at == at(0)
    assert events(inbound_status("in-progress", 1)) == []  # Twilio answered, not a person
    leg_ringing, leg_answered = events(agent_leg("ringing", 0)), events(agent_leg("in-progress", 1))
    assert [(e.kind, e.extension, e.occurred_at) for e in leg_ringing + leg_answered] == [
        ("ringing", "alice", at(5)),
        ("answered", "alice", at(6)),
    ]
    assert events(agent_leg("completed", 2)) == []
    (final,) = events(dial_action("completed", "95"))
    assert (final.kind, final.status, final.talk_seconds, final.direction) == (
        "final",
        "answered",
        95,
        "in",
    )
    assert final.occurred_at == final.ended_at == RECEIVED
    (ended,) = events(inbound_status("completed", 2, CallDuration="110"))
    assert (ended.kind, ended.status, ended.talk_seconds, ended.ended_at) == (
        "ended",
        None,
        None,
        at(20),
    )
    (late,) = events(recording())
    assert late.kind == "recording"
    assert late.recording is not None
    assert late.recording.endswith("RE" + "d" * 32)
    assert late.provider_call_id == PARENT


@pytest.mark.parametrize(
    ("result", "status"),
    [("no-answer", "missed"), ("busy", "busy"), ("canceled", "missed"), ("failed", "failed")],
)
def test_inbound_missed_call_is_decided_by_the_dial_result(result: str, status: str) -> None:
    (final,) = events(dial_action(result))
    assert (final.kind, final.status, final.talk_seconds, final.disposition) == (
        "final",
        status,
        0,
        result,
    )
    # The parent still reports `completed` (Twilio ran the TwiML): it must not say answered.
    (ended,) = events(inbound_status("completed", 2, CallDuration="31"))
    assert ended.status is None
    assert ended.kind == "ended"


def test_outbound_api_call() -> None:
    kinds = [
        [(e.kind, e.status, e.talk_seconds) for e in events(request)]
        for request in [
            outbound_status("queued", 0),
            outbound_status("initiated", 1),
            outbound_status("ringing", 2),
            outbound_status("in-progress", 3),
            outbound_status("completed", 4, duration="42"),
        ]
    ]
    assert kinds == [
        [],
        [("ringing", None, None)],
        [("ringing", None, None)],
        [("answered", None, None)],
        [("final", "answered", 42)],
    ]
    (final,) = events(outbound_status("completed", 4, duration="42"))
    assert (final.direction, final.client_number, final.our_number) == ("out", CLIENT, OURS)


@pytest.mark.parametrize(("result", "status"), [("busy", "busy"), ("no-answer", "missed")])
def test_outbound_api_call_not_answered(result: str, status: str) -> None:
    (final,) = events(outbound_status(result, 2))
    assert (final.kind, final.status, final.talk_seconds) == ("final", status, 0)


def test_softphone_call_out_is_outbound_with_the_agent_as_extension() -> None:
    request = twilio_request(
        "status",
        {
            "CallSid": PARENT,
            "From": "client:alice",
            "To": CLIENT,
            "Direction": "inbound",
            "CallStatus": "ringing",
            "Timestamp": ts(0),
        },
    )
    (event,) = events(request)
    assert (event.direction, event.client_number, event.extension) == ("out", CLIENT, "alice")


def test_recording_in_progress_changes_nothing() -> None:
    assert events(recording("in-progress")) == []


def test_dial_action_with_recording_url_also_attaches_the_recording() -> None:
    request = dial_action("completed", "12")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"
    request = twilio_request(
        "dial-action", {**request.form, "RecordingUrl": url}, received_at=RECEIVED
    )
    assert [(e.kind, e.recording) for e in events(request)] == [("final", None), ("recording", url)]


@pytest.mark.parametrize(
    "caller", ["Anonymous", "+0933123", "sip:bob@example.com", "", "266696687"]
)
def test_odd_caller_numbers_stay_raw_and_do_not_crash(caller: str) -> None:
    (event,) = events(inbound_status("ringing", 0, From=caller))
    assert event.client_number == (caller or None)


def test_unparseable_timestamp_falls_back_to_the_receive_time() -> None:
    request = twilio_request(
        "status",
        {"CallSid": PARENT, "CallStatus": "ringing", "Direction": "inbound", "Timestamp": "soon"},
        received_at=RECEIVED,
    )
    (event,) = events(request)
    assert event.occurred_at == RECEIVED


# --- reply ------------------------------------------------------------------------------------


def test_dial_action_reply_is_empty_twiml() -> None:
    request = dial_action("completed", "5")
    response = twilio.reply(request, twilio.accept(request), None, OPTIONS)
    assert response.media_type == "text/xml"
    assert ET.fromstring(response.body).tag == "Response"
    assert len(ET.fromstring(response.body)) == 0


def test_status_reply_is_plain_200() -> None:
    request = inbound_status("ringing", 0)
    response = twilio.reply(request, twilio.accept(request), None, OPTIONS)
    assert (response.status_code, response.body) == (200, "")


# --- property ---------------------------------------------------------------------------------

_NAMES = [
    "CallSid",
    "ParentCallSid",
    "CallStatus",
    "Direction",
    "From",
    "To",
    "SequenceNumber",
    "Timestamp",
    "CallDuration",
    "DialCallStatus",
    "DialCallSid",
    "DialCallDuration",
    "RecordingSid",
    "RecordingUrl",
    "RecordingStatus",
    "RecordingStartTime",
]
_VALUES = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        ["completed", "in-progress", "ringing", "no-answer", "busy", "inbound", "outbound-dial"]
    ),
    st.sampled_from(["Tue, 03 Jun 2025 09:00:00 +0000", "Mon, 99 Foo 2025", "-1", "1e400"]),
)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from([*twilio.PATHS, "x"]),
    params=st.dictionaries(st.one_of(st.sampled_from(_NAMES), st.text(max_size=5)), _VALUES),
    body=st.one_of(st.none(), st.binary(max_size=200)),
    header=st.text(max_size=40),
)
def test_random_callbacks_raise_only_provider_errors(
    path: str, params: dict[str, str], body: bytes | None, header: str
) -> None:
    request = twilio_request(path, params, received_at=RECEIVED)
    if body is not None:
        request = replace(request, body=body, form={}, headers={"x-twilio-signature": header})
    for step in (
        lambda: twilio.verify(request, TEST_SECRETS),
        lambda: twilio.accept(request),
        lambda: twilio.parse(request, OPTIONS),
    ):
        refused: int | None = None
        try:
            step()
        except ProviderError as error:
            refused = error.status_code
        assert refused in {None, 400, 401, 404}


def test_stored_request_without_decoded_form_parses_from_the_body() -> None:
    # The processor rebuilds requests from the inbox: body and content type, no form.
    stored = replace(dial_action("busy"), form={})
    twilio.verify(stored, TEST_SECRETS)
    (final,) = twilio.parse(stored, OPTIONS)
    assert (final.status, final.provider_call_id) == ("busy", PARENT)
