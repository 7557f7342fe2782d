"""Helpers shared by services: pages, audit entries, visibility rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, or_, true

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound
from core.models.contacts import Contact
from core.models.system import AuditLog

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    # True when counting stopped at a cap (contact search, SEARCH_TOTAL_CAP): `total` is
    # then the cap and means "at least this many" (show "10 000+").
    total_capped: bool = False


def check_page(limit: int, offset: int) -> None:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")


def audit(
    ctx: Ctx, *, actor: Actor, entity: str, entity_id: int, action: str, changes: dict[str, Any]
) -> None:
    """Add an audit entry to the current unit of work (committed with the change itself)."""
    ctx.session.add(
        AuditLog(
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            entity=entity,
            entity_id=entity_id,
            action=action,
            changes=_jsonable(changes),
            at=ctx.clock.now(),
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def contact_visible_clause(ctx: Ctx, actor: Actor) -> ColumnElement[bool]:
    """SQL condition: contacts this actor may see (VISIBILITY=own limits sales people)."""
    if actor.sees_all or ctx.config.visibility == "all":
        return true()
    return or_(Contact.owner_id == actor.user_id, Contact.owner_id.is_(None))


def can_see_contact(ctx: Ctx, actor: Actor, contact: Contact) -> bool:
    if actor.sees_all or ctx.config.visibility == "all":
        return True
    return contact.owner_id is None or contact.owner_id == actor.user_id


def ensure_visible(ctx: Ctx, actor: Actor, contact: Contact | None, contact_id: int) -> Contact:
    """The contact, or NotFound when it is missing, deleted or not this actor's to see."""
    if (
        contact is None
        or contact.deleted_at is not None
        or not can_see_contact(ctx, actor, contact)
    ):
        raise NotFound(f"contact {contact_id} not found")
    return contact


def owned_by_actor_or_privileged(actor: Actor, owner_id: int | None) -> bool:
    return actor.sees_all or owner_id is None or owner_id == actor.user_id
