"""Telegram Business connections: whose account it is, and whether its chats are logged.

1. `record_connection` stores Telegram's `business_connection`. An account that belongs to an
   active staff member (by Telegram user id) is `active`; any other account is `refused`
   (user_id NULL) and logged, without its messages ever being kept; `is_enabled=false` makes
   it `disabled`, and logging stops at once.
2. A connection id is bound to the account it was first seen with: an update that gives a
   known id to another account is ignored.
3. The salesperson is told (through the outbox) when their connection starts or stops logging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.context import Ctx
from core.conversations.models import BusinessConnection
from core.outbox import service as outbox
from core.users.models import User

log = logging.getLogger(__name__)

ConnectionState = Literal["active", "refused", "disabled"]


@dataclass(frozen=True)
class ConnectionIn:
    """Telegram's `business_connection`, as the adapter read it."""

    id: str
    telegram_user_id: int
    user_chat_id: int
    is_enabled: bool
    rights: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionOutcome:
    status: ConnectionState | Literal["ignored"]
    changed: bool  # the status differs from what was recorded before
    user_id: int | None = None


async def record_connection(ctx: Ctx, *, connection: ConnectionIn) -> ConnectionOutcome:
    """Store a connection: active for an active staff member, refused for anyone else, disabled
    when Telegram says it is off; the salesperson is told when theirs starts or stops."""
    try:
        return await _record_once(ctx, connection)
    except IntegrityError:
        # The same new connection recorded at once by its update and by a message's fetch.
        await ctx.session.rollback()
        return await _record_once(ctx, connection)


async def _record_once(ctx: Ctx, connection: ConnectionIn) -> ConnectionOutcome:
    row = await ctx.session.get(BusinessConnection, connection.id)
    if row is not None and row.telegram_user_id != connection.telegram_user_id:
        log.warning("business connection update ignored: the connection belongs to another account")
        return ConnectionOutcome("ignored", changed=False, user_id=row.user_id)
    staff = await ctx.session.scalar(
        select(User).where(User.telegram_user_id == connection.telegram_user_id)
    )
    owner = staff if staff is not None and staff.active else None
    status: ConnectionState = (
        "refused" if owner is None else "active" if connection.is_enabled else "disabled"
    )
    now = ctx.clock.now()
    before = row.status if row is not None else None
    if row is None:
        row = BusinessConnection(id=connection.id, connected_at=now)
        ctx.session.add(row)
    row.user_id = owner.id if owner else None
    row.telegram_user_id = connection.telegram_user_id
    row.user_chat_id = connection.user_chat_id
    row.is_enabled = connection.is_enabled
    row.rights = dict(connection.rights)
    row.status = status
    row.updated_at = now
    changed = before != status
    if status == "refused" and changed:
        why = "a deactivated staff member" if staff is not None else "not on the team"
        log.warning(
            "Telegram Business connection refused: Telegram user %s is %s; none of its "
            "messages are kept",
            connection.telegram_user_id,
            why,
        )
    if owner is not None and changed and (status == "active" or before == "active"):
        kind = "business_connected" if status == "active" else "business_disconnected"
        await outbox.enqueue(
            ctx,
            kind=kind,
            dedupe_key=f"{kind}:{connection.id}:{now.isoformat()}",
            payload={"connection_id": connection.id},
            user_id=owner.id,
        )
    await ctx.session.commit()
    return ConnectionOutcome(status, changed=changed, user_id=row.user_id)


async def connection_of(ctx: Ctx, *, user_id: int) -> BusinessConnection | None:
    """The salesperson's latest Business connection (any status), or None."""
    row: BusinessConnection | None = await ctx.session.scalar(
        select(BusinessConnection)
        .where(BusinessConnection.user_id == user_id)
        .order_by(BusinessConnection.updated_at.desc())
        .limit(1)
    )
    return row
