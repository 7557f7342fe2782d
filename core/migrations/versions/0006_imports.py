"""import jobs (resumable contact imports)

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import core.db
from core.migrations.helpers import ForeignKey, create_table, id_column

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    create_table(
        "import_jobs",
        id_column(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        foreign_keys=[ForeignKey("actor_user_id", "users.id", "SET NULL")],
        unique=("kind", "content_hash", "policy"),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
