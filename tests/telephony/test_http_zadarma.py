"""Zadarma and Novofon through the HTTP app: whole calls, the missed-call lifecycle, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.models import Call, Contact, User
from tests.fakes.clock import FakeClock
from tests.fakes.pbx_signers import (
    FORM,
    zadarma_inbound,
    zadarma_outbound,
    zadarma_request,
)
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import end_state

PROVIDERS = ("zadarma", "novofon")
CLIENT = "+79161234567"
# 12:00 in Moscow (the account's zone) is the fake clock's start, 09:00 UTC.
START = "2026-11-26 12:00:00"


# The protocol is one: the whole matrix runs on both accounts only where the account matters.
ZADARMA_ONLY = pytest.mark.parametrize("provider", ["zadarma"])


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


async def inbound_answered(pbx: Pbx, clock: FakeClock, provider: str, **kw: object) -> None:
    """START, INTERNAL×2 at t0; ANSWER at t0+6; END at t0+101 (duration 95)."""
    start, internal1, internal2, answer, end = zadarma_inbound(
        provider=provider,
        start=START,
        recording=None,
        **kw,  # type: ignore[arg-type]
    )
    await pbx.deliver([start, internal1, internal2], provider)
    clock.advance(seconds=6)
    await pbx.deliver([answer], provider)
    clock.advance(seconds=95)
    await pbx.deliver([end], provider)


async def test_inbound_answered_call_is_logged_with_employee_durations_and_prompts(
    pbx: Pbx, provider: str, clock: FakeClock, anna: User
) -> None:
    t0 = clock.now()
    await inbound_answered(pbx, clock, provider)
    await pbx.process()

    call = await pbx.only_call(provider)
    assert (call.direction, call.status) == ("in", "answered")
    assert call.client_e164 == CLIENT and call.our_phone == "74951234567"
    assert (call.extension, call.user_id) == ("101", anna.id)
    assert (call.ring_seconds, call.talk_seconds) == (6, 95)
    assert call.started_at == t0 and call.answered_at == t0 + timedelta(seconds=6)
    assert call.ended_at == t0 + timedelta(seconds=101)
    [contact] = await pbx.load(Contact)
    assert call.contact_id == contact.id and contact.owner_id == anna.id
    assert await pbx.callbacks() == []

    ringing = await pbx.notifications("incoming_call")
    assert [(n.user_id, n.chat_id, n.payload["call_id"]) for n in ringing] == [
        (anna.id, 7001, call.id)
    ]
    assert [n.dedupe_key for n in ringing] == [f"ring:{call.id}:{anna.id}"]
    [prompt] = await pbx.notifications("post_call")
    assert (prompt.user_id, prompt.payload["phone"]) == (anna.id, CLIENT)
    assert (prompt.payload["call_id"], prompt.dedupe_key) == (call.id, f"postcall:{call.id}")
    assert await pbx.notifications("missed_call") == []


@ZADARMA_ONLY
async def test_recording_arriving_after_the_end_attaches_and_changes_nothing_else(
    pbx: Pbx, provider: str, clock: FakeClock, anna: User
) -> None:
    await inbound_answered(pbx, clock, provider)
    await pbx.process()
    before = end_state(await pbx.only_call(provider))
    assert before["recording"] is None
    sent_before = len(await pbx.notifications())

    clock.advance(minutes=3)
    record = {"event": "NOTIFY_RECORD", "call_id_with_rec": "1764147600.77"}
    await pbx.deliver(
        [zadarma_request(record | {"pbx_call_id": "in_5e6f7a8b9c0d1e2f"}, provider=provider)],
        provider,
    )
    await pbx.process()

    after = end_state(await pbx.only_call(provider))
    assert after.pop("recording") == "1764147600.77"
    before.pop("recording")
    assert after == before
    assert len(await pbx.notifications()) == sent_before


async def test_missed_calls_share_one_callback_task_until_the_next_answered_call_closes_it(
    pbx: Pbx, provider: str, clock: FakeClock, anna: User
) -> None:
    t0 = clock.now()
    first = zadarma_inbound(provider=provider, call_id="in_m1", start=START, answered_by=None)
    await pbx.deliver(first[:-1], provider)
    clock.advance(seconds=20)
    await pbx.deliver(first[-1:], provider)
    await pbx.process()

    [task] = await pbx.callbacks(CLIENT)
    missed = await pbx.only_call(provider)
    assert (missed.status, missed.talk_seconds, missed.ring_seconds) == ("missed", 0, 20)
    assert (task.status, task.owner_id, task.missed_count) == ("planned", anna.id, 1)
    assert task.source_call_id == missed.id and task.contact_id == missed.contact_id
    assert task.due_at == t0 + timedelta(seconds=20, minutes=15)
    [alert] = await pbx.notifications("missed_call")
    assert (alert.user_id, alert.payload["activity_id"]) == (anna.id, task.id)

    clock.advance(minutes=10)
    again = zadarma_inbound(
        provider=provider, call_id="in_m2", start="2026-11-26 12:10:20", answered_by=None
    )
    await pbx.missed_again(again, provider, CLIENT)

    clock.set(t0 + timedelta(minutes=30))
    await inbound_answered(pbx, clock, provider, call_id="in_a3")
    task, answered = await pbx.called_back(CLIENT, Call.provider_call_id == "in_a3")
    assert task.done_at == answered.answered_at == t0 + timedelta(minutes=30, seconds=6)
    assert task.time_to_callback_seconds == 30 * 60 + 6 - 20
    assert answered.callback_of_id == missed.id


@ZADARMA_ONLY
async def test_calling_the_client_back_closes_the_task(
    pbx: Pbx, provider: str, clock: FakeClock, anna: User
) -> None:
    await pbx.deliver(zadarma_inbound(provider=provider, start=START, answered_by=None), provider)
    await pbx.process()
    clock.advance(minutes=7)
    out = zadarma_outbound(provider=provider, destination=CLIENT, start="2026-11-26 12:07:00")
    await pbx.deliver(out, provider)
    await pbx.process()

    [task] = await pbx.callbacks(CLIENT)
    [back] = await pbx.load(Call, Call.direction == "out")
    assert (task.status, task.result, task.closed_by_call_id) == ("done", "called back", back.id)
    assert task.time_to_callback_seconds == 7 * 60


@ZADARMA_ONLY
@pytest.mark.parametrize(
    ("disposition", "duration", "status", "talk"),
    [("answered", "42", "answered", 42), ("busy", "0", "busy", 0), ("cancel", "0", "missed", 0)],
)
async def test_outbound_call_is_logged_for_the_caller_without_a_callback_task(
    pbx: Pbx, provider: str, anna: User, disposition: str, duration: str, status: str, talk: int
) -> None:
    out = zadarma_outbound(provider=provider, disposition=disposition, duration=duration)
    call = await pbx.assert_outbound_call(out, provider, status, talk)
    assert (call.user_id, call.extension) == (anna.id, "101")
    assert call.our_phone == "74951234567"
    assert await pbx.notifications("missed_call") == []
    assert len(await pbx.notifications("post_call")) == (1 if status == "answered" else 0)


@ZADARMA_ONLY
async def test_redelivered_events_are_stored_once_and_applied_once(
    pbx: Pbx, provider: str, anna: User
) -> None:
    sequence = zadarma_inbound(provider=provider, start=START, answered_by=None)
    await pbx.deliver_twice(sequence, provider)  # the PBX retried everything
    await pbx.process()
    await pbx.deliver(sequence[-1:], provider)  # and once more after processing
    assert await pbx.process() == 0

    call = await pbx.only_call(provider)
    assert call.status == "missed"
    [task] = await pbx.callbacks()
    assert task.missed_count == 1
    assert len(await pbx.notifications("missed_call")) == 1


@pytest.mark.parametrize("answered_by", ["101", None])
async def test_any_arrival_order_ends_in_the_same_call(
    pbx: Pbx, provider: str, anna: User, answered_by: str | None
) -> None:
    in_order = zadarma_inbound(provider=provider, call_id="in_ordered", answered_by=answered_by)
    await pbx.deliver(in_order, provider)
    await pbx.process()
    [ordered] = await pbx.load(Call, Call.provider_call_id == "in_ordered")
    assert ordered.user_id == anna.id
    seeds = range(1, 5)
    for seed in seeds:
        mixed = zadarma_inbound(provider=provider, call_id=f"in_{seed}", answered_by=answered_by)
        reordered = await pbx.shuffled_end_state(mixed, provider, f"in_{seed}", seed)
        assert reordered == end_state(ordered), seed
    if answered_by is None:
        [task] = await pbx.callbacks()
        assert (task.owner_id, task.missed_count) == (anna.id, 1 + len(seeds))


@ZADARMA_ONLY
@pytest.mark.parametrize(
    "caller",
    ["abc", "+", "+7 916 12", "' OR 1=1 --", "анонимный", "1" * 40, "+7916123456789012345"],
)
async def test_malformed_caller_numbers_are_kept_raw(pbx: Pbx, provider: str, caller: str) -> None:
    await pbx.assert_odd_number_kept_raw(
        zadarma_inbound(provider=provider, caller=caller, answered_by=None), provider, caller
    )


@ZADARMA_ONLY
async def test_notify_start_reply_for_an_unknown_caller_is_empty(pbx: Pbx, provider: str) -> None:
    response = await pbx.send(zadarma_inbound(provider=provider)[0], provider)
    assert response.status_code == 200 and response.json() == {}
    assert await pbx.inbox_count() == 1


@ZADARMA_ONLY
async def test_notify_start_redirects_to_the_owner_when_configured(
    pbx: Pbx, provider: str, ctx: Ctx, system: Actor, anna: User
) -> None:
    await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", phones=["89161234567"], owner_id=anna.id
    )
    pbx.web.redirect_to_owner = True
    response = await pbx.send(zadarma_inbound(provider=provider)[0], provider)
    assert response.json() == {
        "caller_name": "Иван Петров",
        "redirect": "101",
        "return_timeout": 20,
    }


@ZADARMA_ONLY
async def test_notify_start_with_a_broken_database_gets_no_data_and_is_still_stored(
    pbx: Pbx, provider: str, ivan: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    pbx.break_lookup(monkeypatch, ConnectionError("database is down"))
    response = await pbx.send(zadarma_inbound(provider=provider)[0], provider)
    assert response.status_code == 200 and response.json() == {}
    assert await pbx.inbox_count() == 1


async def test_request_signed_with_another_accounts_secret_is_401(pbx: Pbx, provider: str) -> None:
    other = "novofon-test-secret" if provider == "zadarma" else "zadarma-test-secret"
    fields = {"event": "NOTIFY_START", "pbx_call_id": "in_1", "caller_id": CLIENT}
    fields |= {"called_did": "74951234567", "call_start": START}
    response = await pbx.send(zadarma_request(fields, provider=provider, secret=other), provider)
    assert response.status_code == 401
    assert response.json()["detail"] == "Signature does not match"
    missing = await pbx.client.post(
        f"/webhooks/{provider}", data=fields, headers={"content-type": FORM}
    )
    assert missing.status_code == 401 and missing.json()["detail"] == "missing Signature header"
    assert await pbx.inbox_count() == 0


async def test_each_account_is_disabled_by_its_own_missing_secret(pbx: Pbx, provider: str) -> None:
    secret = "ZADARMA_SECRET" if provider == "zadarma" else "NOVOFON_SECRET"
    pbx.web.provider_secrets = {k: v for k, v in pbx.web.provider_secrets.items() if k != secret}
    response = await pbx.send(zadarma_inbound(provider=provider)[0], provider)
    assert response.status_code == 404 and f"PEREZVON_{secret}" in response.json()["detail"]
    other = "novofon" if provider == "zadarma" else "zadarma"
    assert (await pbx.send(zadarma_inbound(provider=other)[0], other)).status_code == 200


@ZADARMA_ONLY
async def test_body_over_64_kib_is_413_even_without_a_content_length(
    pbx: Pbx, provider: str
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b"x" * 1024

    response = await pbx.client.post(
        f"/webhooks/{provider}", content=chunks(), headers={"content-type": FORM}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "64 KiB" in response.json()["detail"]
    assert await pbx.inbox_count() == 0


@ZADARMA_ONLY
@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff\xfe\xfa=1", FORM, "body is not UTF-8"),
        (b"pbx_call_id=in_1&caller_id=1", FORM, "missing field: event"),
    ],
)
async def test_unreadable_body_is_400_with_a_reason_and_nothing_is_stored(
    pbx: Pbx, provider: str, body: bytes, content_type: str, reason: str
) -> None:
    fields = {"pbx_call_id": "in_1", "caller_id": "1"}
    signature = zadarma_request(fields, provider=provider).headers["signature"]
    response = await pbx.client.post(
        f"/webhooks/{provider}",
        content=body,
        headers={"content-type": content_type, "signature": signature},
    )
    assert response.status_code == 400 and response.json()["detail"] == reason
    assert await pbx.inbox_count() == 0


@ZADARMA_ONLY
async def test_signed_event_without_its_call_id_is_400(pbx: Pbx, provider: str) -> None:
    fields = {"event": "NOTIFY_END", "caller_id": CLIENT, "called_did": "1", "call_start": START}
    response = await pbx.send(zadarma_request(fields, provider=provider), provider)
    assert response.status_code == 400 and "pbx_call_id" in response.json()["detail"]
    assert await pbx.inbox_count() == 0


@ZADARMA_ONLY
async def test_missed_call_whose_end_comes_first_still_gives_the_task_to_the_extension_that_rang(
    pbx: Pbx, provider: str, anna: User
) -> None:
    *ringing, end = zadarma_inbound(provider=provider, extensions=("101",), answered_by=None)
    await pbx.deliver([end], provider)
    await pbx.process()
    await pbx.deliver(ringing, provider)
    await pbx.process()

    call = await pbx.only_call(provider)
    [task] = await pbx.callbacks(CLIENT)
    assert (call.status, call.user_id) == ("missed", anna.id)
    assert task.owner_id == anna.id
    [alert] = await pbx.notifications("missed_call")
    assert alert.user_id == anna.id
