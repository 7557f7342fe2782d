"""live messages: the Telegram message a notification became, so it can be edited in place

Revision ID: 0010
Revises: 0009

- `notifications.message_id`: the id Telegram gave the sent message (screen pops and
  missed-call tasks), recorded with the delivery; a later `call_update` / `task_update`
  notification edits that message as the call is answered, missed or ends, or the task closes.
- `notifications.live_ref` (indexed): what a live message shows ("call:<id>", "task:<id>"),
  so the edits find the messages to edit by an exact match, not a scan of the outbox.

Plain ADD COLUMN only (no batch "move and copy").
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.add_column("notifications", sa.Column("message_id", sa.BigInteger(), nullable=True))
    op.add_column("notifications", sa.Column("live_ref", sa.String(64), nullable=True))
    op.create_index("ix_notifications_live_ref", "notifications", ["live_ref"])


def downgrade() -> None:
    op.drop_index("ix_notifications_live_ref", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("live_ref")
        batch.drop_column("message_id")
