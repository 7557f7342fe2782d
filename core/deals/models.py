"""Deals, their pipeline stages and stage changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime


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


class Deal(Timestamped, Base):
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
