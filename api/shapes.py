"""The REST API's shared shapes: ids, paging, timestamps, error and list bodies, base models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from annotated_types import Ge, Le, MaxLen
from fastapi import Query
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from core.common import MAX_LIMIT
from core.errors import InvalidInput

T = TypeVar("T")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # the database's UTC, read back without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


# Rendered in UTC with an explicit offset ("+00:00") and whole seconds: the same instant reads
# the same way whether it was just written (maybe in +03:00) or read back from the database,
# and every timestamp of the API has one shape ("2026-11-26T09:00:00+00:00").
Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-11-26T09:00:00+00:00"]}
    ),
]


def _plus_from_query(value: Any) -> Any:
    # An unencoded '+' in a query string arrives as a space: "...T10:00:00 03:00".
    if isinstance(value, str):
        return re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    return value


SearchText = Annotated[
    str, Query(max_length=200, pattern="^[^\\x00]*$", description="any part of the text")
]
MAX_ID = 2**31 - 1  # integer keys on PostgreSQL; a larger id is bad input, not a 500
Id = Annotated[int, Ge(1), Le(MAX_ID)]
QueryTime = Annotated[AwareDatetime, BeforeValidator(_plus_from_query)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="items to skip")]
Amount = Annotated[str, MaxLen(32)] | int | float
MAX_ITEMS = 50  # phones or tags of one contact


def choices(raw: Iterable[str] | None, allowed: Iterable[str], field: str) -> list[str]:
    """A repeatable, comma-separable enum query parameter (`?status=missed,busy`)."""
    known = tuple(allowed)
    values = [v.strip() for item in raw or () for v in item.split(",") if v.strip()]
    for value in values:
        if value not in known:
            raise InvalidInput(f"{field} {value!r} is not one of {', '.join(known)}", field=field)
    return values


class FieldError(BaseModel):
    field: str | None = Field(description="dotted path inside `location`, e.g. `phones.0`")
    location: Literal["body", "query", "path", "header"] | None = Field(
        description="where it is; null when a service found the problem"
    )
    message: str


class ErrorOut(BaseModel):
    detail: str = Field(description="why the request failed (every problem, for people)")
    existing_id: int | None = Field(None, description="the conflicting record (409)")
    field: str | None = Field(None, description="the first offending field (422)")
    errors: list[FieldError] | None = Field(
        None, description="every problem with its field path (422)"
    )


class ListOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    total_capped: bool = Field(
        default=False,
        description="true when a contact search matched more than `total` (10000): `total` "
        "is then a lower bound and pages come newest first instead of by name; narrow the "
        "search (more words, owner_id) to page a result in name order",
    )


NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold U+0000


def _no_nul_in_strings(schema: dict[str, Any]) -> None:
    """Say in the JSON schema what RequestModel enforces: no string property holds U+0000."""
    for prop in schema.get("properties", {}).values():
        for variant in [prop, *prop.get("anyOf", []), prop.get("items", {})]:
            if variant.get("type") == "string" and "format" not in variant:
                variant.setdefault("pattern", NO_NUL)


def _has_nul(value: Any) -> bool:
    # Items of a list are checked by their own type (api/fields.py), which names the item.
    return isinstance(value, str) and "\x00" in value


class RequestModel(BaseModel):
    """A request body: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_nul_in_strings)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return value


class ResponseModel(BaseModel):
    """A response body read from a core object."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj: object) -> Self:
        return cls.model_validate(obj)
