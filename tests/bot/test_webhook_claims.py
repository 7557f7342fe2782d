"""Update claims with group commit (issue 17 benchmark): the updates Telegram delivers
together are claimed in one statement and one commit, and each is still applied exactly
once — duplicates inside one batch, and a redelivery after a restart."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import Note
from core.telegram import updates as telegram_updates
from core.telegram.models import TelegramUpdate
from tests.bot.test_runtime_webhook_once import (
    HEADERS,
    SELLER,
    card_message,
    client_of_seller,
    webhook_app,
)
from tests.bot.updates import message_update, tg_user
from tests.conftest import Db
from tests.fakes.telegram_api import FakeTelegram


async def test_claims_arriving_together_share_a_commit_and_duplicates_are_new_once(
    engine: AsyncEngine, db: Db
) -> None:
    commits = 0

    def counted(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine.sync_engine, "commit", counted)
    try:
        claims = telegram_updates.Claims(db.sessions, db.config, db.clock, bot_id=1)
        ids = [*range(1, 41), 5, 17, 5]  # three deliveries again inside the same batch
        answers = await asyncio.gather(*(claims.claim(u) for u in ids))
    finally:
        event.remove(engine.sync_engine, "commit", counted)
    assert answers[:40] == [True] * 40
    assert answers[40:] == [False, False, False]
    assert commits <= 3  # not one commit each

    # A restart: a new process claims them again (Telegram redelivers after an outage).
    again = telegram_updates.Claims(db.sessions, db.config, db.clock, bot_id=1)
    repeated = await asyncio.gather(*(again.claim(u) for u in (3, 40, 41, 41)))
    assert repeated == [False, False, True, False]
    other_bot = telegram_updates.Claims(db.sessions, db.config, db.clock, bot_id=2)
    assert await other_bot.claim(3) is True
    assert await db.count(TelegramUpdate) == 42


@pytest.mark.usefixtures("engine")
async def test_updates_delivered_twice_in_a_burst_and_again_after_a_restart_apply_once(
    fake_tg: FakeTelegram, database_url: str, db: Db
) -> None:
    contact = await client_of_seller(db)
    updates = [
        {
            "update_id": 600_000 + n,
            **message_update(
                tg_user(SELLER, "Пётр"),
                f"заметка {n}",
                reply_to_message=card_message(contact.id, fake_tg),
            ),
        }
        for n in range(20)
    ]

    async with webhook_app(database_url, fake_tg) as (client, _bot):
        burst = await asyncio.gather(
            *(client.post("/telegram/webhook", json=u, headers=HEADERS) for u in updates * 2)
        )
    async with webhook_app(database_url, fake_tg) as (client, _bot):  # after a restart
        redelivered = await asyncio.gather(
            *(client.post("/telegram/webhook", json=u, headers=HEADERS) for u in updates)
        )

    assert all(r.status_code == 200 for r in [*burst, *redelivered])
    assert sum(1 for r in burst if r.json() == {"ok": True}) == 20
    assert all(r.json() == {"ok": True, "duplicate": True} for r in redelivered)
    notes = [note.text for note in await db.rows(Note, Note.contact_id == contact.id)]
    assert sorted(notes) == sorted(f"заметка {n}" for n in range(20))
