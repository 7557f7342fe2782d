"""All ORM models; importing this module registers every table on Base.metadata."""

from core.activities.models import Activity
from core.calls.models import Call, TelephonyEvent
from core.contacts.models import Company, Contact, ContactPhone
from core.conversations.models import (
    BusinessConnection,
    ChatMessage,
    ClientRoutingState,
    ClientText,
    Conversation,
    MessageRelay,
)
from core.deals.models import Deal, DealStageChange, PipelineStage
from core.documents.models import Document, DocumentBlob, DocumentChunk, DocumentText
from core.greetings.models import GreetingLog
from core.imports.models import ImportJob
from core.jobs.models import BackgroundJob
from core.models.audit import AuditLog
from core.notes.models import Note
from core.outbox.models import Notification
from core.reports.models import DigestRun, DigestSubscription
from core.targets.models import SalesTarget
from core.telegram.models import TelegramUpdate
from core.users.models import ApiKey, Invite, User, UserExtension

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
    "SalesTarget",
    "TelegramUpdate",
    "TelephonyEvent",
    "User",
    "UserExtension",
]
