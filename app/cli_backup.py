"""`perezvon backup OUT` and `perezvon restore IN`: a consistent copy while Perezvon runs.

1. Backup: the database first, as one consistent snapshot taken while webhooks keep coming
   in (SQLite's online backup API; on PostgreSQL `pg_dump --format=custom`, one
   repeatable-read transaction), then the documents directory when there is one (files are
   written before the rows that name them, so every document the snapshot names is there).
   OUT is a tar file: `perezvon-backup.json` (what it holds and the schema version),
   `database.sqlite3` or `database.pgdump`, and `documents/`. It is written beside OUT
   and renamed into place only when complete; an existing OUT is never overwritten.
2. Restore: only into an empty database (and an empty or missing documents directory), of
   the same kind (SQLite or PostgreSQL), from a backup of the schema this version of
   Perezvon expects; anything else is refused with one line saying why and what to do.
   Nothing is written before those checks pass.

Passwords never reach a command line: pg_dump and pg_restore get the connection from
libpq's environment variables (PGPASSWORD among them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.cli_output import CliError

if TYPE_CHECKING:
    from app.settings import Settings

COMMANDS = ("backup", "restore")
MANIFEST = "perezvon-backup.json"
FORMAT = 1
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
DOCUMENTS_MEMBER = "documents"
PG_CLIENT_HINT = (
    "install the PostgreSQL client tools of the server's major version or newer "
    "(Debian/Ubuntu: apt install postgresql-client)"
)


def add_parsers(commands: Any) -> None:
    """Add `backup` and `restore` to the `perezvon` parser."""
    backup = commands.add_parser(
        "backup", help="copy the database (and documents) while Perezvon runs"
    )
    backup.add_argument("out", type=Path, help="the backup file to write (a .tar)")
    restore = commands.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("source", type=Path, metavar="IN", help="a file `perezvon backup` wrote")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backup":
        made = backup(settings, args.out)
        print(made.summary())
        return 0
    restored = restore(settings, args.source)
    print(restored.summary())
    return 0


@dataclass
class Manifest:
    database: str  # sqlite | postgresql
    schema: str | None
    documents: bool
    created_at: str
    format: int = FORMAT

    def dumps(self) -> bytes:
        return json.dumps(self.__dict__, indent=2).encode()


@dataclass
class Done:
    what: str
    path: Path
    manifest: Manifest
    documents: int

    def summary(self) -> str:
        files = f", {self.documents} document file{'s' * (self.documents != 1)}"
        docs = files if self.manifest.documents else ""
        return (
            f"{self.what} {self.path}: {self.manifest.database} database at schema "
            f"{self.manifest.schema}{docs}"
        )


# -- backup ---------------------------------------------------------------------------------


def backup(settings: Settings, out: Path) -> Done:
    """Write a consistent backup of the configured database (and documents) to `out`."""
    from core.db import is_sqlite

    out = out.expanduser()
    if out.exists():
        raise CliError(f"{out} exists already: choose another name (a backup never overwrites)")
    if not out.parent.is_dir():
        raise CliError(f"the folder {out.parent} does not exist")
    documents = documents_dir(settings)
    with tempfile.TemporaryDirectory(prefix=".perezvon-backup-", dir=out.parent) as work:
        if is_sqlite(settings.database_url):
            member, schema = SQLITE_MEMBER, _sqlite_snapshot(settings, Path(work) / SQLITE_MEMBER)
        else:
            member, schema = POSTGRES_MEMBER, _pg_dump(settings, Path(work) / POSTGRES_MEMBER)
        manifest = Manifest(
            database="sqlite" if member == SQLITE_MEMBER else "postgresql",
            schema=schema,
            documents=documents is not None,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        (Path(work) / MANIFEST).write_bytes(manifest.dumps())
        partial = Path(work) / "backup.tar"
        count = 0
        with tarfile.open(partial, "w") as archive:
            archive.add(Path(work) / MANIFEST, arcname=MANIFEST)
            archive.add(Path(work) / member, arcname=member)
            if documents is not None:
                archive.add(documents, arcname=DOCUMENTS_MEMBER)
                count = sum(1 for p in documents.rglob("*") if p.is_file())
        os.replace(partial, out)
    return Done("backed up to", out, manifest, count)


def documents_dir(settings: Settings) -> Path | None:
    """Where uploaded documents live, when that is a directory that exists: the
    `PEREZVON_DOCUMENTS_DIR` setting, else `documents/` beside the SQLite file (or here)."""
    configured = getattr(settings, "documents_dir", None)
    if configured:
        path = Path(str(configured)).expanduser()
        return path if path.is_dir() else None
    for candidate in _default_documents(settings):
        if candidate.is_dir():
            return candidate
    return None


def _default_documents(settings: Settings) -> list[Path]:
    from core.db import sqlite_file

    database = sqlite_file(settings.database_url)
    if database is not None:
        return [Path(database).expanduser().resolve().parent / "documents"]
    return [Path.cwd() / "documents"]


def _sqlite_snapshot(settings: Settings, target: Path) -> str | None:
    """SQLite's online backup API: a consistent copy while other connections write."""
    from core.db import display_url, sqlite_file

    database = sqlite_file(settings.database_url)
    if database is None or not Path(database).expanduser().is_file():
        where = display_url(settings.database_url)
        raise CliError(f"no SQLite database file at {where}: nothing to back up")
    source = sqlite3.connect(Path(database).expanduser(), timeout=30)  # reads only
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one step: the snapshot of one read transaction
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside
        return _sqlite_schema(copy)
    finally:
        copy.close()
        source.close()


def _sqlite_schema(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise CliError(
            f"{name} is not installed, and a PostgreSQL backup needs it: {PG_CLIENT_HINT}"
        )
    return found


def pg_environment(url: str) -> dict[str, str]:
    """libpq's environment for the database at `url` (the password travels here only)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env |= {"PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "perezvon-backup"}
    query = dict(parsed.query)
    values = {
        "PGHOST": parsed.host or query.get("host"),
        "PGPORT": str(parsed.port) if parsed.port else query.get("port"),
        "PGUSER": parsed.username or query.get("user"),
        "PGPASSWORD": parsed.password or query.get("password"),
        "PGDATABASE": parsed.database,
        "PGSSLMODE": query.get("ssl"),
        "PGPASSFILE": query.get("passfile"),
    }
    for cert in ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL"):
        values[cert] = os.environ.get(cert)
    env |= {name: str(value) for name, value in values.items() if value}
    return env


def _run_pg(tool: str, arguments: list[str], url: str) -> None:
    """Run a PostgreSQL client tool; its failure as one line naming the database."""
    from core.db import display_url

    program = _pg_tool(tool)
    done = subprocess.run(
        [program, *arguments], env=pg_environment(url), capture_output=True, text=True
    )
    if done.returncode != 0:
        said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = said[0] if said else f"exit status {done.returncode}"
        raise CliError(f"{tool} failed for {display_url(url)}: {reason}")


def _pg_dump(settings: Settings, target: Path) -> str | None:
    """pg_dump's custom format: one repeatable-read snapshot of the whole database."""
    _pg_tool("pg_dump")
    schema = _pg_schema(settings.database_url)
    _run_pg("pg_dump", ["--format=custom", "--no-owner", f"--file={target}"], settings.database_url)
    return schema


def _pg_schema(url: str) -> str | None:
    import asyncio

    found = asyncio.run(_pg_scalar(url, "SELECT version_num FROM alembic_version", missing=None))
    return None if found is None else str(found)


async def _pg_scalar(url: str, query: str, *, missing: Any) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    from core.db import asyncpg_connect_args

    connection = await asyncpg.connect(**(asyncpg_connect_args(url) or {}))
    try:
        return await connection.fetchval(query)
    except asyncpg.UndefinedTableError:
        return missing
    finally:
        await connection.close()


# -- restore --------------------------------------------------------------------------------


def restore(settings: Settings, source: Path) -> Done:
    """Restore `source` into the configured database, which must be empty."""
    from core.db import is_sqlite

    manifest = read_manifest(source)
    kind = "sqlite" if is_sqlite(settings.database_url) else "postgresql"
    if manifest.database != kind:
        raise CliError(
            f"{source} is a backup of a {manifest.database} database and "
            f"PEREZVON_DATABASE_URL is {kind}: restore it into a {manifest.database} database"
        )
    _check_schema(manifest, source)
    documents = _documents_target(settings) if manifest.documents else None
    with (
        tempfile.TemporaryDirectory(prefix=".perezvon-restore-") as work,
        tarfile.open(source) as archive,
    ):
        if kind == "sqlite":
            target = _empty_sqlite_target(settings)
            _extract(archive, [archive.getmember(SQLITE_MEMBER)], Path(work))
            _sqlite_restore(Path(work) / SQLITE_MEMBER, target)
        else:
            _empty_pg_target(settings.database_url)
            _extract(archive, [archive.getmember(POSTGRES_MEMBER)], Path(work))
            _pg_restore(Path(work) / POSTGRES_MEMBER, settings.database_url)
        count = _restore_documents(archive, documents, Path(work)) if documents else 0
    return Done("restored from", source, manifest, count)


def read_manifest(source: Path) -> Manifest:
    """What a backup file holds, or one line saying it is no Perezvon backup."""
    if not source.is_file():
        raise CliError(f"no backup file at {source}")
    try:
        with tarfile.open(source) as archive:
            member = archive.extractfile(MANIFEST)
            data = json.loads(member.read()) if member is not None else None
    except (tarfile.TarError, KeyError, ValueError, OSError):
        data = None
    if not isinstance(data, dict) or data.get("database") not in ("sqlite", "postgresql"):
        raise CliError(f"{source} is not a backup made by `perezvon backup`")
    if data.get("format") != FORMAT:
        raise CliError(
            f"{source} is a backup in format {data.get('format')}, this version reads {FORMAT}"
        )
    return Manifest(
        database=str(data["database"]),
        schema=data.get("schema"),
        documents=bool(data.get("documents")),
        created_at=str(data.get("created_at", "")),
    )


def _check_schema(manifest: Manifest, source: Path) -> None:
    from app.health import expected_revisions, known_revisions

    heads = expected_revisions()
    if manifest.schema in heads:
        return
    wanted = ",".join(sorted(heads))
    if manifest.schema in known_revisions():
        raise CliError(
            f"{source} holds schema {manifest.schema}, older than this version's {wanted}: "
            "restore it with the Perezvon version that made it, then `perezvon db upgrade`"
        )
    raise CliError(
        f"{source} holds schema {manifest.schema}, unknown to this version (it expects "
        f"{wanted}): restore it with the newer Perezvon that made it"
    )


def _empty_sqlite_target(settings: Settings) -> Path:
    from core.db import display_url, sqlite_file

    database = sqlite_file(settings.database_url)
    if database is None:
        raise CliError(f"restore needs a SQLite file, not {display_url(settings.database_url)}")
    target = Path(database).expanduser()
    if not target.parent.is_dir():
        raise CliError(f"the folder {target.parent} does not exist")
    if target.exists() and target.stat().st_size > 0:
        connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        finally:
            connection.close()
        if tables:
            raise CliError(
                f"the database {target} is not empty: restore only into a new database "
                "(move this file away or point PEREZVON_DATABASE_URL at a new one)"
            )
    return target


def _sqlite_restore(snapshot: Path, target: Path) -> None:
    """Copy through the backup API (the target's own journal mode stays WAL when opened)."""
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    source = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _pg_restore(dump: Path, url: str) -> None:
    """pg_restore in one transaction, as the database owner: without the extension's
    comment, which only a superuser may set (the extension itself is trusted)."""
    from sqlalchemy.engine import make_url

    program = _pg_tool("pg_restore")
    listed = subprocess.run(
        [program, "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise CliError(f"pg_restore cannot read the dump: {listed.stderr.strip()[:200]}")
    kept = [line for line in listed.stdout.splitlines() if " COMMENT - EXTENSION " not in line]
    entries = dump.with_suffix(".list")
    entries.write_text("\n".join(kept) + "\n")
    arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    arguments += [f"--use-list={entries}", f"--dbname={make_url(url).database}", str(dump)]
    _run_pg("pg_restore", arguments, url)


def _empty_pg_target(url: str) -> None:
    import asyncio

    from core.db import display_url

    tables = asyncio.run(
        _pg_scalar(
            url,
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')",
            missing=0,
        )
    )
    if tables:
        raise CliError(
            f"the database at {display_url(url)} is not empty ({tables} tables): restore only "
            "into a new database (CREATE DATABASE …, then point PEREZVON_DATABASE_URL at it)"
        )


def _documents_target(settings: Settings) -> Path:
    configured = getattr(settings, "documents_dir", None)
    target = Path(str(configured)).expanduser() if configured else _default_documents(settings)[0]
    if target.exists() and any(target.iterdir()):
        raise CliError(f"the documents folder {target} is not empty: restore only into a new one")
    return target


def _extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo], work: Path) -> None:
    """Extract `members` under `work`, refusing links, devices and paths that leave it.

    Python 3.11.4 added tarfile's `filter="data"`, which does exactly that; Debian 12's own
    Python is 3.11.2, so without it the same rules are checked here first."""
    if hasattr(tarfile, "data_filter"):
        try:
            archive.extractall(work, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise CliError(f"{exc.tarinfo.name}: not a Perezvon backup (an unsafe entry)") from exc
        return
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise CliError(f"{member.name}: not a Perezvon backup (an unsafe entry)")
    archive.extractall(work, members=members)


def _restore_documents(archive: tarfile.TarFile, target: Path, work: Path) -> int:
    members = [
        m for m in archive.getmembers() if PurePosixPath(m.name).parts[:1] == (DOCUMENTS_MEMBER,)
    ]
    _extract(archive, members, work)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rmdir()  # empty (checked before anything was written)
    shutil.move(str(work / DOCUMENTS_MEMBER), target)
    return sum(1 for p in target.rglob("*") if p.is_file())
