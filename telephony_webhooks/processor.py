"""Applies inbox rows to calls, in order per call, tolerant of failures and restarts.

This module keeps the loop (wake-ups, bursts, the SQLite writer's turns, stale calls) and
the parsing of stored requests by their provider; the rows' states, their SQL and the
backoff are core's (core/inbox/lifecycle.py).

Unprocessed rows are simply rows with `processed_at IS NULL`: after a crash the next
start picks them up. A batch is applied in one transaction; if anything in it fails, the
batch is redone row by row so that one bad row is recorded and retried with backoff while
every other call goes on. A row that fails `inbox_max_attempts` times is parked: settled
with its error (`perezvon inbox failed` lists it, `perezvon inbox retry` puts it back), so
its call's later rows are applied without it.

Losing a race to another instance (both inserted one call or contact; a deadlock) is no
failure: the batch, or the row, is redone at once and reads what the winner committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from core.calls import service as calls
from core.calls.models import TelephonyEvent
from core.context import Ctx
from core.db import holding_sessions, session_scope
from core.events import CallEvent
from core.inbox import lifecycle
from core.telemetry import log_context, telemetry
from telephony_webhooks.context import WebContext
from telephony_webhooks.inbox import InboxWriter
from telephony_webhooks.loop_task import LoopTask
from telephony_webhooks.providers.base import (
    RECEIVED_AT_HEADER,
    ProviderError,
    ProviderOptions,
    RawRequest,
    decode_form,
)
from telephony_webhooks.providers.checks import parse_checked
from telephony_webhooks.providers.registry import PROVIDERS, Provider

log = logging.getLogger(__name__)
PATH_HEADER = "x-perezvon-path"
URL_HEADER = "x-perezvon-url"
METHOD_HEADER = "x-perezvon-method"
BATCH = 200
STALE_CHECK_SECONDS = 30.0
YIELD_TO_REQUESTS_SECONDS = 0.25
# Outside a burst, the wait for a moment with no request being stored is shorter: at a few
# hundred events a second such moments come every few milliseconds, and a screen pop waits
# for this batch (bench/bot.py: card p99 without the chat's budget wait 244–593 → 199–434 ms).
IDLE_WAIT_SECONDS = 0.05
# While webhook requests keep waiting (a burst), batches this small: the PBXs get their 200s
# first and the backlog is applied at full speed once the burst is over.
BURST_BATCH = 20
BURST_POLL_SECONDS = 0.01
# Lost races with another instance redone at once (per batch, per row) before one counts.
RACE_RETRIES = 3


def provider_options(web: WebContext) -> ProviderOptions:
    return ProviderOptions(
        account_timezone=web.account_timezone,
        redirect_to_owner=web.redirect_to_owner,
        secrets=web.provider_secrets,
    )


def rebuild_request(row: TelephonyEvent) -> RawRequest:
    """The RawRequest a provider parses, from what the inbox stored."""
    headers = {str(k).lower(): str(v) for k, v in (row.headers or {}).items()}
    headers[RECEIVED_AT_HEADER] = row.received_at.isoformat()
    url = headers.get(URL_HEADER, "")
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return RawRequest(
        method=headers.get(METHOD_HEADER, "POST"),
        url=url,
        path=headers.get(PATH_HEADER, ""),
        headers=headers,
        query=query,
        body=row.body,
        content_type=row.content_type or "",
        form=_stored_form(row),
    )


def _stored_form(row: TelephonyEvent) -> dict[str, str]:
    """Multipart fields, decoded once here (adapters sniff the other bodies themselves)."""
    if "multipart/" not in (row.content_type or "").lower():
        return {}
    try:
        return decode_form(row.body, row.content_type or "")
    except ProviderError:
        return {}


class InboxProcessor:
    def __init__(
        self,
        web: WebContext,
        *,
        wake: asyncio.Event | None = None,
        providers: Mapping[str, Provider] = PROVIDERS,
        batch_size: int = BATCH,
        inbox: InboxWriter | None = None,
    ) -> None:
        self._web = web
        self._wake = wake or asyncio.Event()
        self._providers = providers
        self._batch_size = batch_size
        self._options = provider_options(web)
        # The bulk engine (SQLite inline driver) when the composition root made one. A batch's
        # session keeps what it loads: the events of a batch read the same owners and
        # contacts again and again (core.db.HoldingSession).
        self._sessions = holding_sessions(web.processor_sessions or web.sessions)
        self._inbox = inbox
        self._worker = LoopTask(self._run, "inbox-processor")
        self.applied = 0

    async def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        """Cancel the loop and wait for it (see LoopTask)."""
        await self._worker.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_stale_check = loop.time()
        while not self._worker.stopping:
            try:
                done = await self.process_batch()
                if loop.time() >= next_stale_check:
                    next_stale_check = loop.time() + STALE_CHECK_SECONDS
                    await self.expire_stale()
            except Exception:
                if self._worker.stopping:  # a failure caused by the cancel: stop, don't retry
                    raise asyncio.CancelledError from None
                log.exception("inbox processing failed; retrying shortly")
                done = 0
                await asyncio.sleep(1.0)
            if done == 0:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancel that
                # lands while the awaited event fires, and stop() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()

    async def expire_stale(self) -> int:
        async with self._turn(), session_scope(self._sessions) as session:
            return await calls.expire_stale_ringing(self._ctx(session))

    def _ctx(self, session: AsyncSession) -> Ctx:
        return Ctx(session=session, config=self._web.config, clock=self._web.clock)

    async def drain(self) -> int:
        """Process until nothing is due (tests, benchmarks, start-up)."""
        total = 0
        while (done := await self.process_batch()) > 0:
            total += done
        return total

    async def process_batch(self) -> int:
        """Apply one batch of due rows; returns how many rows were settled or deferred."""
        quiet = await self._let_requests_through()
        async with self._turn():
            return await self._process_batch(self._batch_size if quiet else BURST_BATCH)

    async def _let_requests_through(self) -> bool:
        """A PBX waits for its 200, the processor can wait a little: during a burst, let the
        waiting webhook requests be stored first (bounded, so processing is never starved).
        False when the burst was still on at the end of the wait."""
        inbox = self._inbox
        if inbox is None:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + YIELD_TO_REQUESTS_SECONDS
        while inbox.in_burst():
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(BURST_POLL_SECONDS, left))
        try:
            # not wait_for: see _run
            async with asyncio.timeout_at(min(deadline, loop.time() + IDLE_WAIT_SECONDS)):
                await inbox.idle.wait()
        except TimeoutError:
            return False
        return True

    def _turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._inbox.turn() if self._inbox is not None else contextlib.nullcontext()

    async def _process_batch(self, limit: int, races: int = 0) -> int:
        async with session_scope(self._sessions) as session:
            try:
                applied = await lifecycle.apply_due(
                    self._ctx(session), limit=min(limit, self._batch_size), parse=self._parse
                )
            except lifecycle.BatchFailed as failed:
                if races < RACE_RETRIES and lifecycle.lost_race(failed.__cause__ or failed):
                    # The winner has committed: redo the batch now, reading its call and contact.
                    log.info("inbox batch lost a race to another instance; redoing it")
                    lost_race = True
                else:
                    log.info("inbox batch failed; applying its %d rows one by one", len(failed.ids))
                    lost_race = False
                ids = failed.ids
            else:
                self.applied += applied
                telemetry().inbox_applied(applied)
                return applied
        if lost_race:
            return await self._process_batch(limit, races + 1)
        return await self._one_by_one(ids)

    def _parse(self, row: TelephonyEvent) -> list[CallEvent]:
        """The row's events; Unreadable for a row that can never be applied."""
        provider = self._providers.get(row.provider)
        if provider is None:
            raise lifecycle.Unreadable(f"unknown provider {row.provider!r}")
        try:
            request = rebuild_request(row)
            return parse_checked(provider.adapter, request, self._options, provider.time_fields)
        except ProviderError as exc:
            # A stored request the adapter cannot read will not improve by retrying.
            raise lifecycle.Unreadable(f"unparseable: {exc.reason}") from None

    async def _one_by_one(self, ids: list[int]) -> int:
        waiting: dict[lifecycle.CallKey, datetime] = {}  # calls whose earlier row waits
        races: dict[int, int] = {}
        pending = ids[::-1]
        while pending:
            row_id = pending.pop()
            async with session_scope(self._sessions) as session:
                try:
                    outcome = await lifecycle.apply_row(
                        self._ctx(session), row_id=row_id, parse=self._parse, waiting=waiting
                    )
                except lifecycle.RowFailed as failed:
                    cause = failed.__cause__ or failed
                    if races.get(row_id, 0) < RACE_RETRIES and lifecycle.lost_race(cause):
                        races[row_id] = races.get(row_id, 0) + 1
                        pending.append(row_id)  # at once, and not counted as a failure
                        continue
                    retry_at = await self._record_failure(row_id, cause)
                    if retry_at is not None:
                        waiting[failed.key] = retry_at
                    continue
            if outcome == "applied":
                self.applied += 1
                telemetry().inbox_applied(1)
        return len(ids)

    async def _record_failure(self, row_id: int, exc: BaseException) -> datetime | None:
        """Count a failed attempt: retry later (the time), or park the row (None)."""
        with log_context(inbox_row_id=row_id):
            log.warning("inbox row %s failed: %s", row_id, exc, exc_info=exc)
        async with session_scope(self._sessions) as session:
            failure = await lifecycle.fail(
                self._ctx(session),
                row_id=row_id,
                error=exc,
                max_attempts=self._web.inbox_max_attempts,
            )
        if failure.retry_at is None:
            log.error("inbox row %s parked after %d attempts", row_id, failure.attempts)
            telemetry().inbox_parked()
        return failure.retry_at
