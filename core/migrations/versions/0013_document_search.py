"""full-text index over documents' words (issue 18 §2)

Revision ID: 0013
Revises: 0012

`document_texts.words` holds the lemmas of a document's name and text ("поставок" →
"поставка", by pymorphy3 in core.documents.words), so both databases index them with
plain tokenisers and no stemming of their own:

- PostgreSQL: a stored generated column `words_tsv = to_tsvector('simple', words)` (kept
  in step by the database itself) with a GIN index. Stored, not an expression index: a
  phrase match rechecks rows and a plan that filters rows one by one reads the stored
  vector instead of parsing `words` again (measured: 0.2 ms a row otherwise). Not
  `russian`: its Snowball stemmer would cut the lemmas again ("поставка" → "поставк") and
  map Latin words to English stems, while the query side is lemmatised the same way as
  the text already; `simple` only lower-cases.
- SQLite: an FTS5 table `document_texts_fts` with external content (`document_texts`,
  rowid = document_id), kept in step by triggers, tokenizer `unicode61` without
  diacritics folding (й stays й; ё was already read as е).
"""

from alembic import op

from core.migrations.helpers import Fts5

revision: str = "0013"
down_revision: str | None = "0012"

DOCUMENT_TEXTS_FTS = Fts5(
    "document_texts",
    key="document_id",
    column="words",
    tokenize="unicode61 remove_diacritics 0",
    update_event="AFTER UPDATE OF document_id, words\n    ON document_texts",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE document_texts ADD COLUMN words_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, words)) STORED"
        )
        op.execute("CREATE INDEX ix_document_texts_words ON document_texts USING gin (words_tsv)")
    elif dialect == "sqlite":
        DOCUMENT_TEXTS_FTS.create()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_document_texts_words")
        op.execute("ALTER TABLE document_texts DROP COLUMN IF EXISTS words_tsv")
    elif dialect == "sqlite":
        DOCUMENT_TEXTS_FTS.drop()
