"""ITooLabs CRM API adapter (MegaFon VATS…): token, commands, events, history, contact reply."""

from __future__ import annotations

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
from telephony_webhooks.providers.itoolabs import ITOOLABS, sign_itoolabs
from tests.fakes.pbx_signers import (
    TEST_SECRETS,
    as_stored,
    form_request,
    itoolabs_inbound,
    itoolabs_outbound,
    itoolabs_request,
)
from tests.telephony import adapters
from tests.telephony.adapters import assert_only_provider_errors, verify_refusal

OPTIONS = ProviderOptions()
CALLID = "c7b3e1f0a2d94e8b"
HISTORY = {
    "cmd": "history",
    "type": "in",
    "status": "Success",
    "phone": "79161234567",
    "user": "ivanov",
    "ext": "101",
    "start": "20240305T113000Z",
    "duration": "95",
    "callid": CALLID,
}


def events_of(requests: list[RawRequest]) -> list[CallEvent]:
    return adapters.events_of(ITOOLABS, requests, OPTIONS)


def test_token_field_is_added_by_the_signer() -> None:
    assert sign_itoolabs({"cmd": "event"}, "t") == {"cmd": "event", "crm_token": "t"}


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("wrong", "does not match"),
        ("токен", "does not match"),
        ("\udcff", "does not match"),
    ],
)
def test_bad_or_missing_token_is_401(token: str | None, reason: str) -> None:
    fields = dict(HISTORY) if token is None else {**HISTORY, "crm_token": token}
    # A lone surrogate cannot be urlencoded, so the decoded form is set directly.
    request = replace(form_request("itoolabs", HISTORY), form=fields)
    refusal = verify_refusal(ITOOLABS, request)
    assert refusal.status_code == 401
    assert reason in refusal.reason


def test_unconfigured_token_refuses_everything() -> None:
    with pytest.raises(ProviderError):
        ITOOLABS.verify(itoolabs_request(HISTORY), {})


def test_json_body_is_accepted_like_a_form() -> None:
    as_json = itoolabs_request(HISTORY, as_json=True)
    as_form = itoolabs_request(HISTORY)
    ITOOLABS.verify(as_json, TEST_SECRETS)
    assert ITOOLABS.accept(as_json) == ITOOLABS.accept(as_form)
    assert ITOOLABS.parse(as_json, OPTIONS) == ITOOLABS.parse(as_stored(as_form), OPTIONS)


def test_inbound_answered_group_call() -> None:
    events = events_of(itoolabs_inbound())
    assert [(e.kind, e.extension) for e in events] == [
        ("ringing", "101"),
        ("ringing", "102"),
        ("answered", "101"),
        ("ended", "102"),
        ("ended", "101"),
        ("final", "101"),
    ]
    cancelled, completed, final = events[3], events[4], events[5]
    assert cancelled.status is None  # a colleague answered: not the call's outcome
    assert completed.status == "answered"
    assert all(e.direction == "in" and e.provider_call_id == CALLID for e in events)
    assert (final.client_number, final.our_number) == ("79161234567", "74951234567")
    assert (final.status, final.talk_seconds) == ("answered", 95)
    assert final.started_at == datetime(2024, 3, 5, 11, 30, tzinfo=UTC)
    assert final.ended_at == datetime(2024, 3, 5, 11, 31, 35, tzinfo=UTC)
    assert final.recording == "https://vats.megapbx.ru/records/c7b3e1f0a2d94e8b.mp3"


def test_inbound_missed_call_counts_ring_time_and_ignores_the_group_login() -> None:
    events = events_of(itoolabs_inbound(answered_by=None))
    assert [e.kind for e in events] == ["ringing", "ringing", "ended", "ended", "final"]
    final = events[-1]
    assert (final.status, final.talk_seconds, final.ring_seconds) == ("missed", 0, 25)
    assert final.extension is None  # g_<uuid>@tenant is a group, not a person
    assert final.recording is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Success", "answered"),
        ("SUCCESS", "answered"),
        ("Busy", "busy"),
        ("busy", "busy"),
        ("NotAvailable", "failed"),
        ("NotAllowed", "failed"),
        ("missed", "missed"),
        ("Cancel", "missed"),
        ("Weird", "failed"),
    ],
)
def test_outbound_history_status_is_case_insensitive(status: str, expected: str) -> None:
    events = events_of(itoolabs_outbound(status=status))
    final = events[-1]
    assert events[0].kind == "ringing"
    assert (final.kind, final.direction, final.status, final.extension) == (
        "final",
        "out",
        expected,
        "101",
    )
    assert final.client_number == "89037654321"
    assert final.talk_seconds == (42 if expected == "answered" else 0)


@pytest.mark.parametrize("status", ["Busy", "NotAvailable", "Cancel"])
def test_any_unanswered_inbound_call_is_missed(status: str) -> None:
    (final,) = ITOOLABS.parse(itoolabs_request({**HISTORY, "status": status}), OPTIONS)
    assert final.status == "missed"


def test_event_types_are_case_insensitive_and_unknown_ones_parse_to_nothing() -> None:
    lower = itoolabs_request({"cmd": "event", "type": "incoming", "callid": CALLID, "ext": "1"})
    (event,) = ITOOLABS.parse(lower, OPTIONS)
    assert (event.kind, event.direction) == ("ringing", "in")
    for kind in ("TRANSFERRED", "SOMETHING_NEW"):
        request = itoolabs_request({"cmd": "event", "type": kind, "callid": CALLID})
        assert ITOOLABS.accept(request).store
        assert ITOOLABS.parse(request, OPTIONS) == []


def test_event_time_is_the_receipt_time_the_processor_passes() -> None:
    received = datetime(2024, 3, 5, 11, 30, 4, tzinfo=UTC)
    request = itoolabs_inbound()[1]
    stored = replace(request, headers={RECEIVED_AT_HEADER: "2024-03-05T14:30:04+03:00"})
    (event,) = ITOOLABS.parse(as_stored(stored), OPTIONS)
    assert event.occurred_at == received


def test_rating_is_stored_and_changes_no_call_state() -> None:
    rating = itoolabs_request({"cmd": "rating", "callid": CALLID, "rating": "5", "user": "x"})
    accepted = ITOOLABS.accept(rating)
    assert accepted.store
    assert accepted.call_key == CALLID
    assert ITOOLABS.parse(rating, OPTIONS) == []


def test_contact_is_a_lookup_of_the_caller_and_not_stored() -> None:
    contact = itoolabs_inbound()[0]
    accepted = ITOOLABS.accept(contact)
    assert (accepted.store, accepted.lookup_number) == (False, "79161234567")


def test_contact_reply_names_the_caller_and_the_responsible_when_routing_is_on() -> None:
    contact = itoolabs_inbound()[0]
    accepted = ITOOLABS.accept(contact)
    lookup = LookupResult(contact_name="Иван Петров", owner_extension="101")
    body = json.loads(ITOOLABS.reply(contact, accepted, lookup, OPTIONS).body)
    assert body == {"contact_name": "Иван Петров"}
    routing = replace(OPTIONS, redirect_to_owner=True)
    body = json.loads(ITOOLABS.reply(contact, accepted, lookup, routing).body)
    assert body == {"contact_name": "Иван Петров", "responsible": "101"}


def test_unknown_caller_gets_an_empty_object_not_a_list() -> None:
    contact = itoolabs_inbound()[0]
    reply = ITOOLABS.reply(contact, ITOOLABS.accept(contact), None, OPTIONS)
    assert (reply.body, reply.media_type) == ("{}", "application/json")


def test_events_and_history_get_a_plain_200() -> None:
    request = itoolabs_request(HISTORY)
    reply = ITOOLABS.reply(request, ITOOLABS.accept(request), None, OPTIONS)
    assert (reply.status_code, reply.body) == (200, "")


def test_dedupe_keys_repeat_for_duplicates_and_differ_between_events() -> None:
    requests = itoolabs_inbound() + itoolabs_outbound()
    keys = [ITOOLABS.accept(r).dedupe_key for r in requests]
    assert len(set(keys)) == len(keys)
    assert [ITOOLABS.accept(r).dedupe_key for r in itoolabs_inbound()] == keys[:7]
    assert all(k.startswith("itoolabs:") for k in keys)
    assert {ITOOLABS.accept(r).call_key for r in itoolabs_inbound()} == {CALLID}


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"type": "INCOMING", "callid": CALLID}, "cmd"),
        ({"cmd": "event", "type": "INCOMING"}, "callid"),
        ({"cmd": "history", "callid": CALLID}, "type"),
        ({"cmd": "contact", "callid": CALLID}, "phone"),
    ],
)
def test_missing_required_field_is_400(fields: dict[str, str], missing: str) -> None:
    with pytest.raises(ProviderError) as caught:
        ITOOLABS.accept(itoolabs_request(fields))
    assert caught.value.status_code == 400
    assert missing in caught.value.reason


def test_unparseable_json_body_is_400() -> None:
    request = RawRequest("POST", "https://x", "", {}, {}, b"{crm_token", "application/json")
    with pytest.raises(ProviderError) as caught:
        ITOOLABS.accept(request)
    assert caught.value.status_code == 400


def test_bad_history_start_is_400_at_parse() -> None:
    request = itoolabs_request({**HISTORY, "start": "2024-03-05 11:30"})
    assert adapters.refused_at_parse(ITOOLABS, request, OPTIONS) == 400


@pytest.mark.parametrize("phone", ["8 (916) 123-45-67", "", "anonymous", "+0933", "٣٣٣"])
def test_malformed_numbers_are_kept_raw(phone: str) -> None:
    (final,) = events_of([itoolabs_request({**HISTORY, "phone": phone, "duration": "²"})])
    assert final.client_number == (phone or None)
    assert final.talk_seconds is None  # an unreadable duration stays unknown


_NAMES = st.sampled_from([*HISTORY, "diversion", "link", "direction", "rating", "crm_token"])
_VALUES = st.text(max_size=20) | st.sampled_from(
    [
        "INCOMING",
        "ACCEPTED",
        "COMPLETED",
        "CANCELLED",
        "contact",
        "event",
        "rating",
        "²",
        "99991231T235959Z",
        "00010101T000000Z",
        "9" * 5000,
        "9999999",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    mutation=st.dictionaries(_NAMES | st.text(max_size=6), _VALUES, max_size=8),
    body=st.binary(max_size=200),
    as_json=st.booleans(),
    received=st.text(max_size=30) | st.just("0001-01-01T00:00:00+01:00"),
)
def test_random_and_mutated_payloads_only_raise_provider_errors(
    mutation: dict[str, str], body: bytes, as_json: bool, received: str
) -> None:
    signed = itoolabs_request({**HISTORY, **mutation}, as_json=as_json)
    signed = replace(signed, headers={**signed.headers, RECEIVED_AT_HEADER: received})
    garbage = RawRequest("POST", "https://x", "", {}, {}, body, "")
    json_garbage = replace(garbage, content_type="application/json")
    assert_only_provider_errors(
        ITOOLABS, [signed, as_stored(signed), garbage, json_garbage], OPTIONS
    )
