"""3CX adapter: the key, the lookup our template maps, and ReportCall journal entries."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import CallEvent
from telephony_webhooks.providers import threecx
from telephony_webhooks.providers.base import LookupResult, ProviderError, ProviderOptions
from tests.fakes.twilio_signer import TEST_SECRETS, threecx_journal, threecx_lookup
from tests.telephony.adapters import verify_refusal

OPTIONS = ProviderOptions()
TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "3cx-template.xml"


def journal(call_type: str, **fields: str) -> dict[str, str]:
    """Fields as docs/3cx-template.xml posts them for one call."""
    base = {
        "CallType": call_type,
        "Number": "+79161234567",
        "Agent": "101",
        "AgentFirstName": "Anna",
        "QueueExtension": "",
        "CallStartTimeUTC": "20250603090000",
        "CallEndTimeUTC": "20250603090150",
        "DurationSeconds": "95",
        "Duration": "00:01:35",
    }
    if call_type in {"Inbound", "Outbound"}:
        base["CallEstablishedTimeUTC"] = "20250603090015"
    return {**base, **fields}


def parsed(fields: dict[str, str], *, as_json: bool = True) -> list[CallEvent]:
    request = threecx_journal(fields, as_json=as_json)
    threecx.verify(request, TEST_SECRETS)
    accepted = threecx.accept(request)
    events = threecx.parse(request, OPTIONS)
    assert {event.provider_call_id for event in events} == {accepted.call_key}
    return events


# --- key --------------------------------------------------------------------------------------


def test_key_in_header_or_query_is_accepted() -> None:
    threecx.verify(threecx_lookup("+79161234567"), TEST_SECRETS)
    in_query = replace(
        threecx_lookup("1"), headers={}, query={"number": "1", "key": "threecx-test-token"}
    )
    threecx.verify(in_query, TEST_SECRETS)


def test_generic_token_is_used_when_no_3cx_token_is_set() -> None:
    request = threecx_lookup("1", token="generic-test-token")
    threecx.verify(request, {"GENERIC_TOKEN": "generic-test-token"})
    assert verify_refusal(threecx, request).status_code == 401  # THREECX_TOKEN is set and wins


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "token is missing"),
        ({"x-perezvon-token": "nope"}, "token does not match"),
        ({"x-perezvon-token": "ключ"}, "token does not match"),
    ],
)
def test_bad_or_missing_key_is_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(ProviderError) as caught:
        threecx.verify(replace(threecx_journal(journal("Inbound")), headers=headers), TEST_SECRETS)
    assert (caught.value.status_code, caught.value.reason) == (401, reason)


def test_unconfigured_3cx_is_404() -> None:
    with pytest.raises(ProviderError) as caught:
        threecx.verify(threecx_lookup("1"), {"TWILIO_AUTH_TOKEN": "x"})
    assert caught.value.status_code == 404


# --- accept -----------------------------------------------------------------------------------


def test_call_key_is_sha1_of_number_start_agent_and_type() -> None:
    accepted = threecx.accept(threecx_journal(journal("Inbound")))
    expected = hashlib.sha1(b"+79161234567|2025-06-03T09:00:00+00:00|101|Inbound").hexdigest()
    assert accepted.call_key == expected
    assert accepted.dedupe_key == f"3cx:journal:{expected}"
    assert accepted.event_type == "journal:inbound"


def test_duplicate_journal_entry_has_the_same_dedupe_key_in_any_encoding() -> None:
    as_json = threecx.accept(threecx_journal(journal("Missed")))
    as_form = threecx.accept(threecx_journal(journal("Missed"), as_json=False))
    iso = threecx.accept(
        threecx_journal(journal("Missed", CallStartTimeUTC="2025-06-03T09:00:00Z"))
    )
    assert as_json.dedupe_key == as_form.dedupe_key == iso.dedupe_key


def test_different_calls_have_different_keys() -> None:
    keys = {
        threecx.accept(threecx_journal(journal("Inbound", **change))).dedupe_key
        for change in (
            {},
            {"Agent": "102"},
            {"CallStartTimeUTC": "20250603090001"},
            {"Number": "1"},
        )
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"CallType": ""}, "field 'CallType' is missing"),
        ({"CallType": "Transferred"}, "unknown CallType 'Transferred'"),
        ({"CallStartTimeUTC": ""}, "field 'CallStartTimeUTC' is missing"),
        ({"CallStartTimeUTC": "03.06.2025 12:00:00"}, "time '03.06.2025 12:00:00'"),
        ({"CallStartTimeUTC": "20251399250000"}, "time '20251399250000' is not a valid"),
        ({"CallEndTimeUTC": "3.6.2025 9:01"}, "time '3.6.2025 9:01'"),
    ],
)
def test_unusable_journal_entry_is_400(change: dict[str, str], reason: str) -> None:
    with pytest.raises(ProviderError) as caught:
        threecx.accept(threecx_journal(journal("Inbound", **change)))
    assert caught.value.status_code == 400
    assert caught.value.reason.startswith(reason)


def test_lookup_is_not_stored_and_restores_the_plus() -> None:
    accepted = threecx.accept(threecx_lookup(" 79161234567"))  # '+' decoded as a space
    assert (accepted.store, accepted.lookup_number) == (False, "+79161234567")
    assert threecx.accept(threecx_lookup("0079161234567")).lookup_number == "+79161234567"
    assert threecx.accept(threecx_lookup("84951234567")).lookup_number == "84951234567"
    with pytest.raises(ProviderError) as caught:
        threecx.accept(threecx_lookup(" "))
    assert caught.value.status_code == 400


# --- parse ------------------------------------------------------------------------------------


def test_inbound_answered_call_is_one_final_event() -> None:
    (final,) = parsed(journal("Inbound"))
    assert (final.kind, final.direction, final.status) == ("final", "in", "answered")
    assert (final.client_number, final.extension) == ("+79161234567", "101")
    assert (final.ring_seconds, final.talk_seconds) == (15, 95)
    assert final.started_at == datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
    assert final.answered_at == datetime(2025, 6, 3, 9, 0, 15, tzinfo=UTC)
    assert final.occurred_at == final.ended_at == datetime(2025, 6, 3, 9, 1, 50, tzinfo=UTC)


@pytest.mark.parametrize(("call_type", "direction"), [("Missed", "in"), ("Notanswered", "out")])
def test_unanswered_calls_are_missed_with_no_talk_time(call_type: str, direction: str) -> None:
    (final,) = parsed(journal(call_type, DurationSeconds="0", Duration="00:00:00"))
    assert (final.direction, final.status, final.talk_seconds) == (direction, "missed", 0)
    assert final.answered_at is None
    assert final.ring_seconds == 110


def test_outbound_call_in_hh_mm_ss_only() -> None:
    fields = journal("Outbound", Duration="00:02:05")
    del fields["DurationSeconds"]
    (final,) = parsed(fields, as_json=False)
    assert (final.direction, final.status, final.talk_seconds) == ("out", "answered", 125)


def test_recording_url_is_attached() -> None:
    url = "https://pbx.example.com/recordings/101/rec.wav"
    final, recording = parsed(journal("Inbound", RecordingUrl=url))
    assert (final.kind, recording.kind, recording.recording) == ("final", "recording", url)


def test_missed_queue_call_without_agent_uses_the_queue() -> None:
    (final,) = parsed(journal("Missed", Agent="", QueueExtension="800"))
    assert final.extension == "800"


@pytest.mark.parametrize("number", ["", "Anonymous", "+0933", "sip:x@y", "☎☎"])
def test_odd_numbers_stay_raw(number: str) -> None:
    (final,) = parsed(journal("Missed", Number=number))
    assert final.client_number == (number or None)


# --- reply ------------------------------------------------------------------------------------


def test_lookup_reply_is_the_flat_json_the_template_maps() -> None:
    request = threecx_lookup("+79161234567")
    lookup = LookupResult(
        contact_id=7,
        contact_name="Петров Иван Ильич",
        company_name="Ромашка",
        owner_extension="101",
    )
    body = json.loads(threecx.reply(request, threecx.accept(request), lookup, OPTIONS).body)
    assert body == {
        "found": True,
        "contactId": "7",
        "firstName": "Петров",
        "lastName": "Иван Ильич",
        "companyName": "Ромашка",
        "phone": "+79161234567",
        "ownerName": "",
        "ownerExtension": "101",
        "contactUrl": "https://crm.example.com/api/v1/contacts/7",
    }
    unknown = threecx.reply(request, threecx.accept(request), None, OPTIONS)
    assert json.loads(unknown.body) == {"found": False}


def test_journal_reply_acknowledges_with_the_call_id() -> None:
    request = threecx_journal(journal("Inbound"))
    accepted = threecx.accept(request)
    body = json.loads(threecx.reply(request, accepted, None, OPTIONS).body)
    assert body == {"ok": True, "call_id": accepted.call_key}


def test_template_maps_the_fields_this_adapter_reads_and_writes() -> None:
    root = ET.parse(TEMPLATE).getroot()
    posted = {value.get("Key") for value in root.iter("Value")}
    assert {"CallType", "Number", "Agent", "CallStartTimeUTC", "CallEndTimeUTC"} <= posted
    assert {"CallEstablishedTimeUTC", "DurationSeconds"} <= posted
    paths = {variable.get("Path") for variable in root.iter("Variable")}
    assert {"contactId", "firstName", "lastName", "companyName", "contactUrl"} <= paths
    urls = " ".join(request.get("Url", "") for request in root.iter("Request"))
    assert "/webhooks/3cx/lookup?number=[Number]" in urls
    assert "/webhooks/3cx/journal" in urls
    assert all(
        "yyyyMMddHHmmss" in (v.text or "")
        for v in root.iter("Value")
        if "TimeUTC" in (v.get("Key") or "")
    )


# --- property ---------------------------------------------------------------------------------

_FIELD = st.sampled_from(
    [
        "CallType",
        "Number",
        "Agent",
        "QueueExtension",
        "CallStartTimeUTC",
        "CallEstablishedTimeUTC",
        "CallEndTimeUTC",
        "DurationSeconds",
        "Duration",
        "RecordingUrl",
    ]
)
_VALUE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["Inbound", "Missed", "Outbound", "Notanswered", "inbound"]),
    st.sampled_from(["20250603090000", "99999999999999", "2025-06-03T09:00:00Z", "1:2:3:4", "-5"]),
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(st.one_of(_FIELD, st.text(max_size=4)), _VALUE, max_size=10),
    as_json=st.booleans(),
    path=st.sampled_from(["journal", "lookup", "other"]),
)
def test_random_journal_entries_raise_only_provider_errors(
    fields: dict[str, str], as_json: bool, path: str
) -> None:
    request = replace(threecx_journal(fields, as_json=as_json), path=path, query=fields)
    refused: int | None = None
    try:
        threecx.verify(request, TEST_SECRETS)
        accepted = threecx.accept(request)
        threecx.parse(request, OPTIONS)
        threecx.reply(request, accepted, LookupResult(contact_id=1, contact_name=" "), OPTIONS)
    except ProviderError as error:
        refused = error.status_code
    assert refused in {None, 400, 404}
