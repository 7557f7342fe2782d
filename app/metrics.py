"""`GET /metrics`: Prometheus text exposition of what the process does and what waits.

1. Who may read it: loopback and `PEREZVON_TRUSTED_PROXIES` without a token (a request a
   proxy forwarded counts as coming from the address the proxy saw), anyone else only with
   `Authorization: Bearer <PEREZVON_METRICS_TOKEN>` (compared in constant time). Everyone
   else gets 404, as if there were no such page.
2. Events are counted as they happen: `PrometheusTelemetry` is the `core.telemetry` sink the
   HTTP app installs (webhooks, look-ups, inbox rows, Telegram sends, screen pops,
   reminders, scheduler jobs).
3. What waits in the database (inbox rows, outbox messages by kind) is read at scrape time,
   by async queries bounded by `DATABASE_READ_SECONDS`, before the exposition is rendered;
   when they do not answer in time the gauges are left out and
   `perezvon_metrics_database_up` is 0. Pool use is read from the engines, no query.

The counters live in this process: one process per instance is the deployment model, so
Prometheus scrapes each instance and sums (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_network
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import telemetry
from core.calls.models import TelephonyEvent
from core.clock import Clock
from core.outbox.models import Notification
from core.telemetry import SendResult, Telemetry
from telephony_webhooks.sources import parse_address, within

log = logging.getLogger(__name__)
DATABASE_READ_SECONDS = 2.0
FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")

# Bucket bounds in seconds, around each target (issue 20): a pop under 0.3 s, a reminder
# under 1 s, a look-up within milliseconds (the PBX gives up at 0.8 s).
POP_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
REMINDER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
LOOKUP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0)
TELEGRAM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)


class PrometheusTelemetry(Telemetry):
    """The `core.telemetry` sink that counts into Prometheus metrics (not yet registered)."""

    def __init__(self) -> None:
        none = None  # metrics are registered per app (`metrics_registry`), not globally
        self.webhooks = Counter(
            "perezvon_webhook_requests_total",
            "PBX webhook requests answered, by provider and HTTP status",
            ["provider", "status"],
            registry=none,
        )
        self.lookups = Histogram(
            "perezvon_caller_lookup_duration_seconds",
            "Caller look-ups for the PBX, by result (found, unknown, timeout, error)",
            ["result"],
            buckets=LOOKUP_BUCKETS,
            registry=none,
        )
        self.applied = Counter(
            "perezvon_inbox_rows_applied_total",
            "Inbox rows applied to calls (or settled as unreadable)",
            registry=none,
        )
        self.parked = Counter(
            "perezvon_inbox_rows_parked_total",
            "Inbox rows parked after failing PEREZVON_INBOX_MAX_ATTEMPTS times",
            registry=none,
        )
        self.telegram = Counter(
            "perezvon_telegram_requests_total",
            "Outbox requests to the Bot API, by method and result",
            ["method", "result"],
            registry=none,
        )
        self.telegram_seconds = Histogram(
            "perezvon_telegram_request_duration_seconds",
            "Time for the Bot API to answer an outbox request, by result",
            ["result"],
            buckets=TELEGRAM_BUCKETS,
            registry=none,
        )
        self.pops = Histogram(
            "perezvon_screen_pop_delay_seconds",
            "From the ringing webhook's arrival to Telegram accepting the screen pop",
            buckets=POP_BUCKETS,
            registry=none,
        )
        self.reminders = Histogram(
            "perezvon_reminder_lateness_seconds",
            "From a reminder's remind_at to its message being queued",
            buckets=REMINDER_BUCKETS,
            registry=none,
        )
        self.job_runs = Counter(
            "perezvon_scheduler_job_runs_total",
            "Scheduler job runs, by job",
            ["job"],
            registry=none,
        )
        self.job_failures = Counter(
            "perezvon_scheduler_job_failures_total",
            "Scheduler job runs that failed, by job",
            ["job"],
            registry=none,
        )
        self.job_seconds = Histogram(
            "perezvon_scheduler_job_duration_seconds",
            "How long a scheduler job run took, by job",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=none,
        )

    def collectors(self) -> tuple[Collector, ...]:
        return (
            self.webhooks,
            self.lookups,
            self.applied,
            self.parked,
            self.telegram,
            self.telegram_seconds,
            self.pops,
            self.reminders,
            self.job_runs,
            self.job_failures,
            self.job_seconds,
        )

    def webhook_answered(self, provider: str, status: int) -> None:
        self.webhooks.labels(provider, str(status)).inc()

    def lookup_done(self, result: str, seconds: float) -> None:
        self.lookups.labels(result).observe(seconds)

    def inbox_applied(self, rows: int) -> None:
        self.applied.inc(rows)

    def inbox_parked(self) -> None:
        self.parked.inc()

    def telegram_sent(self, method: str, result: SendResult, seconds: float) -> None:
        self.telegram.labels(method, result).inc()
        self.telegram_seconds.labels(result).observe(seconds)

    def screen_pop_delivered(self, seconds: float) -> None:
        self.pops.observe(max(seconds, 0.0))

    def reminder_due(self, lateness_seconds: float) -> None:
        self.reminders.observe(max(lateness_seconds, 0.0))

    def job_ran(self, job: str, *, failed: bool, seconds: float) -> None:
        self.job_runs.labels(job).inc()
        if failed:
            self.job_failures.labels(job).inc()
        self.job_seconds.labels(job).observe(seconds)


_process_sink: PrometheusTelemetry | None = None


def process_telemetry() -> PrometheusTelemetry:
    """The process' sink, made and installed once (every app of the process shares it)."""
    global _process_sink
    if _process_sink is None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created`: no use here
        _process_sink = PrometheusTelemetry()
    if telemetry.telemetry() is not _process_sink:
        telemetry.install(_process_sink)
    return _process_sink


@dataclass
class Backlog:
    """What waits in the database, as read at the last scrape."""

    read: bool = False
    inbox_waiting: int = 0
    inbox_oldest_seconds: float = 0.0
    inbox_parked: int = 0
    # kind -> (pending messages, age of the oldest in seconds)
    outbox: dict[str, tuple[int, float]] = field(default_factory=dict)


async def read_backlog(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, within: float
) -> Backlog:
    """Inbox and outbox depth, or `Backlog(read=False)` when the database is slow or down."""
    try:
        async with asyncio.timeout(within), sessions() as session:
            waiting, oldest = (
                await session.execute(
                    select(func.count(), func.min(TelephonyEvent.received_at)).where(
                        TelephonyEvent.processed_at.is_(None)
                    )
                )
            ).one()
            parked = await session.scalar(
                select(func.count()).where(
                    TelephonyEvent.processed_at.is_not(None), TelephonyEvent.error.is_not(None)
                )
            )
            outbox = (
                await session.execute(
                    select(Notification.kind, func.count(), func.min(Notification.created_at))
                    .where(Notification.status == "pending")
                    .group_by(Notification.kind)
                )
            ).all()
    except Exception as exc:  # a scrape reports; it never fails because the database did
        log.warning("metrics: the database did not answer: %s", type(exc).__name__)
        return Backlog()
    now = clock.now()
    return Backlog(
        read=True,
        inbox_waiting=int(waiting or 0),
        inbox_oldest_seconds=_age(now, oldest),
        inbox_parked=int(parked or 0),
        outbox={str(kind): (int(count), _age(now, first)) for kind, count, first in outbox},
    )


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


class BacklogCollector(Collector):
    """Exposes the last `Backlog` read, and the engines' pool use (read now)."""

    def __init__(self, engines: dict[str, AsyncEngine]) -> None:
        self.engines = engines
        self.backlog = Backlog()

    def collect(self) -> Iterable[Metric]:
        backlog = self.backlog
        up = GaugeMetricFamily(
            "perezvon_metrics_database_up",
            "1 when the inbox and outbox gauges could be read at this scrape",
        )
        up.add_metric([], 1.0 if backlog.read else 0.0)
        yield up
        if backlog.read:
            yield from self._backlog(backlog)
        yield from self._pools()

    @staticmethod
    def _backlog(backlog: Backlog) -> Iterator[Metric]:
        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, value=value)

        yield gauge(
            "perezvon_inbox_waiting_rows", "Inbox rows not applied yet", backlog.inbox_waiting
        )
        yield gauge(
            "perezvon_inbox_oldest_waiting_age_seconds",
            "Age of the oldest inbox row not applied yet (0 when none waits)",
            backlog.inbox_oldest_seconds,
        )
        yield gauge(
            "perezvon_inbox_parked_rows",
            "Inbox rows settled with an error (perezvon inbox failed lists them)",
            backlog.inbox_parked,
        )
        depth = GaugeMetricFamily(
            "perezvon_outbox_pending_messages", "Outbox messages waiting, by kind", labels=["kind"]
        )
        age = GaugeMetricFamily(
            "perezvon_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message waiting, by kind",
            labels=["kind"],
        )
        for kind, (count, oldest) in sorted(backlog.outbox.items()):
            depth.add_metric([kind], count)
            age.add_metric([kind], oldest)
        yield depth
        yield age

    def _pools(self) -> Iterator[Metric]:
        in_use = GaugeMetricFamily(
            "perezvon_db_pool_connections_in_use",
            "Database connections checked out of the pool, by engine",
            labels=["engine"],
        )
        limit = GaugeMetricFamily(
            "perezvon_db_pool_connections_limit",
            "Connections the pool may hold (size plus overflow), by engine",
            labels=["engine"],
        )
        for name, engine in self.engines.items():
            pool: Any = engine.sync_engine.pool
            if hasattr(pool, "checkedout"):
                in_use.add_metric([name], float(pool.checkedout()))
            if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):
                limit.add_metric([name], float(pool.size() + max(pool._max_overflow, 0)))
        yield in_use
        yield limit


@dataclass
class MetricsEndpoint:
    """Who may read /metrics, and what it shows."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    engines: dict[str, AsyncEngine]
    token: str | None = None
    trusted: Sequence[str] = ("127.0.0.1", "::1")
    registry: CollectorRegistry = field(init=False)
    backlog: BacklogCollector = field(init=False)

    def __post_init__(self) -> None:
        sink = process_telemetry()
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in sink.collectors():
            self.registry.register(collector)
        ProcessCollector(registry=self.registry)
        self.backlog = BacklogCollector(self.engines)
        self.registry.register(self.backlog)
        self._networks = tuple(ip_network(item, strict=False) for item in self.trusted)

    def allowed(self, peer: str | None, headers: Any) -> bool:
        """Loopback or a trusted peer (and, when forwarded, a trusted original client), or
        the right bearer token."""
        if self._trusted(peer) and all(self._trusted(a) for a in _forwarded_for(headers)):
            return True
        if not self.token:
            return False
        scheme, _, given = str(headers.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    def _trusted(self, text: str | None) -> bool:
        address = parse_address(text)
        return address is not None and (address.is_loopback or within(address, self._networks))

    async def exposition(self) -> bytes:
        self.backlog.backlog = await read_backlog(
            self.sessions, self.clock, within=DATABASE_READ_SECONDS
        )
        return generate_latest(self.registry)

    def router(self) -> APIRouter:
        routes = APIRouter(tags=["health"])

        @routes.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            peer = request.client.host if request.client else None
            if not self.allowed(peer, request.headers):
                return Response(
                    content=b'{"detail":"Not Found"}',
                    status_code=404,
                    media_type="application/json",
                )
            return Response(content=await self.exposition(), media_type=CONTENT_TYPE_LATEST)

        return routes


def _forwarded_for(headers: Any) -> list[str | None]:
    """Every client address a forwarding header names (a malformed one counts as untrusted)."""
    found: list[str | None] = []
    for name in FORWARDING_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        for part in str(value).split(","):
            part = part.strip()
            if name == "forwarded":
                pairs = dict(p.strip().partition("=")[::2] for p in part.split(";") if "=" in p)
                part = pairs.get("for", "").strip('"')
                if part.startswith("[") and "]" in part:
                    part = part[1 : part.index("]")]
                elif part.count(":") == 1:
                    part = part.split(":")[0]
            found.append(part or None)
    return found
