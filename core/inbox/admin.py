"""The telephony inbox seen by an admin: parked rows and putting them back."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, update

from core.calls.models import TelephonyEvent
from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied


def _failed() -> list[ColumnElement[bool]]:
    return [TelephonyEvent.processed_at.is_not(None), TelephonyEvent.error.is_not(None)]


async def list_failed(
    ctx: Ctx, *, actor: Actor, limit: int = 100
) -> tuple[list[TelephonyEvent], int]:
    """Rows settled with an error (parked or unreadable), newest first, and how many in all."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can see failed inbox rows")
    rows = await ctx.session.scalars(
        select(TelephonyEvent).where(*_failed()).order_by(TelephonyEvent.id.desc()).limit(limit)
    )
    total = await ctx.session.scalar(
        select(func.count()).select_from(TelephonyEvent).where(*_failed())
    )
    return list(rows), total or 0


async def retry(ctx: Ctx, *, actor: Actor, ids: Sequence[int] | None) -> int:
    """Put failed rows back in the queue (all of them when `ids` is None); how many."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can retry inbox rows")
    where = _failed()
    if ids is not None:
        if not ids:
            raise InvalidInput("give row ids or --all", field="ids")
        where.append(TelephonyEvent.id.in_(ids))
        found = set(await ctx.session.scalars(select(TelephonyEvent.id).where(*where)))
        missing = sorted(set(ids) - found)
        if missing:
            raise NotFound(f"no failed inbox row {missing[0]}")
    result = await ctx.session.execute(
        update(TelephonyEvent)
        .where(*where)
        .values(processed_at=None, next_attempt_at=None, attempts=0)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
