"""The webhook pipeline end to end: HTTP → inbox → processor → calls, tasks, notifications."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.models import Activity, Call, Contact, TelephonyEvent
from core.users import service as users
from tests.fakes.pbx_signers import zadarma_echo, zadarma_inbound, zadarma_request
from tests.telephony.conftest import Pbx


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_missed_zadarma_call_becomes_a_callback_task_via_http(
    pbx: Pbx, session: AsyncSession, ctx: Ctx, system: Actor
) -> None:
    await users.create_user(
        ctx, actor=system, name="Анна", role="sales", telegram_user_id=7, extensions=["101"]
    )
    for request in zadarma_inbound(answered_by=None, extensions=("101",)):
        response = await pbx.send(request, "zadarma")
        assert response.status_code == 200, response.text
    assert await count(session, TelephonyEvent) == 3
    assert await pbx.processor.drain() == 3
    call = await session.scalar(select(Call))
    assert call is not None and call.status == "missed" and call.client_e164 == "+79161234567"
    task = await session.scalar(select(Activity).where(Activity.kind == "callback"))
    assert task is not None and task.callback_phone == "+79161234567" and task.status == "planned"
    contact = await session.get(Contact, call.contact_id)
    assert contact is not None and contact.source == "call"


async def test_duplicate_delivery_is_answered_200_and_stored_once(
    pbx: Pbx, session: AsyncSession
) -> None:
    request = zadarma_inbound()[0]
    first = await pbx.send(request, "zadarma")
    second = await pbx.send(request, "zadarma")
    assert (first.status_code, second.status_code) == (200, 200)
    assert await count(session, TelephonyEvent) == 1


async def test_bad_signature_is_401_with_a_reason_and_nothing_is_stored(
    pbx: Pbx, session: AsyncSession
) -> None:
    request = zadarma_inbound()[0]
    forged = {**request.headers, "signature": "bm90IGEgc2lnbmF0dXJl"}
    response = await pbx.client.post(
        "/webhooks/zadarma",
        content=request.body,
        headers={**forged, "content-type": request.content_type},
    )
    assert response.status_code == 401 and response.json()["detail"]
    assert await count(session, TelephonyEvent) == 0


async def test_oversized_body_is_413(pbx: Pbx) -> None:
    response = await pbx.client.post(
        "/webhooks/zadarma",
        content=b"a=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


async def test_provider_without_secret_is_disabled(pbx: Pbx) -> None:
    pbx.web.provider_secrets = {}
    response = await pbx.send(zadarma_inbound()[0], "zadarma")
    assert response.status_code == 404 and "PEREZVON_ZADARMA_SECRET" in response.json()["detail"]


async def test_zd_echo_handshake(pbx: Pbx, session: AsyncSession) -> None:
    response = await pbx.send(zadarma_echo("abc123"), "zadarma")
    assert response.status_code == 200 and response.text == "abc123"
    assert await count(session, TelephonyEvent) == 0


async def test_notify_start_reply_names_a_known_caller(pbx: Pbx, ctx: Ctx, system: Actor) -> None:
    await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", phones=["89161234567"], company_name="Ромашка"
    )
    start = zadarma_inbound()[0]
    response = await pbx.send(start, "zadarma")
    assert response.status_code == 200
    assert "Иван Петров" in response.json()["caller_name"]


async def test_unknown_event_type_is_stored_and_acknowledged(
    pbx: Pbx, session: AsyncSession
) -> None:
    request = zadarma_request(
        {
            "event": "NOTIFY_SOMETHING_NEW",
            "pbx_call_id": "in_x",
            "caller_id": "+79160000000",
            "called_did": "74950000001",
            "call_start": "2024-03-05 10:00:00",
        }
    )
    response = await pbx.send(request, "zadarma")
    assert response.status_code == 200
    assert await count(session, TelephonyEvent) == 1
    await pbx.processor.drain()
    row = await session.scalar(select(TelephonyEvent))
    assert row is not None and row.processed_at is not None


async def test_shared_secrets_in_the_body_are_verified_but_never_stored(
    pbx: Pbx, session: AsyncSession
) -> None:
    from tests.fakes.pbx_signers import ITOOLABS_TOKEN, itoolabs_inbound

    for request in itoolabs_inbound():
        response = await pbx.send(request, "itoolabs")
        assert response.status_code == 200, response.text
    stored = list(await session.scalars(select(TelephonyEvent)))
    assert stored
    assert all(ITOOLABS_TOKEN.encode() not in row.body for row in stored)
    assert await pbx.processor.drain() == len(stored)
    rows = list(await session.scalars(select(TelephonyEvent)))
    assert all(row.error is None for row in rows)
    assert await count(session, Call) == 1


async def test_generic_event_sent_as_multipart_form_is_accepted_and_applied(
    pbx: Pbx, session: AsyncSession
) -> None:
    from tests.fakes.twilio_signer import GENERIC_TOKEN

    fields = {
        "event": "hangup",
        "call_id": "mp-1",
        "direction": "in",
        "from": "+79160003344",
        "status": "missed",
        "timestamp": "1795683600",
    }
    response = await pbx.client.post(
        "/webhooks/generic",
        files={k: (None, v) for k, v in fields.items()},
        headers={"x-perezvon-token": GENERIC_TOKEN},
    )
    assert response.status_code == 200, response.text
    assert await pbx.processor.drain() == 1
    call = await session.scalar(select(Call))
    assert call is not None and call.status == "missed"
