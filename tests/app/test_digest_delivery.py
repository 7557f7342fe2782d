"""The scheduler's digest job with the real builder: core's figures in the exports workbook."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from app.digests import build_digest
from core.context import Ctx
from core.reports import digests
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import make_user, outbox


async def test_a_subscribed_manager_gets_the_real_workbook_with_a_two_line_caption(
    ctx: Ctx, clock: FakeClock
) -> None:
    boss = await make_user(ctx, "Boss", role="manager", tg=301, timezone="Europe/Moscow")
    boss.locale = "en"
    await ctx.session.commit()
    clock.set(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=9)
    clock.set(datetime(2027, 1, 11, 6, 0, tzinfo=UTC))  # 09:00 in Moscow
    assert await digests.send_due(ctx, build=build_digest) == 1
    [sent] = await outbox(ctx, "digest")
    assert sent.user_id == boss.id
    assert sent.payload["filename"] == "digest-daily-2027-01-10.xlsx"
    caption = sent.payload["caption"]
    assert len(caption.splitlines()) == 2
    workbook = load_workbook(io.BytesIO(base64.b64decode(sent.payload["content_b64"])))
    assert workbook.sheetnames[0] == "Summary"
    assert "2027" in (workbook.properties.title or "")


async def test_a_salesperson_cannot_receive_the_team_digest(ctx: Ctx, clock: FakeClock) -> None:
    seller = await make_user(ctx, "Seller", role="sales", tg=302)
    boss = await make_user(ctx, "Boss", role="manager", tg=303)
    clock.set(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    subscription = await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=9)
    subscription.user_id = seller.id  # e.g. demoted after subscribing
    await ctx.session.commit()
    clock.set(datetime(2027, 1, 11, 6, 0, tzinfo=UTC))
    await digests.send_due(ctx, build=build_digest)
    assert await outbox(ctx, "digest") == []
