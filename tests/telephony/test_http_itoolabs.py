"""ITooLabs (MegaFon VATS…) through the HTTP app: events + history, the `contact` look-up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.models import Call, Contact, User
from telephony_webhooks.providers.base import RawRequest
from tests.fakes.clock import FakeClock
from tests.fakes.pbx_signers import (
    FORM,
    ITOOLABS_TOKEN,
    itoolabs_inbound,
    itoolabs_outbound,
    itoolabs_request,
)
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import end_state

CLIENT = "+79161234567"
T0 = "20261126T090000Z"  # the fake clock's start
LINK = "https://vats.megapbx.ru/records/c7b3e1f0a2d94e8b.mp3"


def pushes(**kw: object) -> tuple[RawRequest, list[RawRequest]]:
    """The `contact` look-up, and the pushes that are stored."""
    lookup, *stored = itoolabs_inbound(**{"start": T0, **kw})  # type: ignore[arg-type]
    return lookup, stored


async def answered_call(pbx: Pbx, clock: FakeClock, callid: str = "c7b3e1f0a2d94e8b") -> None:
    """Rings 101 and 102 at t0, 101 picks up at t0+8, hangs up at t0+103; then history."""
    lookup, stored = pushes(callid=callid)
    incoming, accepted_cancelled, rest = stored[:2], stored[2:4], stored[4:]
    await pbx.deliver([lookup, *incoming], "itoolabs")
    clock.advance(seconds=8)
    await pbx.deliver(accepted_cancelled, "itoolabs")
    clock.advance(seconds=95)
    await pbx.deliver(rest, "itoolabs")


async def test_inbound_answered_call_is_logged_with_the_employee_durations_and_recording(
    pbx: Pbx, clock: FakeClock, anna: User
) -> None:
    t0 = clock.now()
    await answered_call(pbx, clock)
    assert await pbx.inbox_count() == 6  # the look-up is answered, not stored
    await pbx.process()

    call = await pbx.assert_answered_inbound(
        "itoolabs", anna, client=CLIENT, our_phone="74951234567"
    )
    assert (call.ring_seconds, call.talk_seconds, call.recording) == (8, 95, LINK)
    assert (call.started_at, call.answered_at) == (t0, t0 + timedelta(seconds=8))
    [contact] = await pbx.load(Contact)
    assert contact.owner_id == anna.id and call.contact_id == contact.id
    assert await pbx.callbacks() == []


async def test_history_with_the_recording_arriving_after_the_hang_up_completes_the_call(
    pbx: Pbx, clock: FakeClock, anna: User
) -> None:
    _lookup, stored = pushes()
    *events, history = stored
    await pbx.deliver(events[:2], "itoolabs")
    clock.advance(seconds=8)
    await pbx.deliver(events[2:], "itoolabs")
    await pbx.process()
    ended = await pbx.only_call("itoolabs")
    assert (ended.status, ended.recording, ended.user_id) == ("answered", None, anna.id)
    assert ended.ended_at is not None

    clock.advance(minutes=2)
    await pbx.deliver([history], "itoolabs")
    await pbx.process()
    call = await pbx.only_call("itoolabs")
    assert (call.status, call.recording, call.talk_seconds) == ("answered", LINK, 95)
    assert len(await pbx.notifications("post_call")) == 1


async def test_missed_calls_share_a_task_and_an_outbound_call_back_closes_it(
    pbx: Pbx, clock: FakeClock, anna: User
) -> None:
    _lookup, first = pushes(callid="miss-1", answered_by=None)
    await pbx.deliver(first, "itoolabs")
    await pbx.process()
    missed = await pbx.only_call("itoolabs")
    assert (missed.status, missed.ring_seconds, missed.talk_seconds) == ("missed", 25, 0)
    [task] = await pbx.callbacks(CLIENT)
    assert (task.owner_id, task.missed_count) == (anna.id, 1)
    assert [n.user_id for n in await pbx.notifications("missed_call")] == [anna.id]

    clock.advance(minutes=5)
    _lookup, second = pushes(callid="miss-2", answered_by=None, start="20261126T090500Z")
    await pbx.missed_again(second, "itoolabs", CLIENT)

    clock.advance(minutes=5)
    await pbx.deliver(itoolabs_outbound(phone="89161234567", start="20261126T091000Z"), "itoolabs")
    task, back = await pbx.called_back(CLIENT, Call.direction == "out")
    assert task.result == "called back"
    assert task.time_to_callback_seconds == 10 * 60 - 25
    assert back.callback_of_id == missed.id


@pytest.mark.parametrize(
    ("status", "expected", "talk"),
    [("Success", "answered", 42), ("Busy", "busy", 0), ("NotAvailable", "failed", 0)],
)
async def test_outbound_call_is_logged_for_the_employee_who_dialled(
    pbx: Pbx, anna: User, status: str, expected: str, talk: int
) -> None:
    call = await pbx.assert_outbound_call(
        itoolabs_outbound(status=status), "itoolabs", expected, talk
    )
    assert call.user_id == anna.id


async def test_duplicates_are_stored_once_and_answered_200(
    pbx: Pbx, clock: FakeClock, anna: User
) -> None:
    _lookup, stored = pushes(answered_by=None)
    await pbx.deliver_twice(stored, "itoolabs")
    await pbx.process()
    [task] = await pbx.callbacks()
    assert task.missed_count == 1


async def test_any_arrival_order_ends_in_the_same_call(pbx: Pbx, anna: User) -> None:
    for answered_by in ("ivanov", None):
        _lookup, ordered_pushes = pushes(callid=f"ordered-{answered_by}", answered_by=answered_by)
        await pbx.deliver(ordered_pushes, "itoolabs")
        await pbx.process()
        [ordered] = await pbx.load(Call, Call.provider_call_id == f"ordered-{answered_by}")
        for seed in range(1, 4):
            callid = f"mixed-{answered_by}-{seed}"
            _lookup, mixed = pushes(callid=callid, answered_by=answered_by)
            got = await pbx.shuffled_end_state(mixed, "itoolabs", callid, seed)
            assert got == end_state(ordered), callid


@pytest.mark.parametrize("phone", ["abc", "+", "' OR 1=1 --", "номер", "7" * 40, "+7 916 12"])
async def test_malformed_numbers_are_kept_raw(pbx: Pbx, phone: str) -> None:
    lookup, stored = pushes(phone=phone, answered_by=None)
    response = await pbx.send(lookup, "itoolabs")
    assert response.status_code == 200 and response.json() == {}
    await pbx.assert_odd_number_kept_raw(stored, "itoolabs", phone)


async def test_contact_lookup_names_the_caller_and_the_responsible_when_redirecting(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User
) -> None:
    await contacts.create_contact(
        ctx,
        actor=system,
        name="Иван Петров",
        phones=["8 916 123-45-67"],
        company_name="Ромашка",
        owner_id=anna.id,
    )
    lookup, _stored = pushes()
    response = await pbx.send(lookup, "itoolabs")
    assert response.json() == {"contact_name": "Иван Петров (Ромашка)"}
    pbx.web.redirect_to_owner = True
    response = await pbx.send(lookup, "itoolabs")
    assert response.json() == {"contact_name": "Иван Петров (Ромашка)", "responsible": "101"}
    assert await pbx.inbox_count() == 0


async def test_contact_lookup_with_a_broken_database_answers_no_data(
    pbx: Pbx, ivan: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    pbx.break_lookup(monkeypatch, RuntimeError("relation contact_phones does not exist"))
    lookup, _stored = pushes()
    response = await pbx.send(lookup, "itoolabs")
    assert (response.status_code, response.json()) == (200, {})


async def test_wrong_or_missing_token_is_401_with_a_reason(pbx: Pbx) -> None:
    fields = {"cmd": "event", "type": "INCOMING", "callid": "x", "phone": CLIENT}
    wrong = await pbx.send(itoolabs_request(fields, token="not-it"), "itoolabs")
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "crm_token does not match")
    bare = await pbx.client.post("/webhooks/itoolabs", data=fields)
    assert (bare.status_code, bare.json()["detail"]) == (401, "missing crm_token")
    assert await pbx.inbox_count() == 0


async def test_without_a_token_setting_itoolabs_is_disabled(pbx: Pbx) -> None:
    pbx.web.provider_secrets = {"ZADARMA_SECRET": "z"}
    response = await pbx.send(pushes()[0], "itoolabs")
    assert response.status_code == 404 and "PEREZVON_ITOOLABS_TOKEN" in response.json()["detail"]


async def test_body_over_64_kib_is_413(pbx: Pbx) -> None:
    fields = {"cmd": "event", "type": "INCOMING", "callid": "x", "pad": "y" * 70_000}
    response = await pbx.send(itoolabs_request(fields), "itoolabs")
    assert response.status_code == 413 and await pbx.inbox_count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"cmd": "event", "crm_token": ', "application/json", "body is not valid JSON"),
        (f"crm_token={ITOOLABS_TOKEN}&callid=1".encode(), FORM, "missing field: cmd"),
        (f"crm_token={ITOOLABS_TOKEN}&cmd=history&type=in".encode(), FORM, "missing field: callid"),
        (f"crm_token={ITOOLABS_TOKEN}&cmd=contact".encode(), FORM, "missing field: phone"),
    ],
)
async def test_unreadable_push_is_400_with_a_reason_and_nothing_stored(
    pbx: Pbx, body: bytes, content_type: str, reason: str
) -> None:
    response = await pbx.client.post(
        "/webhooks/itoolabs", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400 and response.json()["detail"].startswith(reason)
    assert await pbx.inbox_count() == 0


async def test_json_pushes_work_like_forms(pbx: Pbx, anna: User) -> None:
    _lookup, stored = pushes()
    as_json = [itoolabs_request(dict(r.form), as_json=True) for r in stored]
    await pbx.deliver(as_json, "itoolabs")
    await pbx.process()
    call = await pbx.only_call("itoolabs")
    assert (call.status, call.user_id, call.talk_seconds) == ("answered", anna.id, 95)
