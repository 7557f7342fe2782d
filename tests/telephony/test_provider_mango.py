"""Mango Office adapter: sign, keys per event path, legs and summary mapping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CallEvent
from telephony_webhooks.providers.base import ProviderError, ProviderOptions, RawRequest
from telephony_webhooks.providers.mango import MANGO, sign_mango
from tests.fakes.pbx_signers import (
    MANGO_API_KEY,
    MANGO_API_SALT,
    TEST_SECRETS,
    as_stored,
    form_request,
    mango_inbound_answered,
    mango_leg,
    mango_request,
    mango_summary,
)
from tests.telephony import adapters
from tests.telephony.adapters import assert_only_provider_errors, verify_refusal

OPTIONS = ProviderOptions()
ENTRY = "MTAxMjM0NTY3ODk6MTAx"


def events_of(requests: list[RawRequest]) -> list[CallEvent]:
    return adapters.events_of(MANGO, requests, OPTIONS)


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_sign_is_sha256_hex_of_key_json_salt() -> None:
    expected = hashlib.sha256(b'k{"a":1}s').hexdigest()
    assert sign_mango("k", '{"a":1}', "s") == expected


def test_signature_covers_the_exact_json_string_received() -> None:
    request = mango_request("events/call", mango_leg("Appeared"))
    MANGO.verify(request, TEST_SECRETS)
    # Same data, different spacing: what Mango signed is the string, not the object.
    respaced = json.dumps(json.loads(request.form["json"]))
    tampered = replace(request, form={**request.form, "json": respaced})
    assert verify_refusal(MANGO, tampered).status_code == 401


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sign": None}, "missing sign"),
        ({"sign": "0" * 64}, "does not match"),
        ({"sign": "знак"}, "does not match"),
        ({"sign": "\udcff"}, "does not match"),
        ({"vpbx_api_key": "someone-else"}, "vpbx_api_key"),
        ({"vpbx_api_key": None}, "vpbx_api_key"),
    ],
)
def test_bad_or_missing_sign_or_key_is_401(change: dict[str, str | None], reason: str) -> None:
    request = mango_request("events/summary", mango_summary())
    form = {k: v for k, v in {**request.form, **change}.items() if v is not None}
    refusal = verify_refusal(MANGO, replace(request, form=form))
    assert refusal.status_code == 401
    assert reason in refusal.reason


def test_wrong_salt_and_missing_settings_are_refused() -> None:
    with pytest.raises(ProviderError):
        MANGO.verify(mango_request("events/summary", mango_summary(), salt="x"), TEST_SECRETS)
    with pytest.raises(ProviderError):
        MANGO.verify(mango_request("events/summary", mango_summary()), {"MANGO_API_KEY": "k"})


def test_connection_check_without_json_is_acknowledged_and_not_stored() -> None:
    request = form_request("mango", {"vpbx_api_key": MANGO_API_KEY}, path="ping")
    MANGO.verify(request, TEST_SECRETS)
    accepted = MANGO.accept(request)
    assert not accepted.store
    assert MANGO.reply(request, accepted, None, OPTIONS).status_code == 200
    foreign = form_request("mango", {"vpbx_api_key": "other"}, path="ping")
    with pytest.raises(ProviderError):
        MANGO.verify(foreign, TEST_SECRETS)


def test_inbound_answered_call_through_ivr() -> None:
    events = events_of(mango_inbound_answered())
    kinds = [e.kind for e in events]
    # The IVR leg's end hands the call on; it is not the call's end.
    assert kinds == ["ringing", "ringing", "answered", "ended", "final", "recording", "recording"]
    assert {e.provider_call_id for e in events} == {ENTRY}
    assert all(e.direction == "in" for e in events[:5])
    assert all(e.client_number == "79161234567" for e in events[:5])
    ringing, answered = events[1], events[2]
    assert (ringing.extension, ringing.our_number) == ("101", "74951234567")
    assert answered.answered_at == at(1709638212)
    final = events[4]
    assert (final.status, final.extension, final.our_number) == ("answered", "101", "74951234567")
    assert (final.started_at, final.answered_at, final.ended_at) == (
        at(1709638200),
        at(1709638212),
        at(1709638307),
    )
    assert (final.ring_seconds, final.talk_seconds) == (7, 95)
    assert {e.recording for e in events[5:]} == {"REC-77"}


def test_inbound_missed_summary_is_missed_even_with_entry_result_one() -> None:
    payload = mango_summary(talk_time=0, forward_time=0, end_time=1709638230)
    (final,) = events_of([mango_request("events/summary", payload)])
    assert (final.kind, final.status, final.talk_seconds, final.ring_seconds) == (
        "final",
        "missed",
        0,
        30,
    )
    assert final.answered_at is None


@pytest.mark.parametrize(
    ("reason", "talk_time", "status"),
    [(1120, 1709638212, "answered"), (1121, 0, "busy"), (3100, 0, "failed"), (1111, 0, "missed")],
)
def test_outbound_summary_status(reason: int, talk_time: int, status: str) -> None:
    payload = mango_summary(
        direction=2,
        talk_time=talk_time,
        disconnect_reason=reason,
        caller={"extension": "101"},
        callee={"number": "79037654321"},
    )
    (final,) = events_of([mango_request("events/summary", payload)])
    assert (final.direction, final.status, final.extension) == ("out", status, "101")
    assert final.client_number == "79037654321"


def test_outbound_leg_has_employee_as_caller_and_client_as_callee() -> None:
    leg = mango_leg(
        "Appeared",
        caller={"extension": 101, "number": "sip:ivanov@x.mangosip.ru"},
        callee={"number": "79037654321", "line_number": "74951234567"},
    )
    (event,) = events_of([mango_request("events/call", leg)])
    assert (event.direction, event.extension, event.client_number) == ("out", "101", "79037654321")


def test_internal_call_between_extensions() -> None:
    leg = mango_leg("Connected", caller={"extension": "101"}, callee={"extension": "102"})
    (event,) = events_of([mango_request("events/call", leg)])
    assert (event.direction, event.client_number, event.extension) == ("internal", None, "102")


def test_string_and_integer_fields_are_read_alike() -> None:
    as_ints = mango_leg("Connected", seq=2, timestamp=1709638212)
    as_strings = mango_leg("Connected", seq="2", timestamp="1709638212")
    requests = [mango_request("events/call", p) for p in (as_ints, as_strings)]
    assert MANGO.accept(requests[0]).dedupe_key == MANGO.accept(requests[1]).dedupe_key
    assert MANGO.parse(requests[0], OPTIONS) == MANGO.parse(requests[1], OPTIONS)


def test_on_hold_and_unknown_paths_are_stored_but_parse_to_nothing() -> None:
    hold = mango_request("events/call", mango_leg("OnHold", seq=4))
    dtmf = mango_request("events/dtmf", {"entry_id": ENTRY, "call_id": "c", "dtmf": "1"})
    for request in (hold, dtmf):
        assert MANGO.accept(request).store
        assert MANGO.parse(request, OPTIONS) == []


def test_recording_started_or_not_saved_gives_no_reference() -> None:
    base = {"entry_id": ENTRY, "call_id": "c", "recording_id": "R1", "timestamp": 1709638300}
    started = mango_request("events/recording", {**base, "recording_state": "Started"})
    too_short = {**base, "recording_state": "Completed", "completion_code": 4002}
    assert MANGO.parse(started, OPTIONS) == []
    assert MANGO.parse(mango_request("events/recording", too_short), OPTIONS) == []


def test_recording_arriving_before_summary_still_names_the_call() -> None:
    record_added = mango_inbound_answered()[-1]
    (event,) = events_of([record_added])
    assert (event.kind, event.provider_call_id, event.recording) == ("recording", ENTRY, "REC-77")


def test_dedupe_keys_repeat_for_duplicates_and_differ_between_events() -> None:
    keys = [MANGO.accept(r).dedupe_key for r in mango_inbound_answered()]
    assert len(set(keys)) == len(keys)
    assert [MANGO.accept(r).dedupe_key for r in mango_inbound_answered()] == keys
    assert all(k.startswith("mango:") for k in keys)
    assert {MANGO.accept(r).call_key for r in mango_inbound_answered()} == {ENTRY}
    started = {"entry_id": ENTRY, "recording_id": "REC-77", "recording_state": "Started"}
    assert MANGO.accept(mango_request("events/recording", started)).dedupe_key not in keys


@pytest.mark.parametrize(
    ("path", "payload", "missing"),
    [
        ("events/call", {"entry_id": ENTRY, "seq": 1}, "call_id"),
        ("events/call", {"entry_id": ENTRY, "call_id": "c"}, "seq"),
        ("events/summary", {"talk_time": 0}, "entry_id"),
        ("events/record/added", {"entry_id": ENTRY}, "recording_id"),
    ],
)
def test_missing_required_field_is_400(path: str, payload: dict[str, Any], missing: str) -> None:
    with pytest.raises(ProviderError) as caught:
        MANGO.accept(mango_request(path, payload))
    assert caught.value.status_code == 400
    assert missing in caught.value.reason


@pytest.mark.parametrize("json_text", ["{not json", "[1,2]", '"text"'])
def test_unparseable_json_is_400(json_text: str) -> None:
    fields = {"vpbx_api_key": MANGO_API_KEY, "json": json_text}
    fields["sign"] = sign_mango(MANGO_API_KEY, json_text, MANGO_API_SALT)
    request = form_request("mango", fields, path="events/call")
    MANGO.verify(request, TEST_SECRETS)
    with pytest.raises(ProviderError) as caught:
        MANGO.accept(request)
    assert caught.value.status_code == 400


@pytest.mark.parametrize("number", ["sip:user@xyz.mangosip.ru", "", "+0933", "анонимный", 7916])
def test_malformed_numbers_are_kept_raw(number: object) -> None:
    leg = mango_leg("Appeared", caller={"number": number})
    (event,) = events_of([mango_request("events/call", leg)])
    assert event.client_number == (str(number) if number != "" else None)


_STATES = st.sampled_from(["Appeared", "Connected", "Disconnected", "OnHold", "?"])
_TRICKY = st.sampled_from(["²", "٣", "9" * 5000, "253402300800", "-1", " 12 ", "\x00"])
_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats() | _TRICKY
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner)
)
_KEYS = st.sampled_from(
    [
        "entry_id",
        "call_id",
        "seq",
        "timestamp",
        "call_state",
        "from",
        "to",
        "call_direction",
        "create_time",
        "talk_time",
        "end_time",
        "forward_time",
        "recording_id",
        "recording_state",
        "completion_code",
        "disconnect_reason",
        "line_number",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(
        ["events/call", "events/summary", "events/recording", "events/record/added", "x"]
    ),
    state=_STATES,
    mutation=st.dictionaries(_KEYS | st.text(max_size=6), _VALUES, max_size=6),
    body=st.binary(max_size=200),
    form=st.dictionaries(st.sampled_from(["json", "sign", "vpbx_api_key"]), st.text()),
)
def test_random_and_mutated_payloads_only_raise_provider_errors(
    path: str, state: str, mutation: dict[str, Any], body: bytes, form: dict[str, str]
) -> None:
    payload = {**mango_leg(state), **mango_summary(), **mutation}
    signed = mango_request(path, payload)
    garbage = RawRequest("POST", "https://x", path, {}, {}, body, "")
    forged = replace(signed, form=form)
    assert_only_provider_errors(MANGO, [signed, as_stored(signed), garbage, forged], OPTIONS)
