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
re-create the triggers (`CONTACTS_FTS.create_triggers()`) and run `rebuild` afterwards.
"""

import sqlite3
from alembic import op

from core.migrations.helpers import Fts5

revision: str = "0003"
down_revision: str | None = "0002"

# The same check as core.contacts.service.SQLITE_FTS: the trigram tokenizer is 3.34+.
FTS_AVAILABLE = sqlite3.sqlite_version_info >= (3, 34, 0)

CONTACTS_FTS = Fts5(
    "contacts",
    key="id",
    column="search_text",
    # case_sensitive 0 (the default) folds case itself too, so LIKE on the table would be
    # accelerated as well; search_text and the queries are casefolded in Python anyway.
    tokenize="trigram",
    update_event="AFTER UPDATE OF id, search_text ON contacts\n"
    "    WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id",
)


def _applies() -> bool:
    return op.get_bind().dialect.name == "sqlite" and FTS_AVAILABLE


def upgrade() -> None:
    if _applies():
        CONTACTS_FTS.create()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        CONTACTS_FTS.drop()
