"""3CX through the HTTP app: the journal makes calls and tasks; the lookup names the caller."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.models import Call, Contact, User
from tests.fakes.twilio_signer import THREECX_TOKEN, threecx_journal, threecx_lookup
from tests.telephony.conftest import Pbx

CLIENT = "+79161234567"


def journal(call_type: str, start: str, *, number: str = CLIENT, **extra: str) -> dict[str, str]:
    """A ReportCall entry: rang at `start` (hhmmss on 2026-11-26, UTC)."""
    fields = {"CallType": call_type, "Number": number, "Agent": "101"}
    fields |= {"CallStartTimeUTC": f"20261126{start}"}
    return fields | extra


def at(hhmmss: str) -> datetime:
    return datetime.strptime(f"20261126{hhmmss}", "%Y%m%d%H%M%S").replace(tzinfo=UTC)


async def test_inbound_answered_call_is_logged_with_durations_and_recording(
    pbx: Pbx, anna: User
) -> None:
    entry = journal(
        "Inbound",
        "090000",
        CallEstablishedTimeUTC="20261126090006",
        CallEndTimeUTC="20261126090141",
        DurationSeconds="95",
        RecordingUrl="https://pbx.example.com/rec/1.wav",
    )
    [response] = await pbx.deliver([threecx_journal(entry)], "3cx")
    await pbx.process()
    call = await pbx.only_call("3cx")
    assert response.json() == {"ok": True, "call_id": call.provider_call_id}
    assert (call.direction, call.status, call.client_e164) == ("in", "answered", CLIENT)
    assert (call.extension, call.user_id) == ("101", anna.id)
    assert (call.ring_seconds, call.talk_seconds) == (6, 95)
    assert (call.answered_at, call.ended_at) == (at("090006"), at("090141"))
    assert call.recording == "https://pbx.example.com/rec/1.wav"
    assert [n.user_id for n in await pbx.notifications("post_call")] == [anna.id]


async def test_missed_calls_share_a_task_and_calling_back_closes_it(pbx: Pbx, anna: User) -> None:
    first = journal("Missed", "090000", CallEndTimeUTC="20261126090020")
    second = journal("Missed", "091000", CallEndTimeUTC="20261126091015")
    await pbx.deliver([threecx_journal(first), threecx_journal(second, as_json=False)], "3cx")
    await pbx.process()
    [task] = await pbx.callbacks(CLIENT)
    assert (task.owner_id, task.missed_count, task.created_at) == (anna.id, 2, at("090020"))
    assert [n.user_id for n in await pbx.notifications("missed_call")] == [anna.id]

    back = journal(
        "Outbound",
        "093000",
        CallEstablishedTimeUTC="20261126093010",
        CallEndTimeUTC="20261126093100",
    )
    await pbx.deliver([threecx_journal(back)], "3cx")
    await pbx.process()
    [task] = await pbx.callbacks(CLIENT)
    [outbound] = await pbx.load(Call, Call.direction == "out")
    assert (task.status, task.closed_by_call_id) == ("done", outbound.id)
    assert task.time_to_callback_seconds == 30 * 60 + 10 - 20
    assert (outbound.status, outbound.talk_seconds, outbound.ring_seconds) == ("answered", 50, 10)


async def test_unanswered_outbound_call_opens_no_task(pbx: Pbx) -> None:
    entry = journal("Notanswered", "090000", CallEndTimeUTC="20261126090030")
    await pbx.deliver([threecx_journal(entry)], "3cx")
    await pbx.process()
    call = await pbx.only_call("3cx")
    assert (call.direction, call.status, call.ring_seconds) == ("out", "missed", 30)
    assert await pbx.callbacks() == []


async def test_the_same_journal_entry_twice_is_one_call(pbx: Pbx) -> None:
    entry = threecx_journal(journal("Missed", "090000", CallEndTimeUTC="20261126090020"))
    await pbx.deliver([entry, entry], "3cx")
    assert await pbx.inbox_count() == 1
    await pbx.process()
    [task] = await pbx.callbacks()
    assert task.missed_count == 1


@pytest.mark.parametrize("number", ["abc", "+", "' OR 1=1 --", "номер", "4" * 40, "Anonymous"])
async def test_malformed_numbers_are_kept_raw(pbx: Pbx, number: str) -> None:
    entry = journal("Missed", "090000", number=number, CallEndTimeUTC="20261126090020")
    await pbx.assert_odd_number_kept_raw([threecx_journal(entry)], "3cx", number)
    lookup = await pbx.send(threecx_lookup(number), "3cx")
    assert (lookup.status_code, lookup.json()) == (200, {"found": False})


async def test_lookup_answers_from_the_phone_index(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User
) -> None:
    contact = await contacts.create_contact(
        ctx, actor=system, name="Петров Иван", phones=[CLIENT], owner_id=anna.id
    )
    # 3CX puts the number in the query unescaped: '+' arrives as a space.
    response = await pbx.client.get(f"/webhooks/3cx/lookup?number=+79161234567&key={THREECX_TOKEN}")
    assert response.json() == {
        "found": True,
        "contactId": str(contact.id),
        "firstName": "Петров",
        "lastName": "Иван",
        "companyName": "",
        "phone": CLIENT,
        "ownerName": "Анна",
        "ownerExtension": "101",
        "contactUrl": f"https://crm.example.com/api/v1/contacts/{contact.id}",
    }
    assert await pbx.inbox_count() == 0


async def test_lookup_with_a_broken_database_answers_not_found(
    pbx: Pbx, ivan: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    pbx.break_lookup(monkeypatch, TimeoutError("pool exhausted"))
    response = await pbx.send(threecx_lookup(CLIENT), "3cx")
    assert (response.status_code, response.json()) == (200, {"found": False})


async def test_wrong_or_missing_key_is_401_and_no_key_setting_is_404(pbx: Pbx) -> None:
    entry = journal("Missed", "090000")
    wrong = await pbx.send(threecx_journal(entry, token="nope"), "3cx")
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "token does not match")
    bare = await pbx.client.get("/webhooks/3cx/lookup", params={"number": CLIENT})
    assert (bare.status_code, bare.json()["detail"]) == (401, "token is missing")
    pbx.web.provider_secrets = {"ZADARMA_SECRET": "z"}
    disabled = await pbx.send(threecx_lookup(CLIENT), "3cx")
    assert disabled.status_code == 404 and "PEREZVON_THREECX_TOKEN" in disabled.json()["detail"]
    assert await pbx.inbox_count() == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"Number": CLIENT, "CallStartTimeUTC": "20261126090000"}, "field 'CallType' is missing"),
        ({"CallType": "Sideways", "CallStartTimeUTC": "20261126090000"}, "unknown CallType"),
        ({"CallType": "Missed", "Number": CLIENT}, "field 'CallStartTimeUTC' is missing"),
        (journal("Missed", "999999"), "is not a valid yyyyMMddHHmmss"),
        (journal("Inbound", "090000", CallEndTimeUTC="soon"), "is not epoch seconds or ISO"),
    ],
)
async def test_unreadable_journal_entry_is_400_with_a_reason_and_nothing_stored(
    pbx: Pbx, fields: dict[str, str], reason: str
) -> None:
    response = await pbx.send(threecx_journal(fields), "3cx")
    assert response.status_code == 400 and reason in response.json()["detail"]
    broken_json = await pbx.client.post(
        "/webhooks/3cx/journal",
        content=b'{"CallType": ',
        headers={"x-perezvon-token": THREECX_TOKEN, "content-type": "application/json"},
    )
    assert broken_json.status_code == 400 and broken_json.json()["detail"]
    assert await pbx.inbox_count() == 0


async def test_body_over_64_kib_is_413(pbx: Pbx) -> None:
    big = threecx_journal(journal("Missed", "090000", Notes="z" * 70_000))
    response = await pbx.send(big, "3cx")
    assert response.status_code == 413 and await pbx.inbox_count() == 0
