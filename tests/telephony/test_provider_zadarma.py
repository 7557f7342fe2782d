"""Zadarma / Novofon adapter: signatures, keys, event mapping, replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CallEvent
from telephony_webhooks.providers.base import (
    RECEIVED_AT_HEADER,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
)
from telephony_webhooks.providers.zadarma import (
    NOVOFON,
    ZADARMA,
    sign_zadarma,
)
from tests.fakes.pbx_signers import (
    TEST_SECRETS,
    ZADARMA_SECRET,
    as_stored,
    form_request,
    zadarma_echo,
    zadarma_inbound,
    zadarma_multipart_request,
    zadarma_outbound,
    zadarma_request,
)
from tests.telephony import adapters
from tests.telephony.adapters import assert_only_provider_errors, verify_refusal

MOSCOW = ProviderOptions(account_timezone="Europe/Moscow")
START = {
    "event": "NOTIFY_START",
    "call_start": "2024-03-05 14:30:00",
    "pbx_call_id": "in_abc",
    "caller_id": "+79161234567",
    "called_did": "74951234567",
}


def events_of(requests: list[RawRequest], options: ProviderOptions = MOSCOW) -> list[CallEvent]:
    return adapters.events_of(ZADARMA, requests, options)


def test_signature_is_base64_of_hex_hmac_sha1_over_the_event_fields() -> None:
    hex_digest = hmac.new(
        b"s3cret", b"+7916123456774951234567" + b"2024-03-05 14:30:00", hashlib.sha1
    ).hexdigest()
    assert sign_zadarma(START, "s3cret") == base64.b64encode(hex_digest.encode()).decode()
    answer = {**START, "event": "NOTIFY_ANSWER", "destination": "7495"}
    expected = hmac.new(b"k", b"+791612345677495" + b"2024-03-05 14:30:00", hashlib.sha1)
    assert sign_zadarma(answer, "k") == base64.b64encode(expected.hexdigest().encode()).decode()
    record = {"event": "NOTIFY_RECORD", "pbx_call_id": "in_abc", "call_id_with_rec": "r1"}
    expected = hmac.new(b"k", b"in_abcr1", hashlib.sha1)
    assert sign_zadarma(record, "k") == base64.b64encode(expected.hexdigest().encode()).decode()


def test_every_event_of_a_signed_sequence_verifies() -> None:
    for request in zadarma_inbound() + zadarma_outbound():
        ZADARMA.verify(request, TEST_SECRETS)


def test_novofon_checks_its_own_secret_and_names_its_events() -> None:
    request = zadarma_request(START, provider="novofon")
    NOVOFON.verify(request, TEST_SECRETS)
    with pytest.raises(ProviderError):
        ZADARMA.verify(request, TEST_SECRETS)
    (event,) = NOVOFON.parse(request, MOSCOW)
    assert event.provider == "novofon"
    assert NOVOFON.accept(request).dedupe_key.startswith("novofon:")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing Signature"),
        ({"signature": "bm90IGEgc2lnbmF0dXJl"}, "does not match"),
        ({"signature": "подпись"}, "does not match"),
        ({"signature": "\udcff\x00"}, "does not match"),
    ],
)
def test_bad_or_missing_signature_is_401(headers: dict[str, str], reason: str) -> None:
    request = replace(form_request("zadarma", START), headers=headers)
    refusal = verify_refusal(ZADARMA, request)
    assert refusal.status_code == 401
    assert reason in refusal.reason


def test_tampered_signed_field_fails_but_unsigned_field_does_not_matter() -> None:
    request = zadarma_request(START)
    tampered = replace(request, form={**START, "caller_id": "+70000000000"})
    with pytest.raises(ProviderError):
        ZADARMA.verify(tampered, TEST_SECRETS)
    extra = replace(request, form={**START, "calltype": "normal"})
    ZADARMA.verify(extra, TEST_SECRETS)


def test_wrong_secret_and_unconfigured_secret_are_refused() -> None:
    assert verify_refusal(ZADARMA, zadarma_request(START, secret="other")).status_code == 401
    with pytest.raises(ProviderError):
        ZADARMA.verify(zadarma_request(START), {})


def test_unknown_event_signed_like_a_known_one_is_stored_and_parses_to_nothing() -> None:
    fields = {**START, "event": "NOTIFY_SOMETHING_NEW"}
    signature = sign_zadarma({**fields, "event": "NOTIFY_START"}, ZADARMA_SECRET)
    request = form_request("zadarma", fields, headers={"signature": signature})
    ZADARMA.verify(request, TEST_SECRETS)
    accepted = ZADARMA.accept(request)
    assert accepted.store
    assert accepted.event_type == "NOTIFY_SOMETHING_NEW"
    assert ZADARMA.parse(request, MOSCOW) == []


def test_zd_echo_is_answered_with_the_value_and_not_stored() -> None:
    request = zadarma_echo("a1b2c3")
    ZADARMA.verify(request, TEST_SECRETS)
    accepted = ZADARMA.accept(request)
    assert not accepted.store
    assert ZADARMA.reply(request, accepted, None, MOSCOW).body == "a1b2c3"


def test_get_without_zd_echo_needs_a_signature() -> None:
    request = replace(zadarma_echo(), query={"event": "NOTIFY_START"})
    assert verify_refusal(ZADARMA, request).status_code == 401


def test_inbound_answered_call_maps_to_ringing_answer_final_and_recording() -> None:
    events = events_of(zadarma_inbound())
    assert [e.kind for e in events] == [
        "ringing",
        "ringing",
        "ringing",
        "answered",
        "final",
        "recording",
    ]
    assert {e.provider_call_id for e in events} == {"in_5e6f7a8b9c0d1e2f"}
    start = datetime(2024, 3, 5, 11, 30, tzinfo=UTC)  # 14:30 in Moscow
    assert all(e.started_at == start for e in events[:5])
    assert [e.extension for e in events[:4]] == [None, "101", "102", "101"]
    final = events[4]
    assert (final.direction, final.status, final.talk_seconds) == ("in", "answered", 95)
    assert (final.client_number, final.our_number) == ("+79161234567", "74951234567")
    assert final.extension == "101"
    assert final.recording == events[5].recording == "1709638200.1234567"


def test_inbound_missed_call_ends_missed_with_no_talk() -> None:
    events = events_of(zadarma_inbound(answered_by=None))
    assert [e.kind for e in events] == ["ringing", "ringing", "ringing", "final"]
    final = events[-1]
    assert (final.status, final.talk_seconds, final.recording) == ("missed", 0, None)
    assert final.disposition == "cancel"


@pytest.mark.parametrize("disposition", ["busy", "no answer", "no money"])
def test_any_unanswered_inbound_end_is_a_missed_call(disposition: str) -> None:
    end = {**START, "event": "NOTIFY_END", "duration": "0", "disposition": disposition}
    (event,) = ZADARMA.parse(zadarma_request(end), MOSCOW)
    assert event.status == "missed"


@pytest.mark.parametrize(
    ("disposition", "status"),
    [("answered", "answered"), ("busy", "busy"), ("no answer", "missed"), ("failed", "failed")],
)
def test_outbound_call_end_status(disposition: str, status: str) -> None:
    events = events_of(zadarma_outbound(disposition=disposition))
    assert [e.kind for e in events] == ["ringing", "final"]
    final = events[-1]
    assert (final.direction, final.status, final.extension) == ("out", status, "101")
    assert (final.client_number, final.our_number) == ("+79037654321", "74951234567")
    assert final.talk_seconds == (42 if status == "answered" else 0)


def test_outbound_caller_id_zero_is_not_our_number() -> None:
    (begin, _) = zadarma_outbound(our_number="0")
    (event,) = ZADARMA.parse(begin, MOSCOW)
    assert event.our_number is None


def test_recording_arriving_late_attaches_to_the_same_call_and_uses_receipt_time() -> None:
    *_, record = zadarma_inbound()
    received = datetime(2024, 3, 5, 11, 33, tzinfo=UTC)
    stored = replace(record, headers={**record.headers, RECEIVED_AT_HEADER: received.isoformat()})
    (event,) = ZADARMA.parse(as_stored(stored), MOSCOW)
    assert (event.kind, event.provider_call_id, event.occurred_at) == (
        "recording",
        "in_5e6f7a8b9c0d1e2f",
        received,
    )


def test_call_start_follows_the_account_time_zone() -> None:
    (event,) = ZADARMA.parse(zadarma_request(START), ProviderOptions(account_timezone="UTC"))
    assert event.started_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def test_callback_first_leg_is_the_employee_and_is_ignored() -> None:
    leg1, _ = zadarma_outbound()
    leg1 = zadarma_request({**leg1.form, "calltype": "callback_leg1"})
    leg2 = zadarma_request({**leg1.form, "calltype": "callback_leg2"})
    assert ZADARMA.parse(leg1, MOSCOW) == []
    (event,) = ZADARMA.parse(leg2, MOSCOW)
    assert event.direction == "out"


def test_duplicate_delivery_has_the_same_dedupe_key_and_distinct_events_differ() -> None:
    requests = zadarma_inbound() + zadarma_outbound()
    keys = [ZADARMA.accept(r).dedupe_key for r in requests]
    assert len(set(keys)) == len(keys)
    again = zadarma_inbound()
    assert [ZADARMA.accept(r).dedupe_key for r in again] == keys[: len(again)]
    assert all(ZADARMA.accept(r).call_key == "in_5e6f7a8b9c0d1e2f" for r in again)


def test_multipart_delivery_with_mismatched_boundary_is_read() -> None:
    request = zadarma_multipart_request(START, header_boundary="not-the-body-boundary")
    ZADARMA.verify(request, TEST_SECRETS)
    assert ZADARMA.accept(request).dedupe_key == ZADARMA.accept(zadarma_request(START)).dedupe_key
    (event,) = ZADARMA.parse(request, MOSCOW)
    assert event.client_number == "+79161234567"


def test_notify_start_asks_for_the_caller_and_only_it() -> None:
    start, internal, *_ = zadarma_inbound()
    assert ZADARMA.accept(start).lookup_number == "+79161234567"
    assert ZADARMA.accept(internal).lookup_number is None


def test_notify_start_reply_names_the_caller_and_redirects_to_the_owner() -> None:
    request = zadarma_request(START)
    accepted = ZADARMA.accept(request)
    lookup = LookupResult(contact_name="Иванов", company_name="ООО Ромашка", owner_extension="101")
    plain = json.loads(ZADARMA.reply(request, accepted, lookup, MOSCOW).body)
    assert plain == {"caller_name": "Иванов (ООО Ромашка)"}
    routed = ZADARMA.reply(request, accepted, lookup, replace(MOSCOW, redirect_to_owner=True))
    assert json.loads(routed.body)["redirect"] == "101"
    hostile = replace(lookup, owner_extension="blacklist")
    safe = ZADARMA.reply(request, accepted, hostile, replace(MOSCOW, redirect_to_owner=True))
    assert "redirect" not in json.loads(safe.body)
    assert json.loads(ZADARMA.reply(request, accepted, None, MOSCOW).body) == {}


@pytest.mark.parametrize("missing", ["event", "pbx_call_id", "call_start"])
def test_missing_required_field_is_400(missing: str) -> None:
    fields = {k: v for k, v in START.items() if k != missing}
    with pytest.raises(ProviderError) as caught:
        ZADARMA.accept(zadarma_request(fields))
    assert caught.value.status_code == 400


def test_bad_call_start_is_400_at_parse() -> None:
    request = zadarma_request({**START, "call_start": "05.03.2024 14:30"})
    assert adapters.refused_at_parse(ZADARMA, request, MOSCOW) == 400


@pytest.mark.parametrize("caller", ["+0933123456", "0", "test", "", "анонim", "+7 (916) 1"])
def test_malformed_numbers_are_kept_raw(caller: str) -> None:
    (event,) = events_of([zadarma_request({**START, "caller_id": caller})])
    assert event.client_number == (caller or None)


_FIELD_NAMES = st.sampled_from(
    [
        *START,
        "internal",
        "destination",
        "duration",
        "disposition",
        "calltype",
        "is_recorded",
        "call_id_with_rec",
        "last_internal",
        "zd_echo",
    ]
)
_EVENTS = st.sampled_from(
    [
        "NOTIFY_START",
        "NOTIFY_INTERNAL",
        "NOTIFY_ANSWER",
        "NOTIFY_END",
        "NOTIFY_OUT_START",
        "NOTIFY_OUT_END",
        "NOTIFY_RECORD",
        "NOTIFY_IVR",
        "X",
    ]
)


_TRICKY = st.sampled_from(
    ["²", "9" * 5000, "0001-01-01 00:00:00", "9999-12-31 23:59:59", "callback_leg1", "1"]
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(_FIELD_NAMES | st.text(max_size=8), st.text(max_size=30) | _TRICKY),
    event=_EVENTS,
    body=st.binary(max_size=200),
    signature=st.text(max_size=60),
    method=st.sampled_from(["POST", "GET"]),
    content_type=st.sampled_from(["", "application/x-www-form-urlencoded", "multipart/form-data"]),
)
def test_random_and_mutated_payloads_only_raise_provider_errors(
    fields: dict[str, str],
    event: str,
    body: bytes,
    signature: str,
    method: str,
    content_type: str,
) -> None:
    signed = zadarma_request({**START, "event": event, **fields})
    raw = RawRequest(
        method,
        "https://x/webhooks/zadarma",
        "",
        {"signature": signature},
        fields if method == "GET" else {},
        body,
        content_type,
    )
    assert_only_provider_errors(ZADARMA, [signed, as_stored(signed), raw], MOSCOW)
