"""default pipeline stages; trigram search index on PostgreSQL

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"

DEFAULT_STAGES = [
    ("new", "Новая", 10, "open"),
    ("qualified", "Квалификация", 20, "open"),
    ("proposal", "Предложение", 30, "open"),
    ("negotiation", "Переговоры", 40, "open"),
    ("won", "Успешно", 90, "won"),
    ("lost", "Проиграна", 100, "lost"),
]


def upgrade() -> None:
    stages = sa.table(
        "pipeline_stages",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("outcome", sa.String),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        stages,
        [
            {"code": c, "name": n, "position": p, "outcome": o, "active": True}
            for c, n, p, o in DEFAULT_STAGES
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_contacts_search_trgm ON contacts "
            "USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_contacts_search_trgm")
    op.execute("DELETE FROM pipeline_stages")
