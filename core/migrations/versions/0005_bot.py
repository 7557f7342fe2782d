"""client opt-in: a greeting token per contact and the time consent was given

Revision ID: 0005
Revises: 0003

Plain ADD COLUMN and CREATE UNIQUE INDEX (no batch_alter_table): on SQLite a batch
operation recreates `contacts` and would drop migration 0003's search triggers.
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0005"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.add_column("contacts", sa.Column("greeting_token", sa.String(length=32), nullable=True))
    op.add_column(
        "contacts", sa.Column("consent_at", core.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index("uq_contacts_greeting_token", "contacts", ["greeting_token"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_contacts_greeting_token", table_name="contacts")
    # Plain DROP COLUMN (SQLite 3.35+ has it) keeps 0003's triggers on `contacts` alive.
    op.drop_column("contacts", "consent_at")
    op.drop_column("contacts", "greeting_token")
