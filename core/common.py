"""Helpers shared by services: pages, the page query, a row by id and audit entries
(visibility: core.access)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound
from core.models.audit import AuditLog

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


def given_filters(
    equal: Iterable[tuple[InstrumentedAttribute[Any], object]] = (),
    among: Iterable[tuple[InstrumentedAttribute[Any], Sequence[object]]] = (),
) -> list[ColumnElement[bool]]:
    """The filters a caller gave: `column == value` for each value that is not None, and
    `column IN values` for each non-empty `values`."""
    where = [column == value for column, value in equal if value is not None]
    return where + [column.in_(list(values)) for column, values in among if values]


async def page_of(
    ctx: Ctx,
    kind: type[T],
    where: Iterable[ColumnElement[bool]],
    *,
    order_by: Iterable[ColumnElement[Any] | InstrumentedAttribute[Any]],
    limit: int,
    offset: int,
) -> Page[T]:
    """One page of the rows of `kind` that match `where`, in `order_by` order, and how many
    match in all (the caller has checked the page with `check_page`)."""
    where = list(where)
    total = await ctx.session.scalar(select(func.count()).select_from(kind).where(*where))
    rows = await ctx.session.scalars(
        select(kind).where(*where).order_by(*order_by).limit(limit).offset(offset)
    )
    return Page(items=list(rows), total=int(total or 0))


async def get_or_not_found(
    ctx: Ctx, kind: type[T], row_id: int, what: str, *, code: str | None = None
) -> T:
    """The row of `kind` with this id, or NotFound "<what> <id> not found"."""
    row = await ctx.session.get(kind, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found", code=code)
    return row


async def add_audited(
    ctx: Ctx,
    row: Any,
    *,
    actor: Actor,
    entity: str,
    action: str = "create",
    changes: dict[str, Any],
) -> None:
    """Add a new row (flushed, for its id) and its audit entry to the current unit of work."""
    ctx.session.add(row)
    await ctx.session.flush()
    audit(ctx, actor=actor, entity=entity, entity_id=row.id, action=action, changes=changes)


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
