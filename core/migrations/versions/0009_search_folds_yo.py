"""search folds «ё» into «е»: stored search texts are folded as new ones are

Revision ID: 0009
Revises: 0008

`core.search_text.fold` now reads «ё» as «е» in what is stored and in what is asked for;
rows stored before keep their «ё» until rewritten here. On SQLite the FTS triggers of 0003
keep `contacts_fts` in step with the UPDATE.
"""

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.execute(
        "UPDATE contacts SET search_text = REPLACE(search_text, 'ё', 'е') "
        "WHERE search_text LIKE '%ё%'"
    )


def downgrade() -> None:
    pass  # the folded text finds everything the old one did
