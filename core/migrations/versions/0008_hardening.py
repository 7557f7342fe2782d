"""hardening: final /stop, expiring greeting links, applied Telegram updates, background jobs

Revision ID: 0008
Revises: 0007

- `contacts.greeting_token_at`: when the opt-in link was issued (links expire and rotate).
- `contacts.consent_source`: where consent came from ("telegram", or "api:<source>").
- `contacts.consent_stopped_at`: the client's /stop; only the client's own action reopens it.
- `telegram_updates`: update ids already applied, so a redelivered update is applied once.
- `background_jobs`: heavy work (imports sent to the bot) taken off the update handler.

Plain ADD COLUMN only (no batch "move and copy"), so the FTS triggers of 0003 survive.
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from core.migrations.helpers import ForeignKey, create_table, id_column

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.add_column("contacts", sa.Column("greeting_token_at", UTCDateTime(), nullable=True))
    op.add_column("contacts", sa.Column("consent_source", sa.String(120), nullable=True))
    op.add_column("contacts", sa.Column("consent_stopped_at", UTCDateTime(), nullable=True))
    create_table(
        "telegram_updates",
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        primary_key=("bot_id", "update_id"),
    )
    op.create_index("ix_telegram_updates_received_at", "telegram_updates", ["received_at"])
    create_table(
        "background_jobs",
        id_column(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        foreign_keys=[ForeignKey("user_id", "users.id", "SET NULL")],
    )
    op.create_index("ix_background_jobs_due", "background_jobs", ["status", "run_after"])


def downgrade() -> None:
    op.drop_index("ix_background_jobs_due", table_name="background_jobs")
    op.drop_table("background_jobs")
    op.drop_index("ix_telegram_updates_received_at", table_name="telegram_updates")
    op.drop_table("telegram_updates")
    for column in ("consent_stopped_at", "consent_source", "greeting_token_at"):
        op.drop_column("contacts", column)
