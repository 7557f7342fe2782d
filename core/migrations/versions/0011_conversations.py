"""conversations with clients in Telegram: the company bot and Business chats (issue 17)

Revision ID: 0011
Revises: 0010

- `conversations`: one Telegram chat with one client on one channel (`bot`: the company bot;
  `business`: a salesperson's own chat through a Telegram Business connection).
- `chat_messages`: every message either way, on the contact's timeline (media by Telegram's
  file reference; edits keep the earlier texts; deletions are marked).
- `message_relays`: which staff message showed which client message (answer by reply).
- `business_connections`: salespeople's Business accounts connected to the bot.
- `client_routing_state`: the round-robin pointer for new clients.
- `contacts.telegram_user_id`, `activities.conversation_id` ("reply to the client" tasks),
  `pipeline_stages.client_name_ru|client_name_en|notify_client` (orders seen by clients).

New tables and plain ADD COLUMN only; nothing stored changes meaning.
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from core.migrations.helpers import ForeignKey, Index, Indexes, create_table, id_column

revision: str = "0011"
down_revision: str | None = "0010"

CONVERSATION_INDEXES = Indexes(
    "conversations",
    Index("ix_conversations_contact", ["contact_id"]),
    Index("ix_conversations_telegram_user", ["telegram_user_id"]),
    Index("uq_conversations_chat", ["channel", "business_connection_id", "chat_id"], unique=True),
)
CHAT_MESSAGE_INDEXES = Indexes(
    "chat_messages",
    Index("ix_chat_messages_contact", ["contact_id", "sent_at"]),
    Index("ix_chat_messages_conversation", ["conversation_id", "sent_at"]),
    Index("ix_chat_messages_media_group", ["conversation_id", "media_group_id"]),
    Index(
        "uq_chat_messages_idempotency",
        ["idempotency_key"],
        unique=True,
        where="idempotency_key IS NOT NULL",
    ),
    Index(
        "uq_chat_messages_telegram",
        ["conversation_id", "telegram_message_id"],
        unique=True,
        where="telegram_message_id IS NOT NULL",
    ),
)
MESSAGE_RELAY_INDEXES = Indexes(
    "message_relays",
    Index("uq_message_relays_staff_message", ["staff_chat_id", "staff_message_id"], unique=True),
)


def upgrade() -> None:
    create_table(
        "business_connections",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("user_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        foreign_keys=[ForeignKey("user_id", "users.id", "SET NULL")],
    )
    create_table(
        "client_routing_state",
        id_column(),
        sa.Column("last_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        foreign_keys=[ForeignKey("last_user_id", "users.id", "SET NULL")],
    )
    create_table(
        "conversations",
        id_column(),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("business_connection_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_reason", sa.String(length=64), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("last_in_at", UTCDateTime(), nullable=True),
        sa.Column("last_out_at", UTCDateTime(), nullable=True),
        sa.Column("auto_reply_at", UTCDateTime(), nullable=True),
        sa.Column("flood_notice_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        foreign_keys=[
            ForeignKey("contact_id", "contacts.id", "CASCADE"),
            ForeignKey("user_id", "users.id", "SET NULL"),
        ],
    )
    CONVERSATION_INDEXES.create()

    create_table(
        "chat_messages",
        id_column(),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=120), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("media_group_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("file_unique_id", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("edited_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        foreign_keys=[
            ForeignKey("author_user_id", "users.id", "SET NULL"),
            ForeignKey("contact_id", "contacts.id", "CASCADE"),
            ForeignKey("conversation_id", "conversations.id", "CASCADE"),
        ],
    )
    CHAT_MESSAGE_INDEXES.create()

    create_table(
        "message_relays",
        id_column(),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        foreign_keys=[
            ForeignKey("conversation_id", "conversations.id", "CASCADE"),
            ForeignKey("message_id", "chat_messages.id", "CASCADE"),
            ForeignKey("user_id", "users.id", "CASCADE"),
        ],
    )
    MESSAGE_RELAY_INDEXES.create()

    op.add_column("activities", sa.Column("conversation_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a constraint in place
        op.create_foreign_key(
            op.f("fk_activities_conversation_id_conversations"),
            "activities",
            "conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.add_column("contacts", sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_contacts_telegram_user", "contacts", ["telegram_user_id"])

    op.add_column("pipeline_stages", sa.Column("client_name_ru", sa.String(100), nullable=True))
    op.add_column("pipeline_stages", sa.Column("client_name_en", sa.String(100), nullable=True))
    op.add_column(
        "pipeline_stages",
        sa.Column("notify_client", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_stages", schema=None) as batch_op:
        batch_op.drop_column("notify_client")
        batch_op.drop_column("client_name_en")
        batch_op.drop_column("client_name_ru")

    op.drop_index("ix_contacts_telegram_user", table_name="contacts")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("telegram_user_id")

    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_column("conversation_id")

    MESSAGE_RELAY_INDEXES.drop()
    op.drop_table("message_relays")
    CHAT_MESSAGE_INDEXES.drop()
    op.drop_table("chat_messages")
    CONVERSATION_INDEXES.drop()
    op.drop_table("conversations")
    op.drop_table("client_routing_state")
    op.drop_table("business_connections")
