"""The FastAPI app with the webhook pipeline, driven over HTTP through ASGITransport: `pbx`
sends what a PBX would, runs the inbox processor, and reads the end state back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.db import create_bulk_engine, session_factory
from core.drivers.phone_lookup import create_phone_lookup
from core.models import Activity, Call, Contact, Notification, TelephonyEvent, User
from telephony_webhooks.context import WebContext
from telephony_webhooks.processor import InboxProcessor
from telephony_webhooks.providers.base import RawRequest
from tests.fakes.clock import FakeClock
from tests.telephony.adapters import SECRETS
from tests.telephony.helpers import employee, end_state, shuffled


@dataclass
class Pbx:
    app: FastAPI
    client: httpx.AsyncClient
    web: WebContext
    processor: InboxProcessor

    async def send(self, request: RawRequest, provider: str) -> httpx.Response:
        """Send an adapter-level RawRequest over HTTP to the provider's route."""
        path = f"/webhooks/{provider}" + (f"/{request.path}" if request.path else "")
        return await self.client.request(
            request.method,
            path,
            content=request.body or None,
            headers={
                **request.headers,
                **({"content-type": request.content_type} if request.content_type else {}),
            },
            params=dict(request.query) or None,
        )

    async def deliver(
        self,
        requests: Iterable[RawRequest],
        provider: str,
        *,
        clock: FakeClock | None = None,
        step_seconds: float = 0,
    ) -> list[httpx.Response]:
        """POST each request as the PBX would; every one must be acknowledged with 200."""
        responses = []
        for request in requests:
            response = await self.send(request, provider)
            assert response.status_code == 200, (request.body[:200], response.text)
            responses.append(response)
            if clock is not None and step_seconds:
                clock.advance(seconds=step_seconds)
        return responses

    async def process(self) -> int:
        """Run the inbox processor until nothing is due; every stored row must be applied."""
        applied = await self.processor.drain()
        unapplied = (TelephonyEvent.processed_at.is_(None)) | (TelephonyEvent.error.is_not(None))
        failed = await self.load(TelephonyEvent, unapplied)
        assert not failed, [(row.event_type, row.error) for row in failed]
        return applied

    async def load(self, model: type[Any], *where: Any) -> list[Any]:
        """Fresh rows (a new session, so nothing cached from before the processor ran)."""
        async with self.web.sessions() as session:
            return list(await session.scalars(select(model).where(*where).order_by(model.id)))

    async def only_call(self, provider: str, *where: Any) -> Call:
        """The one call of `provider` (that matches `where`)."""
        calls = await self.load(Call, Call.provider == provider, *where)
        assert len(calls) == 1, [(c.provider_call_id, c.status) for c in calls]
        call: Call = calls[0]
        return call

    async def call_by_id(self, provider: str, provider_call_id: str) -> Call:
        return await self.only_call(provider, Call.provider_call_id == provider_call_id)

    async def inbox_count(self) -> int:
        async with self.web.sessions() as session:
            return await session.scalar(select(func.count()).select_from(TelephonyEvent)) or 0

    async def callbacks(self, phone: str | None = None) -> list[Activity]:
        where = [Activity.kind == "callback"]
        if phone is not None:
            where.append(Activity.callback_phone == phone)
        return await self.load(Activity, *where)

    async def notifications(self, kind: str | None = None) -> list[Notification]:
        return await self.load(Notification, *([Notification.kind == kind] if kind else []))

    async def deliver_twice(self, requests: Sequence[RawRequest], provider: str) -> None:
        """Deliver every request, then all of them again as a retrying PBX does: each is
        stored once."""
        await self.deliver([*requests, *requests], provider)
        assert await self.inbox_count() == len(requests)

    async def shuffled_end_state(
        self, requests: Sequence[RawRequest], provider: str, call_id: str, seed: int
    ) -> dict[str, Any]:
        """Deliver `requests` in a seeded random order, each applied before the next one
        comes; the end state of the call `call_id`."""
        for request in shuffled(requests, seed):
            await self.deliver([request], provider)
            await self.process()
        return end_state(await self.call_by_id(provider, call_id))

    async def assert_odd_number_kept_raw(
        self, requests: Iterable[RawRequest], provider: str, number: str
    ) -> None:
        """Deliver and apply a missed call from the odd `number`: the call keeps it as sent,
        unparsed and linked to no contact, and opens no callback task."""
        await self.deliver(requests, provider)
        await self.process()
        call = await self.only_call(provider)
        assert (call.client_raw, call.client_e164, call.status) == (number, None, "missed")
        assert call.contact_id is None and await self.callbacks() == []

    async def assert_outbound_call(
        self, requests: Iterable[RawRequest], provider: str, status: str, talk_seconds: int
    ) -> Call:
        """Deliver and apply an outbound call to the client +79037654321: it ends `status` with
        `talk_seconds` of talk and opens no callback task. Returns the call."""
        await self.deliver(requests, provider)
        await self.process()
        call = await self.only_call(provider)
        assert (call.direction, call.status, call.talk_seconds) == ("out", status, talk_seconds)
        assert call.client_e164 == "+79037654321"
        assert await self.callbacks() == []
        return call

    async def recording_after_the_call(
        self, call_events: Iterable[RawRequest], recording: Iterable[RawRequest], provider: str
    ) -> Any:
        """Apply a call, which has no recording yet, then what brings its recording: nothing
        but the recording changes. Returns the recording the call ends with."""
        await self.deliver(call_events, provider)
        await self.process()
        before = end_state(await self.only_call(provider))
        assert before.pop("recording") is None
        await self.deliver(recording, provider)
        await self.process()
        after = end_state(await self.only_call(provider))
        attached = after.pop("recording")
        assert after == before
        return attached

    async def missed_again(
        self, requests: Iterable[RawRequest], provider: str, client: str
    ) -> None:
        """Deliver and apply a second missed call from `client`: the open callback task counts
        it and stays planned."""
        await self.deliver(requests, provider)
        await self.process()
        [task] = await self.callbacks(client)
        assert (task.status, task.missed_count) == ("planned", 2)

    async def called_back(self, client: str, *where: Any) -> tuple[Activity, Call]:
        """Apply what was delivered: the call that reached `client` (the one matching `where`)
        closes the callback task. Returns the task and that call."""
        await self.process()
        [task] = await self.callbacks(client)
        [answered] = await self.load(Call, *where)
        assert (task.status, task.closed_by_call_id) == ("done", answered.id)
        return task, answered

    def break_lookup(self, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
        """Make every phone look-up fail with `error`, as a broken database does."""

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise error

        monkeypatch.setattr(self.web.phone_lookup, "find", broken)

    async def assert_answered_inbound(
        self, provider: str, by: User, *, client: str, our_phone: str, extension: str = "101"
    ) -> Call:
        """The one call of `provider` came in from `client` to `our_phone` and was answered at
        `extension` by `by`, the one shown it ringing and the one prompted after it."""
        call = await self.only_call(provider)
        assert (call.direction, call.status, call.client_e164) == ("in", "answered", client)
        assert (call.extension, call.user_id, call.our_phone) == (extension, by.id, our_phone)
        assert [n.user_id for n in await self.notifications("incoming_call")] == [by.id]
        assert [n.user_id for n in await self.notifications("post_call")] == [by.id]
        return call


@pytest.fixture
async def pbx(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    config: CoreConfig,
    clock: FakeClock,
) -> AsyncIterator[Pbx]:
    # As app/wiring.py builds it: on SQLite the processor runs on the inline driver.
    bulk = create_bulk_engine(database_url)
    lookup = create_phone_lookup(database_url, config=config, sessions=sessions)
    web = WebContext(
        sessions=sessions,
        config=config,
        clock=clock,
        provider_secrets=SECRETS,
        process_inbox=False,
        processor_sessions=session_factory(bulk) if bulk else None,
        phone_lookup=lookup,
    )
    app = create_app(web)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://crm.example.com"
            ) as c:
                yield Pbx(app=app, client=c, web=web, processor=InboxProcessor(web))
    finally:
        await lookup.close()
        if bulk is not None:
            await bulk.dispose()


@pytest.fixture
async def anna(pbx: Pbx, ctx: Ctx, system: Actor) -> User:
    """Анна, a salesperson on Telegram (7001) whom extension 101 rings; made once `pbx` runs."""
    return await employee(ctx, system, "Анна", 7001, "101")


@pytest.fixture
async def ivan(pbx: Pbx, ctx: Ctx, system: Actor) -> Contact:
    """Иван, a contact at +79161234567, the number the PBX request builders call from."""
    return await contacts.create_contact(ctx, actor=system, name="Иван", phones=["+79161234567"])
