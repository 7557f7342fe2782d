"""client_texts: the company bot's words to clients as an admin rewrote them (issue 17)

Revision ID: 0014
Revises: 0013

One new table; nothing stored changes meaning. A key without a row uses the built-in text
(core/conversations/texts.py).
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from core.migrations.helpers import ForeignKey, create_table

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    create_table(
        "client_texts",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        foreign_keys=[ForeignKey("updated_by_id", "users.id", "SET NULL")],
        primary_key=("key", "locale"),
    )


def downgrade() -> None:
    op.drop_table("client_texts")
