"""documents: the stored full-text vector kept in the row (issue 18, phrase search speed)

Revision ID: 0018
Revises: 0019

PostgreSQL only. A phrase ("договор поставки") is matched by the GIN index on its
lemmas, then every candidate's `words_tsv` is read to check that they are adjacent
(GIN keeps no positions). The vector of a few pages is 2-8 KB, and with the default
storage (EXTENDED) the toaster moves it out of the row, so each check is a TOAST index
lookup and two chunk reads: 95 of the 100 ms a common phrase took at 10,000 documents
was that, 10 µs a row, not the matching. STORAGE MAIN keeps the vector in the row
(the long `text` and `words` still go out first; only a vector too large for a page
goes out), and the same check is about 1.5 µs a row (measured: 100 → 13 ms for a phrase
in 2,157 of 10,000 documents). Existing rows are rewritten so they move in now.
SQLite: nothing (FTS5 keeps positions in its own index).
"""

from alembic import op

revision: str = "0018"
down_revision: str | None = "0019"


def _storage(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE document_texts ALTER COLUMN words_tsv SET STORAGE {kind}")
    # SET STORAGE applies to rows written from now on: rewrite the stored ones (the
    # generated vector is computed again from `words`, the same value).
    op.execute("UPDATE document_texts SET words = words")


def upgrade() -> None:
    _storage("MAIN")


def downgrade() -> None:
    _storage("EXTENDED")
