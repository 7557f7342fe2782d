"""Monthly sales targets: what a manager expects of a salesperson in a calendar month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SalesTarget(Base):
    """One figure a salesperson is to reach in a month (won_amount in minor units)."""

    __tablename__ = "sales_targets"
    __table_args__ = (UniqueConstraint("user_id", "month", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the calendar month
    metric: Mapped[str] = mapped_column(String(32))  # won_amount | deals_won | calls_out
    target: Mapped[int] = mapped_column(BigInteger)  # a count, or kopecks for won_amount
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
