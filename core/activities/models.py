"""Activities: planned work (calls, meetings, tasks, callbacks, replies) and their reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime, partial_index

ActivityKind = Literal["call", "meeting", "task", "callback", "reply"]


ActivityStatus = Literal["planned", "done", "canceled"]


ACTIVITY_KINDS: tuple[ActivityKind, ...] = ("call", "meeting", "task", "callback", "reply")


# A reminder is due again whenever remind_at moves past the time it was last sent.
REMINDER_DUE = "status = 'planned' AND (reminded_at IS NULL OR reminded_at < remind_at)"


class Activity(Timestamped, Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_owner_due", "owner_id", "status", "due_at"),
        Index("ix_activities_remind", "status", "remind_at"),
        Index("ix_activities_contact", "contact_id", "due_at"),
        # The reminders still to send (the scheduler's reminders job reads only these).
        partial_index("ix_activities_reminder_due", "remind_at", where=REMINDER_DUE),
        # One open callback task per phone number (the missed-call lifecycle).
        partial_index(
            "uq_activities_open_callback_phone",
            "callback_phone",
            where="status = 'planned' AND kind = 'callback'",
            unique=True,
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
