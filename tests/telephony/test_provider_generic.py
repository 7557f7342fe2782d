"""Generic (Asterisk/FreePBX/any PBX) adapter: token, keys, our schema, the lookup answers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CallEvent
from telephony_webhooks.providers import generic
from telephony_webhooks.providers.base import (
    Accepted,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
)
from tests.fakes.twilio_signer import TEST_SECRETS, generic_event, generic_lookup
from tests.telephony.adapters import verify_refusal

OPTIONS = ProviderOptions(account_timezone="Europe/Moscow")
LINKEDID = "1748941200.101"
START = 1748941200  # 2025-06-03 09:00:00 UTC
CLIENT = "+79161234567"
DID = "74951234567"


def at(second: int) -> datetime:
    return datetime.fromtimestamp(START + second, UTC)


def asterisk(event: str, second: int, **fields: Any) -> RawRequest:
    """A form-encoded event as the dialplan in docs/asterisk.md posts it."""
    base = {
        "event": event,
        "linkedid": LINKEDID,
        "uniqueid": LINKEDID,
        "direction": "in",
        "from": CLIENT,
        "to": DID,
        "did": DID,
        "timestamp": str(START + second),
    }
    return generic_event({**base, **fields}, as_json=False)


def events(request: RawRequest) -> list[CallEvent]:
    generic.verify(request, TEST_SECRETS)
    accepted = generic.accept(request)
    parsed = generic.parse(request, OPTIONS)
    assert [event.provider_call_id for event in parsed] == [accepted.call_key]
    return parsed


# --- token ------------------------------------------------------------------------------------


def test_token_header_and_bearer_are_accepted() -> None:
    request = asterisk("start", 0)
    generic.verify(request, TEST_SECRETS)
    bearer = {"authorization": f"Bearer {TEST_SECRETS['GENERIC_TOKEN']}"}
    generic.verify(replace(request, headers=bearer), TEST_SECRETS)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "token is missing"),
        ({"x-perezvon-token": "wrong"}, "token does not match"),
        ({"authorization": "Bearer wrong"}, "token does not match"),
        ({"x-perezvon-token": "токен✓"}, "token does not match"),
        ({"authorization": "Basic Zm9vOmJhcg=="}, "token is missing"),
    ],
)
def test_bad_or_missing_token_is_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(ProviderError) as caught:
        generic.verify(replace(asterisk("start", 0), headers=headers), TEST_SECRETS)
    assert (caught.value.status_code, caught.value.reason) == (401, reason)


def test_token_in_query_is_accepted_for_the_lookup_only() -> None:
    generic.verify(generic_lookup(CLIENT, token_in_query=True), TEST_SECRETS)
    event = replace(
        asterisk("start", 0), headers={}, query={"token": TEST_SECRETS["GENERIC_TOKEN"]}
    )
    assert verify_refusal(generic, event).status_code == 401


def test_unconfigured_generic_is_404() -> None:
    with pytest.raises(ProviderError) as caught:
        generic.verify(asterisk("start", 0), {"GENERIC_TOKEN": ""})
    assert caught.value.status_code == 404


# --- accept -----------------------------------------------------------------------------------


def test_duplicate_delivery_has_the_same_dedupe_key() -> None:
    first, again = generic.accept(asterisk("end", 90)), generic.accept(asterisk("end", 90))
    assert first == again
    assert first.dedupe_key == f"generic:{LINKEDID}:end:{LINKEDID}"
    assert (first.call_key, first.event_type) == (LINKEDID, "end")


def test_ringing_at_two_extensions_are_two_events() -> None:
    keys = {
        generic.accept(
            generic_event({"event": "ringing", "call_id": "c1", "extension": ext})
        ).dedupe_key
        for ext in ("101", "102")
    }
    assert keys == {"generic:c1:ringing:101", "generic:c1:ringing:102"}


def test_call_id_wins_over_linkedid_and_long_ids_are_hashed() -> None:
    both = generic.accept(generic_event({"event": "start", "call_id": "X", "linkedid": "Y"}))
    assert both.call_key == "X"
    long_id = generic.accept(generic_event({"event": "start", "call_id": "z" * 500}))
    assert long_id.call_key is not None
    assert long_id.call_key.startswith("sha1:")
    assert len(long_id.dedupe_key) <= 255


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"event=start", "field 'call_id' (or 'linkedid') is missing"),
        (b"call_id=1", "field 'event' is missing"),
        (b"event=transfer&call_id=1", "unknown event 'transfer'"),
        (b'{"event": "start", "call_id": ', "body is not valid JSON"),
        (b'["start"]', "JSON body must be an object"),
        (b"\xff\xfe=1", "body is not UTF-8"),
    ],
)
def test_unusable_body_is_400(body: bytes, reason: str) -> None:
    request = replace(asterisk("start", 0), body=body, form={}, content_type="")
    with pytest.raises(ProviderError) as caught:
        generic.accept(request)
    assert caught.value.status_code == 400
    assert caught.value.reason.startswith(reason)


def test_lookup_is_not_stored_and_names_the_number() -> None:
    accepted = generic.accept(generic_lookup(CLIENT))
    assert (accepted.store, accepted.lookup_number, accepted.call_key) == (False, CLIENT, None)
    with pytest.raises(ProviderError) as caught:
        generic.accept(generic_lookup(""))
    assert caught.value.status_code == 400


# --- parse: sequences -------------------------------------------------------------------------


def test_inbound_answered_call_in_json() -> None:
    def post(event: str, **fields: Any) -> list[CallEvent]:
        body = {"event": event, "call_id": "call-7", "direction": "inbound", "from": CLIENT}
        return events(generic_event({**body, "to": DID, **fields}))

    (start,) = post("start", timestamp="2025-06-03T12:00:00+03:00")
    assert (start.kind, start.direction, start.client_number, start.our_number) == (
        "ringing",
        "in",
        CLIENT,
        DID,
    )
    assert start.occurred_at == at(0)
    (ringing,) = post("ringing", extension="101", timestamp=START + 1)
    assert (ringing.kind, ringing.extension) == ("ringing", "101")
    (answered,) = post("answer", extension="101", timestamp=START + 15)
    assert (answered.kind, answered.answered_at) == ("answered", at(15))
    (final,) = post("end", status="answered", duration=110, billsec=95, timestamp=START + 110)
    assert (final.kind, final.status, final.talk_seconds, final.ring_seconds) == (
        "final",
        "answered",
        95,
        15,
    )
    assert final.ended_at == at(110)
    (record,) = post(
        "record", recording="https://pbx.example.com/rec/call-7.mp3", timestamp=START + 200
    )
    assert (record.kind, record.recording) == (
        "recording",
        "https://pbx.example.com/rec/call-7.mp3",
    )


@pytest.mark.parametrize(
    ("dialstatus", "disposition", "status"),
    [
        ("NOANSWER", "NO ANSWER", "missed"),
        ("CANCEL", "NO ANSWER", "missed"),
        ("BUSY", "BUSY", "busy"),
        ("CHANUNAVAIL", "FAILED", "failed"),
        ("", "NO ANSWER", "missed"),
        ("ANSWER", "ANSWERED", "answered"),
    ],
)
def test_asterisk_end_status_comes_from_dialstatus_then_disposition(
    dialstatus: str, disposition: str, status: str
) -> None:
    (final,) = events(
        asterisk(
            "end", 30, dialstatus=dialstatus, disposition=disposition, duration="30", billsec="0"
        )
    )
    assert (final.kind, final.status) == ("final", status)


def test_dialstatus_beats_an_ivr_answered_disposition() -> None:
    # An IVR answered the channel (CDR says ANSWERED) but nobody picked up the dialled phone.
    (final,) = events(
        asterisk("end", 40, dialstatus="NOANSWER", disposition="ANSWERED", billsec="25")
    )
    assert final.status == "missed"


def test_asterisk_answered_call_takes_the_extension_from_dstchannel() -> None:
    request = asterisk(
        "end",
        110,
        dialstatus="ANSWER",
        disposition="ANSWERED",
        dstchannel="PJSIP/102-00000013",
        duration="110",
        billsec="95",
        started_at=str(START),
        answered_at=f"{START + 15}.250000",
        recording="20250603-120000-74951234567-79161234567-1748941200.101.wav",
    )
    (final,) = events(request)
    assert (final.extension, final.started_at, final.talk_seconds) == ("102", at(0), 95)
    assert final.answered_at == datetime(2025, 6, 3, 9, 0, 15, 250000, tzinfo=UTC)
    assert final.recording is not None
    assert final.recording.endswith(".wav")


def test_unanswered_cdr_answer_time_of_zero_means_none() -> None:
    (final,) = events(asterisk("end", 20, answered_at="0.000000", dialstatus="NOANSWER"))
    assert final.answered_at is None


def test_outbound_end_keeps_the_caller_extension_not_the_trunk_channel() -> None:
    request = asterisk(
        "end",
        60,
        direction="out",
        dstchannel="PJSIP/trunk-0000002a",
        **{"from": "101", "to": "89161234567"},
    )
    (final,) = events(request)
    assert (final.extension, final.client_number) == ("101", "89161234567")


def test_outbound_call_puts_the_dialled_number_as_client() -> None:
    (start,) = events(asterisk("start", 0, direction="out", **{"from": "101", "to": "89161234567"}))
    assert (start.direction, start.client_number, start.extension) == ("out", "89161234567", "101")


def test_naive_iso_time_is_in_the_account_zone() -> None:
    (event,) = events(
        generic_event({"event": "start", "call_id": "c", "timestamp": "2025-06-03 12:00:00"})
    )
    assert event.occurred_at == at(0)


def test_event_without_time_uses_the_receive_time() -> None:
    received = datetime(2025, 6, 3, 9, 5, tzinfo=UTC)
    (event,) = events(generic_event({"event": "hangup", "call_id": "c"}, received_at=received))
    assert (event.occurred_at, event.ended_at) == (received, received)


@pytest.mark.parametrize("timestamp", ["yesterday", "2025-13-45T00:00:00"])
def test_unparseable_time_is_400(timestamp: str) -> None:
    with pytest.raises(ProviderError) as caught:
        generic.parse(
            generic_event({"event": "start", "call_id": "c", "timestamp": timestamp}), OPTIONS
        )
    assert caught.value.status_code == 400


def test_record_without_recording_is_400() -> None:
    with pytest.raises(ProviderError) as caught:
        generic.parse(
            generic_event({"event": "record", "call_id": "c", "timestamp": START}), OPTIONS
        )
    assert caught.value.reason == "field 'recording' is missing"


@pytest.mark.parametrize(
    "number", ["Anonymous", "+0933123", "sip:bob@pbx", "", "8 (916) 123-45-67", "☎"]
)
def test_odd_numbers_stay_raw(number: str) -> None:
    (event,) = events(asterisk("start", 0, **{"from": number}))
    assert event.client_number == (number.strip() or None)


def test_nested_json_values_are_ignored_not_trusted() -> None:
    body = {"event": "end", "call_id": "c", "timestamp": START, "billsec": {"x": 1}, "from": [1]}
    (event,) = events(generic_event(body))
    assert (event.talk_seconds, event.client_number) == (None, None)


# --- reply ------------------------------------------------------------------------------------

OWNED = LookupResult(
    contact_id=7,
    contact_name="Иван Петров",
    company_name="ООО Ромашка",
    owner_name="Анна",
    owner_extension="101",
)


def answer(request: RawRequest, lookup: LookupResult | None) -> tuple[str, str | bytes]:
    response = generic.reply(request, generic.accept(request), lookup, OPTIONS)
    return response.media_type, response.body


def test_lookup_json_answer() -> None:
    media_type, body = answer(generic_lookup(CLIENT), OWNED)
    assert media_type == "application/json"
    assert json.loads(body) == {
        "found": True,
        "contact_id": 7,
        "name": "Иван Петров",
        "company": "ООО Ромашка",
        "owner": "Анна",
        "owner_extension": "101",
    }
    assert json.loads(answer(generic_lookup(CLIENT), None)[1])["found"] is False


def test_lookup_text_answer_for_dialplan() -> None:
    assert answer(generic_lookup(CLIENT, text=True), OWNED) == ("text/plain", "Иван Петров|101")
    assert answer(generic_lookup(CLIENT, text=True), None) == ("text/plain", "")
    assert answer(generic_lookup(CLIENT, text=True), LookupResult()) == ("text/plain", "")


def test_lookup_text_cannot_inject_a_separator_or_route() -> None:
    hostile = LookupResult(contact_id=1, contact_name="A|B\nC", owner_extension="10;Dial(x)1")
    assert answer(generic_lookup(CLIENT, text=True), hostile)[1] == "A B C|101"


def test_event_reply_is_a_json_ack() -> None:
    request = asterisk("start", 0)
    response = generic.reply(request, generic.accept(request), None, OPTIONS)
    assert json.loads(response.body) == {"ok": True}


# --- property ---------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "event",
        "call_id",
        "linkedid",
        "uniqueid",
        "direction",
        "from",
        "to",
        "extension",
        "dstchannel",
        "status",
        "dialstatus",
        "disposition",
        "duration",
        "billsec",
        "timestamp",
        "started_at",
        "answered_at",
        "ended_at",
        "recording",
    ]
)
_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.sampled_from(["start", "end", "record", "answer", "ANSWERED", "NO ANSWER", "1748941200"]),
    st.sampled_from(["2025-06-03T12:00:00", "9999-12-31T23:59:59-23:59", "0001-01-01", "1e9"]),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(st.one_of(_KEYS, st.text(max_size=5)), _JSON_VALUES, max_size=12),
    as_json=st.booleans(),
    raw=st.one_of(st.none(), st.binary(max_size=100)),
)
def test_random_events_raise_only_provider_errors(
    fields: dict[str, Any], as_json: bool, raw: bytes | None
) -> None:
    try:
        request = generic_event(fields, as_json=as_json)
    except ValueError:
        return  # json.dumps of NaN is allowed; anything else it refuses never reaches us
    if raw is not None:
        request = replace(request, body=raw, form={})
    accepted: Accepted | None = None
    refused: int | None = None
    try:
        accepted = generic.accept(request)
        generic.parse(request, OPTIONS)
    except ProviderError as error:
        refused = error.status_code
    assert refused in {None, 400}
    if accepted is not None:
        assert len(accepted.dedupe_key) <= 255
        assert accepted.call_key is None or len(accepted.call_key) <= 128
