"""scheduler: reminder index, callback escalation, digest run retries

Revision ID: 0007
Revises: 0003

- `activities.escalated_at`: an overdue missed-call callback reminds its owner again and
  tells the on-duty manager once; this stamp says it was done.
- `ix_activities_reminder_due`: a partial index over the reminders still to send, so the
  reminders job does not scan every overdue activity that was already reminded.
- `digest_runs`: attempts, next attempt, claim expiry, sent time and last error, so a run
  that failed (or whose instance died) is retried and never sent twice.

Plain ADD COLUMN only (no batch "move and copy"), so the FTS triggers of 0003 survive.
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"

REMINDER_DUE = "status = 'planned' AND (reminded_at IS NULL OR reminded_at < remind_at)"


def upgrade() -> None:
    op.add_column("activities", sa.Column("escalated_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_activities_reminder_due",
        "activities",
        ["remind_at"],
        sqlite_where=sa.text(REMINDER_DUE),
        postgresql_where=sa.text(REMINDER_DUE),
    )
    op.add_column(
        "digest_runs",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("digest_runs", sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
    op.add_column("digest_runs", sa.Column("claimed_until", UTCDateTime(), nullable=True))
    op.add_column("digest_runs", sa.Column("sent_at", UTCDateTime(), nullable=True))
    op.add_column("digest_runs", sa.Column("last_error", sa.Text(), nullable=True))
    op.create_index("ix_digest_runs_retry", "digest_runs", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_runs_retry", table_name="digest_runs")
    for column in ("last_error", "sent_at", "claimed_until", "next_attempt_at", "attempts"):
        op.drop_column("digest_runs", column)
    op.drop_index("ix_activities_reminder_due", table_name="activities")
    op.drop_column("activities", "escalated_at")
