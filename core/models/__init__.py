"""All ORM models; importing this module registers every table on Base.metadata."""

from core.models.calls import Call, TelephonyEvent
from core.models.contacts import Company, Contact, ContactPhone
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
    "Call",
    "Company",
    "Contact",
    "ContactPhone",
    "Deal",
    "DealStageChange",
    "DigestRun",
    "DigestSubscription",
    "GreetingLog",
    "ImportJob",
    "Invite",
    "Note",
    "Notification",
    "PipelineStage",
    "TelegramUpdate",
    "TelephonyEvent",
    "User",
    "UserExtension",
]
