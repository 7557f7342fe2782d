"""Planned work, deals, notes: what the salesperson does with a contact."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime

ActivityKind = Literal["call", "meeting", "task", "callback", "reply"]
ActivityStatus = Literal["planned", "done", "canceled"]
ACTIVITY_KINDS: tuple[ActivityKind, ...] = ("call", "meeting", "task", "callback", "reply")
# A reminder is due again whenever remind_at moves past the time it was last sent.
REMINDER_DUE = "status = 'planned' AND (reminded_at IS NULL OR reminded_at < remind_at)"


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_owner_due", "owner_id", "status", "due_at"),
        Index("ix_activities_remind", "status", "remind_at"),
        Index("ix_activities_contact", "contact_id", "due_at"),
        # The reminders still to send (the scheduler's reminders job reads only these).
        Index(
            "ix_activities_reminder_due",
            "remind_at",
            sqlite_where=text(REMINDER_DUE),
            postgresql_where=text(REMINDER_DUE),
        ),
        # One open callback task per phone number (the missed-call lifecycle).
        Index(
            "uq_activities_open_callback_phone",
            "callback_phone",
            unique=True,
            sqlite_where=text("status = 'planned' AND kind = 'callback'"),
            postgresql_where=text("status = 'planned' AND kind = 'callback'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="task")
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    result: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # overdue callback
    snooze_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str | None] = mapped_column(String(32))
    source_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    callback_phone: Mapped[str | None] = mapped_column(String(20))
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_by_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL")
    )
    time_to_callback_seconds: Mapped[int | None] = mapped_column(Integer)
    # A "reply to the client" task (kind "reply"): the conversation waiting for an answer.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PipelineStage(Base):
    """A configurable deal stage; `outcome` is open, won or lost (won/lost are terminal)."""

    __tablename__ = "pipeline_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What a client sees for an order in this stage (None: the stage is not shown to clients).
    client_name_ru: Mapped[str | None] = mapped_column(String(100))
    client_name_en: Mapped[str | None] = mapped_column(String(100))
    # A client with a conversation is told once when their order moves into this stage.
    notify_client: Mapped[bool] = mapped_column(Boolean, default=False)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_owner_stage", "owner_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stage: Mapped[str] = mapped_column(String(32))
    # Money is kept in minor units (kopecks) so SQLite and PostgreSQL add it up exactly.
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    expected_close: Mapped[date | None] = mapped_column(Date)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def amount(self) -> Decimal | None:
        if self.amount_minor is None:
            return None
        return Decimal(self.amount_minor) / 100

    @amount.setter
    def amount(self, value: Decimal | None) -> None:
        self.amount_minor = None if value is None else int((value * 100).to_integral_value())


class DealStageChange(Base):
    __tablename__ = "deal_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_contact_created", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="note")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
