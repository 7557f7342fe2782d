"""API keys for integrations: stored as SHA-256, shown once, scoped, listed and revoked.

A key's role is its scope:
- `read`: reads everything, changes nothing (reports, a BI tool);
- `integration`: reads, and upserts contacts, companies and deals, and writes to clients
  who have a conversation (the online shop, the accounting system);
- `admin`: everything the REST API offers.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.users.models import ApiKey

PREFIX = "pzv_"
ROLES = ("read", "integration", "admin")
# Keys made before scopes existed could be "manager": they read and write like an integration.
_LEGACY_ROLES = {"manager": "integration"}
# What an integration key may change (REST operations), besides reading.
INTEGRATION_WRITES = frozenset(
    {
        "create_contact",
        "patch_contact",
        "upsert_by_phone",
        "create_company",
        "patch_company",
        "create_deal",
        "patch_deal",
        "move_deal",
        "upsert_deal_by_external_id",
        "upload_contact_document",
        "upload_deal_document",
        "upload_deal_document_by_external_id",
        "send_message",
    }
)
# last_used_at is a hint, not an audit trail: one write a minute per key at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def scope_of(role: str) -> str:
    """The scope a stored role grants (legacy roles mapped; anything unknown reads only)."""
    role = _LEGACY_ROLES.get(role, role)
    return role if role in ROLES else "read"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create(ctx: Ctx, *, actor: Actor, name: str, role: str = "admin") -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can create API keys")
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    role = _LEGACY_ROLES.get(role, role)
    if role not in ROLES:
        raise InvalidInput(f"API key role must be one of {', '.join(ROLES)}", field="role")
    plain = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip()[:100],
        prefix=plain[:10],
        key_hash=_hash(plain),
        role=role,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(key)
    await ctx.session.commit()
    return key, plain


async def authenticate(ctx: Ctx, *, plain: str) -> Actor | None:
    """The actor behind a presented key, or None for an unknown or revoked key."""
    if not plain or len(plain) > 200:
        return None
    # The lookup is by hash, so timing reveals nothing about stored keys.
    key = await ctx.session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(plain)))
    if key is None or key.revoked_at is not None:
        return None
    actor = Actor.api_key(key.id, key.name, scope_of(key.role))
    now = ctx.clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await _stamp_last_used(ctx, key_id=key.id, now=now)
    return actor


async def _stamp_last_used(ctx: Ctx, *, key_id: int, now: datetime) -> None:
    """Best effort, in a transaction of its own before the request's use case starts.

    The read that found the key ends first: on SQLite a read transaction cannot become a
    write one once a concurrent request has stamped the key (its snapshot is stale). The
    condition makes a concurrent twin's stamp a no-op, and a stamp that still meets a lock
    is skipped: when a key was last used must never fail the request that uses it."""
    await ctx.session.commit()
    try:
        await ctx.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at <= now - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        await ctx.session.commit()
    except OperationalError:
        await ctx.session.rollback()


def check_scope(actor: Actor, *, operation: str, changes: bool) -> None:
    """PermissionDenied unless the actor's key may run this REST operation."""
    scope = actor.scope
    if scope is None or scope == "admin" or not changes:
        return
    if scope == "integration" and operation in INTEGRATION_WRITES:
        return
    raise PermissionDenied(f"this API key is scoped {scope!r}: it may not run {operation}")


async def list_keys(ctx: Ctx, *, actor: Actor) -> list[ApiKey]:
    """Every key, revoked ones too, oldest first (never the keys themselves)."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can list API keys")
    return list(await ctx.session.scalars(select(ApiKey).order_by(ApiKey.id)))


async def revoke(ctx: Ctx, *, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key at once; revoking a revoked key keeps its first revocation time."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can revoke API keys")
    key = await ctx.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = ctx.clock.now()
    await ctx.session.commit()
    return key
