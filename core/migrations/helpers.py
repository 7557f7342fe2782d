"""What the migrations share: a new table's keys named as core.db's naming convention names
them, a table's indexes created in `upgrade` and dropped again in `downgrade`, and SQLite FTS5
indexes kept in step with their table by triggers.

Migration files import this as `core.migrations.helpers` (the package is installed with them).

A migration that has run somewhere must go on emitting the same DDL: these helpers never change
what they emit for the arguments they are given. A new need gets a new argument (with a default
that keeps the old output) or a new helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op


class ForeignKey(NamedTuple):
    """A one-column foreign key of the table being created."""

    column: str
    target: str  # "users.id"
    ondelete: str | None = None


class Index(NamedTuple):
    """One of `Indexes`; `where` makes it partial, alike on both databases."""

    name: str
    columns: list[str]
    unique: bool = False
    where: str | None = None

    def partial(self) -> dict[str, Any]:
        if self.where is None:
            return {}
        return {"sqlite_where": sa.text(self.where), "postgresql_where": sa.text(self.where)}


def id_column() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def create_table(
    name: str,
    *columns: sa.Column[Any],
    foreign_keys: Sequence[ForeignKey] = (),
    primary_key: Sequence[str] = ("id",),
    unique: Sequence[str] = (),
) -> None:
    """`op.create_table` with the foreign keys, the primary key and one unique constraint (of
    the columns `unique` names, if any) named fk_<table>_<column>_<target table>,
    pk_<table> and uq_<table>_<columns>, in that order."""
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            [key.column],
            [key.target],
            name=op.f(f"fk_{name}_{key.column}_{key.target.split('.')[0]}"),
            ondelete=key.ondelete,
        )
        for key in foreign_keys
    ]
    constraints.append(sa.PrimaryKeyConstraint(*primary_key, name=op.f(f"pk_{name}")))
    if unique:
        constraints.append(sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{'_'.join(unique)}")))
    op.create_table(name, *columns, *constraints)


class Indexes:
    """The indexes of one table: made by `create()` in `upgrade`, dropped (in the reverse
    order) by `drop()` in `downgrade`."""

    def __init__(self, table: str, *indexes: Index) -> None:
        self.table = table
        self.indexes = indexes

    def create(self) -> None:
        with op.batch_alter_table(self.table, schema=None) as batch_op:
            for index in self.indexes:
                batch_op.create_index(
                    index.name, index.columns, unique=index.unique, **index.partial()
                )

    def drop(self) -> None:
        with op.batch_alter_table(self.table, schema=None) as batch_op:
            for index in reversed(self.indexes):
                batch_op.drop_index(index.name, **index.partial())


class Fts5(NamedTuple):
    """An SQLite FTS5 index of one text column with external content: the text is stored once,
    in `table`, the index's rowid is the table's integer `key`, and triggers keep the index in
    step with the table."""

    table: str
    key: str
    column: str
    tokenize: str
    # When the update trigger fires: "AFTER UPDATE OF …" up to its BEGIN, as each migration
    # wrote it (SQLite keeps a trigger's text, line breaks and all, in the schema).
    update_event: str

    @property
    def name(self) -> str:
        return f"{self.table}_fts"

    def create(self) -> None:
        """The index, its triggers, and the index filled from the rows already there."""
        op.execute(
            f"CREATE VIRTUAL TABLE {self.name} USING fts5({self.column}, "
            f"content='{self.table}', content_rowid='{self.key}', tokenize='{self.tokenize}')"
        )
        self.create_triggers()
        op.execute(f"INSERT INTO {self.name} ({self.name}) VALUES ('rebuild')")

    def create_triggers(self) -> None:
        fts, table, key, column = self.name, self.table, self.key, self.column
        insert = f"INSERT INTO {fts} (rowid, {column}) VALUES (new.{key}, new.{column});"
        delete = (
            f"INSERT INTO {fts} ({fts}, rowid, {column})\n"
            f"        VALUES ('delete', old.{key}, old.{column});"
        )
        for trigger, event, body in (
            ("insert", f"AFTER INSERT ON {table}", insert),
            ("delete", f"AFTER DELETE ON {table}", delete),
            ("update", self.update_event, f"{delete}\n        {insert}"),
        ):
            op.execute(
                f"\n    CREATE TRIGGER {fts}_{trigger} {event} BEGIN\n        {body}\n    END\n    "
            )

    def drop(self) -> None:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {self.name}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {self.name}")
