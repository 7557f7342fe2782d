"""session_scope: what the body raised is what the caller gets, a cancel included."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import session_scope


async def test_a_rollback_that_fails_after_a_cancel_does_not_replace_the_cancel(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What asyncpg + SQLAlchemy do when the cancel lands mid-query: the connection is invalid
    # and the rollback raises. A PendingRollbackError here kept the PBX inbox processor's retry
    # loop running after stop() (issue 9's hang).
    async def broken_rollback(_self: AsyncSession) -> None:
        raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back")

    monkeypatch.setattr(AsyncSession, "rollback", broken_rollback)

    async def cancelled_use_case() -> None:
        async with session_scope(sessions) as session:
            await session.execute(text("SELECT 1"))  # a transaction to roll back
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await cancelled_use_case()


async def test_an_error_in_the_body_is_raised_and_its_writes_rolled_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def failing_use_case() -> None:
        async with session_scope(sessions) as session:
            await session.execute(text("DELETE FROM pipeline_stages"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await failing_use_case()

    async with session_scope(sessions) as session:
        stages = (await session.execute(text("SELECT count(*) FROM pipeline_stages"))).scalar_one()
    assert stages > 0
