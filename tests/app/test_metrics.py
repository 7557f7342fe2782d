"""`GET /metrics`: who may read it, and what an operator sees after calls, pops and jobs."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.methods import SendMessage
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics import MetricsEndpoint, process_telemetry
from app.settings import Settings
from app.wiring import Container
from bot.delivery import _timed_request
from bot.runtime import create_bot
from core.activities import reminders
from core.activities.models import Activity
from core.activities.reminders import ReminderOptions
from core.clock import SystemClock
from core.config import CoreConfig
from core.context import Ctx
from core.db import create_engine, session_factory
from core.outbox import service as outbox
from core.telemetry import pop_origins
from core.users import service as users
from scheduler.jobs import Jobs
from scheduler.runner import Scheduler
from tests.bot import helpers_process as process
from tests.factories import SYSTEM, make_contact, make_user
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.waits import wait_until

GENERIC = "generic-metrics-token"
PATIENCE = 30.0
ANNA_TG = 7001
CLIENT = "+79161234567"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def client(app: Any, *, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://crm")


@pytest.fixture(autouse=True)
def fresh_pop_origins() -> None:
    """Call ids restart with every test database, and the timing map is the process's: a
    ring remembered by an earlier test in this worker must not time this test's pop."""
    pop_origins.clear()


def ringing(kind: str, call_id: str, **fields: Any) -> dict[str, Any]:
    return process.webhook(kind, call_id, CLIENT, **fields)


# -- who may read it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "headers", "token", "status"),
    [
        ("127.0.0.1", {}, None, 200),
        ("::1", {}, None, 200),
        ("10.1.2.3", {}, None, 200),  # a trusted proxy (PEREZVON_TRUSTED_PROXIES below)
        ("203.0.113.9", {}, None, 404),
        ("203.0.113.9", {}, "s3cret-metrics", 404),
        ("203.0.113.9", {"authorization": "Bearer wrong"}, "s3cret-metrics", 404),
        ("203.0.113.9", {"authorization": "Bearer s3cret-metrics"}, "s3cret-metrics", 200),
        ("203.0.113.9", {"authorization": "Bearer s3cret-metrics"}, None, 404),
        # The local reverse proxy forwarded an outside client: that one needs the token.
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, None, 404),
        ("127.0.0.1", {"x-real-ip": "203.0.113.9"}, "s3cret-metrics", 404),
        ("127.0.0.1", {"forwarded": 'for="[2001:db8::1]:443"'}, None, 404),
        ("127.0.0.1", {"x-forwarded-for": "127.0.0.1"}, None, 200),
        (
            "127.0.0.1",
            {"x-forwarded-for": "203.0.113.9", "authorization": "Bearer s3cret-metrics"},
            "s3cret-metrics",
            200,
        ),
    ],
)
async def test_metrics_answer_loopback_and_trusted_proxies_and_the_token_and_404_to_others(
    database_url: str, peer: str, headers: dict[str, str], token: str | None, status: int
) -> None:
    settings = Settings(
        database_url=database_url,
        metrics_token=token,  # type: ignore[arg-type]
        trusted_proxies="127.0.0.1,::1,10.0.0.0/8",  # type: ignore[arg-type]
    )
    container = Container.build(settings)
    app = container.http_app([])
    async with app.router.lifespan_context(app), client(app, peer=peer) as http:
        answer = await http.get("/metrics", headers=headers)

    assert answer.status_code == status
    if status == 200:
        assert answer.headers["content-type"].startswith("text/plain; version=")
        assert "perezvon_webhook_requests_total" in answer.text
    else:
        assert answer.json() == {"detail": "Not Found"}
        assert "perezvon" not in answer.text


def test_metrics_token_setting_is_never_shown(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics_token="s3cret-metrics")  # type: ignore[arg-type]
    assert "s3cret-metrics" not in repr(settings) and "s3cret-metrics" not in str(settings)


# -- what it shows -----------------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
async def test_waiting_inbox_rows_and_outbox_messages_are_read_at_scrape_time(
    database_url: str,
) -> None:
    settings = Settings(
        database_url=database_url,
        generic_token=GENERIC,  # type: ignore[arg-type]
        process_inbox=False,  # an accept-only instance: the rows wait
    )
    container = Container.build(settings)
    app = container.http_app([])

    async def queue_reminders(ctx: Ctx) -> None:
        anna = await make_user(ctx, "Анна", tg=ANNA_TG)
        for n in range(2):
            await outbox.enqueue(
                ctx, kind="reminder", dedupe_key=f"r{n}", payload={"n": n}, user_id=anna.id
            )
        await ctx.session.commit()

    async with app.router.lifespan_context(app), client(app) as http:
        before = samples((await http.get("/metrics")).text)
        await container.run(queue_reminders)
        headers = {"x-perezvon-token": GENERIC}
        for body in (ringing("start", "w-1"), ringing("ringing", "w-1", extension="101")):
            assert (await http.post("/webhooks/generic", json=body, headers=headers)).is_success
        refused = await http.post("/webhooks/generic", json={"event": "start"}, headers=headers)
        unsigned = await http.post("/webhooks/generic", json=ringing("start", "w-2"))
        after = samples((await http.get("/metrics")).text)

    assert (refused.status_code, unsigned.status_code) == (400, 401)
    assert value(after, "perezvon_metrics_database_up") == 1
    assert value(before, "perezvon_inbox_waiting_rows") == 0
    assert value(after, "perezvon_inbox_waiting_rows") == 2
    assert value(after, "perezvon_inbox_oldest_waiting_age_seconds") >= 0
    assert value(after, "perezvon_inbox_parked_rows") == 0
    assert value(after, "perezvon_outbox_pending_messages", kind="reminder") == 2
    assert value(after, "perezvon_outbox_oldest_pending_age_seconds", kind="reminder") >= 0

    def grew(status: str) -> float:
        name = "perezvon_webhook_requests_total"
        labels = {"provider": "generic", "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert (grew("200"), grew("400"), grew("401")) == (2, 1, 1)
    assert value(after, "perezvon_db_pool_connections_in_use", engine="main") >= 0
    assert ("perezvon_db_pool_connections_in_use", (("engine", "main"),)) in after
    assert value(after, "process_cpu_seconds_total") > 0


async def test_a_database_that_does_not_answer_leaves_the_gauges_out_not_the_scrape() -> None:
    # Nothing listens on this port: every query fails, and the scrape still answers.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    endpoint = MetricsEndpoint(
        sessions=session_factory(engine), clock=SystemClock(), engines={"main": engine}
    )
    try:
        found = samples((await endpoint.exposition()).decode())
    finally:
        await engine.dispose()

    assert value(found, "perezvon_metrics_database_up") == 0
    assert not any(name.startswith("perezvon_inbox_waiting") for name, _ in found)
    assert ("perezvon_webhook_requests_total_created", ()) not in found  # no stray series


@pytest.mark.usefixtures("engine")
async def test_a_screen_pop_is_timed_from_its_webhook_to_telegram(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    async def seed(ctx: Ctx) -> None:
        anna = await make_user(ctx, "Анна", tg=ANNA_TG)
        await users.set_extensions(ctx, actor=SYSTEM, user_id=anna.id, extensions=["101"])
        await make_contact(ctx, "Пётр", phones=[CLIENT], owner_id=anna.id)

    async with process.perezvon(process.settings(database_url, fake_tg), seed) as running:
        http, bot = running.http, running.bot
        before = samples((await http.get("/metrics")).text)
        for body in (ringing("start", "p-1"), ringing("ringing", "p-1", extension="101")):
            response = await http.post("/webhooks/generic", json=body, headers=process.HEADERS)
            assert response.is_success
        await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
        # counted right after the 200
        await wait_until(lambda: bot.runtime.sender.sent >= 1, within=10, what="nothing sent")
        after = samples((await http.get("/metrics")).text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("perezvon_screen_pop_delay_seconds_count") == 1
    assert 0 < grew("perezvon_screen_pop_delay_seconds_sum") < PATIENCE
    assert grew("perezvon_telegram_requests_total", method="sendMessage", result="ok") >= 1
    assert grew("perezvon_telegram_request_duration_seconds_count", result="ok") >= 1
    assert grew("perezvon_inbox_rows_applied_total") == 2
    assert grew("perezvon_caller_lookup_duration_seconds_count", result="found") == 0  # no look-up
    assert value(after, "perezvon_inbox_waiting_rows") == 0


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        ({"status": 429, "retry_after": 3}, "429"),
        ({"status": 403}, "403"),
        ({"status": 400}, "4xx"),
        ({"status": 500}, "5xx"),
        (None, "network"),
    ],
)
async def test_telegram_sends_are_counted_by_result(
    fake_tg: FakeTelegram, answer: dict[str, Any] | None, result: str
) -> None:
    sink = process_telemetry()
    counted = sink.telegram.labels("sendMessage", result)
    before = counted._value.get()
    bot: Bot = create_bot(token=TOKEN, api_url=fake_tg.url)
    if answer is None:
        await fake_tg.stop()  # nothing listens: a network error
    else:
        fake_tg.fail("sendMessage", answer["status"], retry_after=answer.get("retry_after"))
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - each result is its own error type
            await _timed_request(bot, SendMessage(chat_id=ANNA_TG, text="hi"))
    finally:
        await bot.session.close()
    assert counted._value.get() == before + 1


async def test_reminder_lateness_and_scheduler_runs_and_failures_are_recorded(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> None:
    sink = process_telemetry()
    ctx_sessions = sessions
    async with ctx_sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        anna = await make_user(ctx, "Анна", tg=ANNA_TG)
        session.add(
            Activity(
                kind="task",
                title="позвонить",
                owner_id=anna.id,
                due_at=clock.now(),
                remind_at=clock.now() - timedelta(seconds=42),
                status="planned",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        await session.commit()
        count_before = sink.reminders._sum.get()
        assert await reminders.send_due(ctx, options=ReminderOptions()) == 1
    assert sink.reminders._sum.get() - count_before == pytest.approx(42)

    async def broken() -> None:
        raise RuntimeError("job broke")

    runs = sink.job_runs.labels("metrics-test")
    failures = sink.job_failures.labels("metrics-test")
    runs_before, failures_before = runs._value.get(), failures._value.get()
    scheduler = Scheduler(Jobs.__new__(Jobs))  # the jobs are given to `_guarded` here
    await scheduler._guarded("metrics-test", broken)
    await scheduler._guarded("metrics-test", lambda: asyncio.sleep(0))
    assert (runs._value.get() - runs_before, failures._value.get() - failures_before) == (2, 1)


def _docs() -> tuple[str, str]:
    """Every query of the Grafana dashboard, and the operations guide."""
    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "docs" / "grafana-dashboard.json").read_text())
    expressions = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    return expressions, (root / "docs" / "operations.md").read_text()


async def test_the_dashboard_and_the_operations_guide_name_only_metrics_that_exist(
    database_url: str,
) -> None:
    container = Container.build(Settings(database_url=database_url))
    app = container.http_app([])
    async with app.router.lifespan_context(app), client(app) as http:
        text = (await http.get("/metrics")).text
    exposed: set[str] = set()
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        exposed |= {family.name + suffix for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    expressions, guide = _docs()

    used = set(re.findall(r"\b(?:perezvon|process)_[a-z_]+", expressions))
    assert used and used <= exposed, sorted(used - exposed)
    ours = {name for name in families if name.startswith("perezvon_")}
    named = set(re.findall(r"\bperezvon_[a-z_]+", guide))
    assert ours - {n.removesuffix("_total") for n in named} == set()
    assert {n for n in named if n.startswith("perezvon_")} <= exposed, sorted(named - exposed)
