"""Request and response bodies of the REST API v1 (resource shapes of DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from annotated_types import Ge, Le, MaxLen
from fastapi import Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from core.errors import InvalidInput
from core.models.calls import Call
from core.models.work import Activity, Note
from core.services.common import MAX_LIMIT
from core.services.notes import TimelineEntry
from telephony_webhooks.api.fields import (
    Code,
    Currency,
    DealTitle,
    Email,
    ExternalId,
    Inn,
    Name,
    Outcome,
    Phone,
    Tag,
    Text,
    Time,
    Title,
    Website,
    ZoneName,
)
from telephony_webhooks.api.fields import QueryTime as QueryTime  # routes import it from here

T = TypeVar("T")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # the database's UTC, read back without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


# Rendered in UTC with an explicit offset ("+00:00"): the same instant reads the same way
# whether it was just written (maybe in +03:00) or read back from the database.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


MAX_ID = 2**31 - 1  # integer keys on PostgreSQL; a larger id is bad input, not a 500
Id = Annotated[int, Ge(1), Le(MAX_ID)]
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


class ErrorOut(BaseModel):
    detail: str = Field(description="why the request failed")
    existing_id: int | None = Field(None, description="the conflicting record (409)")
    field: str | None = Field(None, description="the offending field (422)")


class ListOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    total_capped: bool = Field(
        default=False,
        description="true when a search matched more than `total` (10000): `total` is then a "
        "lower bound and items come newest first instead of by name",
    )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj: object) -> Self:
        return cls.model_validate(obj)


# --- contacts ----------------------------------------------------------------------------


def _live(phones: Any) -> Any:
    return [p for p in phones if getattr(p, "is_live", True)]


class PhoneOut(_Out):
    e164: str
    extension: str | None
    raw: str
    kind: str


class ContactOut(_Out):
    id: int
    name: str
    company_id: int | None
    owner_id: int | None
    phones: Annotated[list[PhoneOut], BeforeValidator(_live)]
    email: str | None
    birthday: date | None
    timezone: str | None
    tags: list[str]
    source: str
    marketing_consent: bool
    created_at: Timestamp
    updated_at: Timestamp


class ContactIn(_In):
    name: Name = Field(examples=["Иван Петров"])
    phones: list[Phone] = Field(
        default_factory=list, max_length=MAX_ITEMS, examples=[["8 (916) 123-45-67"]]
    )
    email: Email | None = None
    birthday: date | None = None
    company_id: Id | None = None
    company_name: Name | None = Field(None, description="found by name, or created")
    owner_id: Id | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_ITEMS)
    timezone: ZoneName | None = Field(None, description="IANA zone; default from the phone")
    marketing_consent: bool = False


class ContactPatch(_In):
    """Only the fields present are changed; `phones` replaces the list."""

    name: Name | None = None
    phones: list[Phone] | None = Field(None, max_length=MAX_ITEMS)
    email: Email | None = None
    birthday: date | None = None
    company_id: Id | None = None
    company_name: Name | None = None
    owner_id: Id | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_ITEMS)
    timezone: ZoneName | None = None
    marketing_consent: bool = False


class MergeIn(_In):
    source_id: Id = Field(description="the contact merged into this one (then deleted)")


class NoteIn(_In):
    text: Text = Field(min_length=1)


class NoteOut(_Out):
    id: int
    contact_id: int
    author_id: int | None
    text: str
    kind: str
    call_id: int | None
    deal_id: int | None
    created_at: Timestamp


# --- companies ---------------------------------------------------------------------------


class CompanyOut(_Out):
    id: int
    name: str
    inn: str | None
    website: str | None
    owner_id: int | None
    created_at: Timestamp
    updated_at: Timestamp


class CompanyIn(_In):
    name: Name = Field(examples=["ООО Ромашка"])
    inn: Inn | None = None
    website: Website | None = None


class CompanyPatch(_In):
    name: Name | None = None
    inn: Inn | None = None
    website: Website | None = None


# --- calls -------------------------------------------------------------------------------


class CallOut(_Out):
    id: int
    provider: str
    provider_call_id: str
    direction: str
    status: str
    client_phone: str | None = Field(description="E.164, or the raw number when not a phone")
    our_phone: str | None
    extension: str | None
    user_id: int | None
    contact_id: int | None
    started_at: Timestamp
    answered_at: Timestamp | None
    ended_at: Timestamp | None
    ring_seconds: int | None
    talk_seconds: int | None
    recording: str | None
    outcome: str | None
    summary: str | None
    disposition: str | None
    callback_of_id: int | None

    @classmethod
    def of(cls, obj: object) -> Self:
        assert isinstance(obj, Call)
        fields = {name: getattr(obj, name) for name in cls.model_fields if name != "client_phone"}
        return cls(client_phone=obj.client_e164 or obj.client_raw, **fields)


class CallPatch(_In):
    outcome: Outcome | None = Field(None, examples=["interested"])
    summary: Text | None = None


# --- activities --------------------------------------------------------------------------


class ActivityOut(_Out):
    id: int
    kind: str
    title: str
    notes: str | None
    due_at: Timestamp | None
    remind_at: Timestamp | None
    owner_id: int | None
    contact_id: int | None
    deal_id: int | None
    status: str
    result: str | None
    done_at: Timestamp | None
    source: str | None
    snooze_count: int
    missed_count: int
    created_at: Timestamp
    updated_at: Timestamp


class ActivityIn(_In):
    kind: Literal["call", "meeting", "task", "callback"] = "task"
    title: Title
    notes: Text | None = None
    due_at: Time | None = Field(None, description="with a UTC offset")
    remind_at: Time | None = Field(None, description="default: due_at")
    owner_id: Id | None = None
    contact_id: Id | None = None
    deal_id: Id | None = None


class CompleteIn(_In):
    result: Text | None = None


class CancelIn(_In):
    reason: Text | None = None


class SnoozeIn(_In):
    minutes: int = Field(ge=1, le=366 * 24 * 60, examples=[15])


class RescheduleIn(_In):
    due_at: Time
    remind_at: Time | None = None


# --- deals -------------------------------------------------------------------------------


def _money(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return value


class DealOut(_Out):
    id: int
    title: str
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    stage: str
    amount: Annotated[str | None, BeforeValidator(_money)] = Field(
        description="decimal string, e.g. '1500.00'"
    )
    currency: str
    expected_close: date | None
    lost_reason: str | None
    external_id: str | None
    closed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class DealIn(_In):
    title: DealTitle
    contact_id: Id | None = None
    company_id: Id | None = None
    stage: Code | None = Field(None, description="default: the first stage")
    amount: Amount | None = Field(None, examples=["1500.00"])
    currency: Currency = "RUB"
    expected_close: date | None = None
    owner_id: Id | None = None
    external_id: ExternalId | None = Field(
        None, description="the shop's order id; empty means none"
    )
    lost_reason: Text | None = Field(None, description="needed when created as lost")


class DealPatch(_In):
    title: DealTitle | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    expected_close: date | None = None
    owner_id: Id | None = None


class DealUpsert(DealPatch):
    """`PUT /deals/by-external-id/{id}`: the fields of a new deal, or the changes to it."""

    contact_id: Id | None = None
    company_id: Id | None = None
    stage: Code | None = Field(None, description="a new deal's stage, or where to move it")
    lost_reason: Text | None = Field(None, description="needed to create or move it as lost")


class StageIn(_In):
    stage: Code = Field(examples=["won"])
    amount: Amount | None = Field(None, description="needed for won unless already set")
    lost_reason: Text | None = Field(None, description="needed for lost")


class StageChangeOut(_Out):
    id: int
    deal_id: int
    from_stage: str | None
    to_stage: str
    changed_by_id: int | None
    changed_at: Timestamp


class StageOut(_Out):
    code: str
    name: str
    position: int
    outcome: str


# --- timeline ----------------------------------------------------------------------------


class TimelineEntryOut(BaseModel):
    kind: Literal["note", "call", "activity", "deal_change"]
    at: Timestamp
    item: NoteOut | CallOut | ActivityOut | StageChangeOut
    deal_title: str | None = None

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        item: NoteOut | CallOut | ActivityOut | StageChangeOut
        if isinstance(entry.item, Note):
            item = NoteOut.of(entry.item)
        elif isinstance(entry.item, Call):
            item = CallOut.of(entry.item)
        elif isinstance(entry.item, Activity):
            item = ActivityOut.of(entry.item)
        else:
            item = StageChangeOut.of(entry.item)
        return cls(kind=entry.kind, at=entry.at, item=item, deal_title=entry.deal_title)


# --- users -------------------------------------------------------------------------------


def _extensions(value: Any) -> Any:
    return [getattr(item, "extension", item) for item in value]


class UserOut(_Out):
    id: int
    name: str
    telegram_user_id: int | None
    role: str
    extensions: Annotated[list[str], BeforeValidator(_extensions)]
    timezone: str
    locale: str
    active: bool
