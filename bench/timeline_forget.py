"""A contact's timeline page and `contacts forget` for a client with many chat messages.

    .venv/bin/python bench/timeline_forget.py --messages 40000
    .venv/bin/python bench/timeline_forget.py --messages 40000 \
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/perezvon_bench   # an empty database

Prints the mean time of a 20-item timeline page (messages of both kinds, 1,000 notes) and the
time to forget the contact. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.fakes

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations.forget import forget_contact
from core.conversations.models import ChatMessage, Conversation
from core.db import create_engine, session_factory
from core.migrate import upgrade
from core.notes import service as notes
from core.notes.models import Note
from tests.fakes.clock import FakeClock

PAGES = 20


async def run(url: str, messages: int) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = FakeClock()
    async with sessions() as session:
        ctx = Ctx.of(session, clock=clock)
        system = Actor.system("bench")
        contact = await contacts.create_contact(
            ctx, actor=system, name="Мария", phones=["+79161112233"]
        )
        now = clock.now()
        chat = Conversation(
            contact_id=contact.id,
            channel="bot",
            business_connection_id="",
            chat_id=1,
            telegram_user_id=1,
            status="open",
            created_at=now,
            updated_at=now,
        )
        session.add(chat)
        await session.flush()
        session.add_all(
            ChatMessage(
                conversation_id=chat.id,
                contact_id=contact.id,
                channel="bot",
                direction="in" if i % 2 else "out",
                text=f"message {i}",
                status="received",
                sent_at=now + timedelta(seconds=i),
                created_at=now,
                extra={},
                history=[],
            )
            for i in range(messages)
        )
        session.add_all(
            Note(contact_id=contact.id, text=f"note {i}", kind="note", created_at=now)
            for i in range(1000)
        )
        await session.commit()
        if url.startswith("postgresql"):
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text("VACUUM ANALYZE chat_messages"))
                await auto.execute(text("VACUUM ANALYZE notes"))
        started = time.perf_counter()
        for _ in range(PAGES):
            await notes.timeline(ctx, actor=system, contact_id=contact.id, limit=20)
        page_ms = (time.perf_counter() - started) / PAGES * 1000
        started = time.perf_counter()
        result = await forget_contact(ctx, actor=system, contact_id=contact.id)
        forget_ms = (time.perf_counter() - started) * 1000
    await engine.dispose()
    print(f"timeline page ({messages:,} messages, 1,000 notes): {page_ms:.1f} ms")
    print(f"contacts forget: {forget_ms:.0f} ms, {result.counts()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--db", default=None, help="a database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    url = args.db or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    asyncio.run(run(url, args.messages))


if __name__ == "__main__":
    main()
