"""Request and response bodies of the REST API v1 (resource shapes of DESIGN §5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from annotated_types import MaxLen
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
)
from sqlalchemy import inspect

from api.fields import (
    Code,
    Currency,
    DealTitle,
    Email,
    ExternalId,
    Inn,
    Line,
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
from api.fields import QueryTime as QueryTime  # the checked time window

# Shared shapes, also importable from here (routers of other areas use these names).
from api.shapes import MAX_ITEMS
from api.shapes import Amount as Amount
from api.shapes import ErrorOut as ErrorOut
from api.shapes import FieldError as FieldError
from api.shapes import Id as Id
from api.shapes import Limit as Limit
from api.shapes import ListOut as ListOut
from api.shapes import Offset as Offset
from api.shapes import RequestModel as _In
from api.shapes import ResponseModel as _Out
from api.shapes import Timestamp as Timestamp
from api.shapes import choices as choices
from core.activities.models import Activity, ActivityKind, ActivityStatus
from core.activities.service import MAX_SNOOZE_MINUTES
from core.calls.models import Call, CallStatus, Direction
from core.contacts.models import Company, Contact, ContactSource
from core.conversations.models import ChatMessage
from core.notes.models import Note
from core.notes.service import TimelineEntry
from core.phones import try_normalize
from core.users.models import Role

# Only to read a stored `our_phone` written without '+' (any region parses "+7…").
_REGION = "RU"


# --- contacts ----------------------------------------------------------------------------


def _live(phones: Any) -> Any:
    return [p for p in phones if getattr(p, "is_live", True)]


class PhoneOut(_Out):
    e164: str
    extension: str | None
    raw: str
    kind: str


def _company_name(contact: Any) -> str | None:
    """The loaded company's name (services load it with the contact); never a lazy load."""
    if not isinstance(contact, Contact) or contact.company_id is None:
        return None
    company = inspect(contact).attrs.company.loaded_value
    if isinstance(company, Company) and company.id == contact.company_id:
        return company.name
    return None


class ContactOut(_Out):
    id: int
    name: str
    company_id: int | None
    company_name: str | None = Field(None, description="the name of company_id")
    owner_id: int | None
    phones: Annotated[list[PhoneOut], BeforeValidator(_live)]
    email: str | None
    birthday: date | None
    timezone: str | None
    tags: list[str]
    source: ContactSource
    marketing_consent: bool = Field(description="the client agreed to greetings and offers")
    consent_source: str | None = Field(
        None,
        description='where consent came from: "telegram" (the client\'s own link in the bot) '
        'or "api:<source>" (recorded by an integration)',
    )
    consent_at: Timestamp | None = Field(None, description="when consent was given")
    consent_stopped_at: Timestamp | None = Field(
        None,
        description="the client's /stop in the bot: final; only a new link opened by the "
        "client turns consent on again, and the API cannot",
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, obj: object) -> Self:
        return cls.model_validate(obj).model_copy(update={"company_name": _company_name(obj)})


CONSENT = (
    "`false` withdraws consent; `true` records consent the client gave elsewhere and needs "
    "`consent_source` (422 without it); 409 once the client has sent /stop in the bot"
)
ConsentSource = Annotated[
    Line,
    MaxLen(100),
    Field(
        description="with `marketing_consent: true`: where and how the client agreed; "
        'stored as "api:<source>"',
        examples=["shop checkout"],
    ),
]
ConsentAt = Annotated[
    Time, Field(description="with `marketing_consent: true`: when the client agreed (default now)")
]


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
    marketing_consent: bool = Field(False, description=CONSENT)
    consent_source: ConsentSource | None = None
    consent_at: ConsentAt | None = None


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
    marketing_consent: bool = Field(False, description=CONSENT)
    consent_source: ConsentSource | None = None
    consent_at: ConsentAt | None = None


class MergeIn(_In):
    source_id: Id = Field(description="the contact merged into this one (then deleted)")


class NoteIn(_In):
    text: Text = Field(min_length=1)


class NotePatch(_In):
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
    direction: Direction
    status: CallStatus
    client_phone: str | None = Field(description="E.164, or the raw number when not a phone")
    our_phone: str | None = Field(description="E.164, or as the PBX sent it when not a phone")
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
        skip = {"client_phone", "our_phone"}
        fields = {name: getattr(obj, name) for name in cls.model_fields if name not in skip}
        return cls(
            client_phone=obj.client_e164 or obj.client_raw, our_phone=_e164(obj.our_phone), **fields
        )


def _e164(raw: str | None) -> str | None:
    """A stored number in E.164 when it parses as one (PBXs send `74951234567`), else as is."""
    if not raw:
        return raw
    digits = raw.strip()
    plus = digits if digits.startswith("+") else "+" + digits.lstrip("0")
    for candidate in (plus, digits):
        phone = try_normalize(candidate, region=_REGION)
        if phone is not None and phone.e164 is not None:
            return phone.e164
    return raw


class CallPatch(_In):
    outcome: Outcome | None = Field(None, examples=["interested"])
    summary: Text | None = None


# --- activities --------------------------------------------------------------------------


class ActivityOut(_Out):
    id: int
    kind: ActivityKind
    title: str
    notes: str | None
    due_at: Timestamp | None
    remind_at: Timestamp | None
    owner_id: int | None
    contact_id: int | None
    deal_id: int | None
    status: ActivityStatus
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
    minutes: int = Field(ge=1, le=MAX_SNOOZE_MINUTES, examples=[15], description="up to 30 days")


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
    stage: Code = Field(
        min_length=1, examples=["won"], description="a code of GET /pipeline/stages"
    )
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
    outcome: Literal["open", "won", "lost"]
    client_name_ru: str | None = Field(
        None, description="what clients see for an order here (null: not shown to clients)"
    )
    client_name_en: str | None = None
    notify_client: bool = Field(
        False, description="a client with a conversation is told when their order moves here"
    )


# --- timeline ----------------------------------------------------------------------------


class MessageFileOut(BaseModel):
    """What Telegram told about a message's file (the bytes stay with Telegram)."""

    file_name: str | None
    mime_type: str | None
    file_size: int | None


class MessageOut(_Out):
    """A message in a client conversation: the company bot or a salesperson's Business chat."""

    id: int
    conversation_id: int
    contact_id: int
    channel: Literal["bot", "business"]
    direction: Literal["in", "out"] = Field(description="in: from the client; out: to them")
    author_user_id: int | None = Field(description="the salesperson who wrote an outgoing one")
    author: str | None = Field(
        None,
        description="who wrote it: the salesperson's name, or the sender's label "
        '("api:<key name>", "order_status", …); null for the client',
    )
    kind: str = Field(description="text, photo, document, voice, video, sticker, location, …")
    text: str | None = Field(description="the text or the caption")
    file: MessageFileOut | None = None
    status: str = Field(description="received (from the client); pending, sent or failed (to)")
    sent_at: Timestamp
    edited: bool = False
    edited_at: Timestamp | None = None
    deleted: bool = False
    deleted_at: Timestamp | None = None

    @classmethod
    def of(cls, obj: object, *, author: str | None = None) -> Self:
        assert isinstance(obj, ChatMessage)
        message = obj
        has_file = message.file_id is not None or message.file_name is not None
        return cls.model_validate(message).model_copy(
            update={
                "author": author,
                "file": MessageFileOut(
                    file_name=message.file_name,
                    mime_type=message.mime_type,
                    file_size=message.file_size,
                )
                if has_file
                else None,
                "edited": message.edited_at is not None,
                "deleted": message.deleted_at is not None,
            }
        )


class MessageIn(_In):
    text: Annotated[str, Field(min_length=1, max_length=4096, examples=["Ваш заказ отправлен"])] = (
        Field(description="the message to the client, as plain text (1–4096 characters)")
    )


class TimelineEntryOut(BaseModel):
    kind: Literal["note", "call", "activity", "deal_change", "message"]
    at: Timestamp
    item: NoteOut | CallOut | ActivityOut | StageChangeOut | MessageOut
    deal_title: str | None = None

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        item: NoteOut | CallOut | ActivityOut | StageChangeOut | MessageOut
        if isinstance(entry.item, ChatMessage):
            item = MessageOut.of(entry.item, author=entry.author)
        elif isinstance(entry.item, Note):
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
    role: Role
    extensions: Annotated[list[str], BeforeValidator(_extensions)]
    timezone: str
    locale: str
    active: bool


class UserPatch(_In):
    """Only the fields present are changed (an admin key): the last active admin can be
    neither given another role nor switched off (409)."""

    role: Role | None = None
    active: bool | None = None


# --- lists: one named schema each (ContactList, not ListOut_ContactOut_) -----------------


class ContactList(ListOut[ContactOut]):
    pass


class CompanyList(ListOut[CompanyOut]):
    pass


class CallList(ListOut[CallOut]):
    pass


class ActivityList(ListOut[ActivityOut]):
    pass


class DealList(ListOut[DealOut]):
    pass


class StageChangeList(ListOut[StageChangeOut]):
    pass


class StageList(ListOut[StageOut]):
    pass


class TimelineList(ListOut[TimelineEntryOut]):
    pass


class NoteList(ListOut[NoteOut]):
    pass


class UserList(ListOut[UserOut]):
    pass
