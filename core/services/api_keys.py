"""API keys for integrations: stored as SHA-256, shown once."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from core.context import Actor, Ctx
from core.errors import InvalidInput, PermissionDenied
from core.models.system import ApiKey

PREFIX = "pzv_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create(ctx: Ctx, *, actor: Actor, name: str, role: str = "admin") -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can create API keys")
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    if role not in ("admin", "manager"):
        raise InvalidInput("API key role must be admin or manager", field="role")
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
    return Actor.api_key(key.id, key.name, key.role)


async def revoke(ctx: Ctx, *, actor: Actor, key_id: int) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can revoke API keys")
    key = await ctx.session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = ctx.clock.now()
    await ctx.session.commit()
