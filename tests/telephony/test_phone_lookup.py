"""Caller look-ups on the webhook path: served without a session, and exact across processes."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.db import create_engine, session_factory, session_scope
from core.drivers.phone_lookup import PostgresLookup, SqliteLookup
from core.models import Contact, User
from telephony_webhooks.webhooks import LOOKUP_TIMEOUT_SECONDS
from tests.conftest import PG_URL
from tests.fakes.pbx_signers import zadarma_inbound
from tests.fakes.twilio_signer import generic_lookup
from tests.telephony.conftest import Pbx
from tests.telephony.helpers import employee

CLIENT = "+79161234567"


def test_webhooks_use_the_dedicated_lookup_of_the_database(pbx: Pbx) -> None:
    expected = PostgresLookup if PG_URL else SqliteLookup
    assert isinstance(pbx.web.phone_lookup, expected)


async def test_a_change_committed_elsewhere_is_seen_by_the_next_lookup(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User, database_url: str
) -> None:
    boris = await employee(ctx, system, "Борис", 7002, "102")
    contact = await contacts.create_contact(
        ctx, actor=system, name="Иван", phones=[CLIENT], owner_id=anna.id
    )
    first = await pbx.send(generic_lookup(CLIENT), "generic")
    assert (first.json()["owner"], first.json()["owner_extension"]) == ("Анна", "101")
    # Another instance: its own engine and connections, as another process would have.
    other = create_engine(database_url)
    try:
        async with session_scope(session_factory(other)) as session:
            await contacts.update_contact(
                Ctx(session=session, config=ctx.config, clock=ctx.clock),
                actor=system,
                contact_id=contact.id,
                changes={"owner_id": boris.id, "phones": ["+79160000001"]},
            )
        moved = await pbx.send(generic_lookup("+79160000001"), "generic")
        assert (moved.json()["owner"], moved.json()["contact_id"]) == ("Борис", contact.id)
        gone = await pbx.send(generic_lookup(CLIENT), "generic")
        assert gone.json()["found"] is False
    finally:
        await other.dispose()


async def test_notify_start_answers_with_the_current_owner(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", phones=[CLIENT], owner_id=anna.id
    )
    start = zadarma_inbound(caller=CLIENT)[0]
    answer = await pbx.send(start, "zadarma")
    assert answer.status_code == 200
    assert answer.json()["caller_name"].startswith("Иван Петров")


async def test_numbers_the_index_cannot_hold_are_no_data(pbx: Pbx) -> None:
    assert pbx.web.phone_lookup is not None
    assert await pbx.web.phone_lookup.find("not a number") is None
    assert await pbx.web.phone_lookup.find("+79990000000") is None


async def test_lookups_asked_together_each_get_their_own_answer(
    pbx: Pbx, ctx: Ctx, system: Actor, anna: User
) -> None:
    """Under load, look-ups that wait for a PostgreSQL connection go in one statement: each
    still answers what it would have answered alone (its owner, a foreign-format fallback,
    a stranger, a number from another country, not a number)."""
    boris = await employee(ctx, system, "Борис", 7002, "102")
    for n in range(12):
        await contacts.create_contact(
            ctx,
            actor=system,
            name=f"Клиент {n}",
            phones=[f"+7916555{n:04d}"],
            owner_id=(anna, boris)[n % 2].id,
        )
    asked = [f"+7916555{n:04d}" for n in range(12)] + [
        "89165550003",  # a Russian number written the Russian way: the same owner
        "9165550004",  # without a country: the last ten digits
        "+79165559999",  # nobody's
        "+19165550005",  # another country's number with the same last ten: never theirs
        "not a number",
    ]
    lookup = pbx.web.phone_lookup
    assert lookup is not None
    alone = [await contacts.lookup_phone(ctx, phone=number) for number in asked]
    together = await asyncio.gather(*(lookup.find(number) for number in asked * 3))
    assert together == alone * 3
    assert [owner.owner_name if owner else None for owner in alone[12:]] == [
        "Борис",
        "Анна",
        None,
        None,
        None,
    ]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: a table lock there blocks readers")
async def test_a_lookup_held_up_by_a_lock_answers_no_data_in_time(pbx: Pbx, ivan: Contact) -> None:
    """The PBX waits about a second for NOTIFY_START's answer: a look-up that cannot get its
    rows gives up after LOOKUP_TIMEOUT_SECONDS, and the event is stored all the same."""
    import asyncpg  # type: ignore[import-untyped]

    assert PG_URL is not None
    holder = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    lock = holder.transaction()
    await lock.start()
    await holder.execute("LOCK TABLE contact_phones IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        response = await pbx.send(zadarma_inbound(caller=CLIENT)[0], "zadarma")
        waited = time.monotonic() - started
    finally:
        await lock.rollback()
        await holder.close()
    assert response.status_code == 200 and response.json() == {}
    assert LOOKUP_TIMEOUT_SECONDS * 0.9 <= waited < LOOKUP_TIMEOUT_SECONDS + 1.0
    assert await pbx.inbox_count() == 1
    again = await pbx.send(zadarma_inbound(caller=CLIENT, call_id="next")[0], "zadarma")
    assert again.json() == {"caller_name": "Иван"}  # the pool's connection came back usable
