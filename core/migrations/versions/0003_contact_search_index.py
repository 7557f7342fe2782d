"""trigram full-text index over contacts.search_text on SQLite

Revision ID: 0003
Revises: 0002

SQLite has no trigram index for `LIKE '%…%'`, so contact search scanned the whole table.
This adds an FTS5 table with the `trigram` tokenizer (SQLite >= 3.34) as external content
over `contacts.search_text` (the text itself is stored once, in `contacts`), kept in sync
by triggers, and fills it from the existing rows. `core.contacts.service.search` matches
tokens of three or more characters through it. PostgreSQL keeps its pg_trgm GIN index
from 0002; nothing changes there.

Every contact row is indexed, deleted or not (search joins back to `contacts` and filters
`deleted_at` there): external content tables are rebuilt from the whole content table, so
a partial index would not survive a `rebuild`.

Careful in later migrations: a batch ("move and copy") ALTER of `contacts` on SQLite drops
and recreates the table, which drops these triggers with it. Such a migration must
re-create the triggers (`create_triggers()`) and run `rebuild` afterwards.
"""

import sqlite3
from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same check as core.contacts.service.SQLITE_FTS: the trigram tokenizer is 3.34+.
FTS_AVAILABLE = sqlite3.sqlite_version_info >= (3, 34, 0)

TRIGGERS = (
    """
    CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
        INSERT INTO contacts_fts (rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
        INSERT INTO contacts_fts (contacts_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    """
    CREATE TRIGGER contacts_fts_update AFTER UPDATE OF id, search_text ON contacts
    WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id BEGIN
        INSERT INTO contacts_fts (contacts_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO contacts_fts (rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
)


def create_triggers() -> None:
    for sql in TRIGGERS:
        op.execute(sql)


def _applies() -> bool:
    return op.get_bind().dialect.name == "sqlite" and FTS_AVAILABLE


def upgrade() -> None:
    if not _applies():
        return
    # case_sensitive 0 (the default) folds case itself too, so LIKE on the table would be
    # accelerated as well; search_text and the queries are casefolded in Python anyway.
    op.execute(
        "CREATE VIRTUAL TABLE contacts_fts USING fts5("
        "search_text, content='contacts', content_rowid='id', tokenize='trigram')"
    )
    create_triggers()
    op.execute("INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("contacts_fts_insert", "contacts_fts_delete", "contacts_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS contacts_fts")
