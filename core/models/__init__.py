"""All ORM models; importing this module registers every table on Base.metadata."""

from core.models.calls import Call, TelephonyEvent
from core.models.client_texts import ClientText
from core.models.contacts import Company, Contact, ContactPhone
from core.models.conversations import (
    BusinessConnection,
    ChatMessage,
    ClientRoutingState,
    Conversation,
    MessageRelay,
)
from core.models.documents import Document, DocumentBlob, DocumentChunk, DocumentText
from core.models.imports import ImportJob
from core.models.system import (
    ApiKey,
    AuditLog,
    BackgroundJob,
    DigestRun,
    DigestSubscription,
    GreetingLog,
    Notification,
    TelegramUpdate,
)
from core.models.users import Invite, User, UserExtension
from core.models.work import Activity, Deal, DealStageChange, Note, PipelineStage

__all__ = [
    "Activity",
    "ApiKey",
    "AuditLog",
    "BackgroundJob",
    "BusinessConnection",
    "Call",
    "ChatMessage",
    "ClientRoutingState",
    "ClientText",
    "Company",
    "Contact",
    "ContactPhone",
    "Conversation",
    "Deal",
    "DealStageChange",
    "DigestRun",
    "DigestSubscription",
    "Document",
    "DocumentBlob",
    "DocumentChunk",
    "DocumentText",
    "GreetingLog",
    "ImportJob",
    "Invite",
    "MessageRelay",
    "Note",
    "Notification",
    "PipelineStage",
    "TelegramUpdate",
    "TelephonyEvent",
    "User",
    "UserExtension",
]
