"""a relayed staff message may show several client messages (grouped relays, issue 17)

Revision ID: 0016
Revises: 0018

- `message_relays`: unique on (staff_chat_id, staff_message_id, message_id) instead of
  (staff_chat_id, staff_message_id): when client messages wait for a salesperson's chat, the
  outbox relays them as one message, and a reply to it must find every client it shows.
  Existing rows keep their meaning (one client message per staff message).
"""

from alembic import op

revision: str = "0016"
down_revision: str | None = "0018"


def upgrade() -> None:
    with op.batch_alter_table("message_relays", schema=None) as batch_op:
        batch_op.drop_index("uq_message_relays_staff_message")
        batch_op.create_index(
            "uq_message_relays_staff_message",
            ["staff_chat_id", "staff_message_id", "message_id"],
            unique=True,
        )


def downgrade() -> None:
    # Grouped relays keep one row per staff message (the first client message it showed).
    op.execute(
        "DELETE FROM message_relays WHERE id NOT IN (SELECT min(id) FROM message_relays "
        "GROUP BY staff_chat_id, staff_message_id)"
    )
    with op.batch_alter_table("message_relays", schema=None) as batch_op:
        batch_op.drop_index("uq_message_relays_staff_message")
        batch_op.create_index(
            "uq_message_relays_staff_message", ["staff_chat_id", "staff_message_id"], unique=True
        )
