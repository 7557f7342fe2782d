"""Import jobs: one per file content and policy, so an interrupted import resumes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime


class ImportJob(Timestamped, Base):
    """An import being applied batch by batch; each batch commits with its progress here."""

    __tablename__ = "import_jobs"
    __table_args__ = (UniqueConstraint("kind", "content_hash", "policy"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="contacts")
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the file
    policy: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|done
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    batch_size: Mapped[int] = mapped_column(Integer)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    # new / updated / duplicate counts of the applied batches
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(120))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
