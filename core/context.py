"""What every service call gets: a session, a clock, the config and who is acting."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.users.models import User


@dataclass
class Ctx:
    """One unit of work: the edge opens the session, the service commits once."""

    session: AsyncSession
    config: CoreConfig
    clock: Clock

    @classmethod
    def of(
        cls, session: AsyncSession, config: CoreConfig | None = None, clock: Clock | None = None
    ) -> Ctx:
        return cls(session=session, config=config or CoreConfig(), clock=clock or SystemClock())


@dataclass(frozen=True)
class Actor:
    """Who is acting: an employee, an API key or the system (PBX processing, scheduler)."""

    role: str
    user_id: int | None = None
    label: str = "system"
    api_key_id: int | None = None
    scope: str | None = None  # an API key's scope (read|integration|admin); None: not a key

    @classmethod
    def of_user(cls, user: User) -> Actor:
        return cls(role=user.role, user_id=user.id, label=f"user:{user.id}")

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(role="admin", user_id=None, label=label)

    @classmethod
    def api_key(cls, key_id: int, name: str, scope: str = "admin") -> Actor:
        """A key sees every record; only an admin-scoped one acts as admin."""
        role = "admin" if scope == "admin" else "manager"
        legacy_scope = "integration" if scope == "manager" else scope
        return cls(
            role=role, user_id=None, label=f"api:{name}", api_key_id=key_id, scope=legacy_scope
        )

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "manager")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
