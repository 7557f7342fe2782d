"""`perezvon backup` while webhooks keep coming in, and `perezvon restore` into a new database:
everything acknowledged before the backup started comes back; anything else is refused."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app import cli_backup
from app.cli import main
from app.cli_backup import backup, restore
from app.cli_output import CliError
from app.demo.seed import seed as demo_seed
from app.settings import Settings
from app.wiring import Container
from core.calls.models import Call, TelephonyEvent
from core.contacts.models import Contact
from core.context import Ctx
from core.db import create_engine
from core.deals.models import Deal
from core.outbox import service as outbox
from core.outbox.models import Notification
from tests.conftest import PG_URL

GENERIC = "backup-generic-token"
ROWS = {"calls": Call.id, "contacts": Contact.id, "deals": Deal.id, "outbox": Notification.id}


async def ids(engine: AsyncEngine) -> dict[str, set[int]]:
    """The ids of every call, contact, deal and outbox row committed now."""
    async with engine.connect() as conn:
        return {name: set(await conn.scalars(select(column))) for name, column in ROWS.items()}


async def inbox_calls(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return {str(k) for k in await conn.scalars(select(TelephonyEvent.call_key))}


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """A second, empty database (never migrated): where a backup is restored."""
    if not PG_URL:
        folder = tmp_path / "restored"
        folder.mkdir()
        yield f"sqlite+aiosqlite:///{folder / 'perezvon.db'}"
        return
    import asyncpg  # type: ignore[import-untyped]

    base = make_url(PG_URL)
    name = f"{base.database}_restored"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def recreate(create: bool) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(recreate(True))
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(recreate(False))


class WebhookLoad:
    """Calls posted to /webhooks/generic one after another; `acknowledged` in order."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.acknowledged: list[str] = []
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WebhookLoad:
        self._task = asyncio.create_task(self._post())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    async def _post(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            call_id = f"load-{number}"
            for kind in ("start", "ringing", "end"):
                body: dict[str, Any] = {
                    "event": kind,
                    "call_id": call_id,
                    "direction": "in",
                    "from": f"+7916{number:07d}",
                    "extension": "101",
                    "timestamp": int(time.time()),
                }
                if kind == "end":
                    body |= {"status": "missed", "duration": 5, "billsec": 0}
                response = await self.http.post(
                    "/webhooks/generic", json=body, headers={"x-perezvon-token": GENERIC}
                )
                assert response.status_code == 200, response.text
            self.acknowledged.append(call_id)
            self._progress.set()

    async def wait_for(self, count: int) -> None:
        """Until `count` calls have been acknowledged."""
        while len(self.acknowledged) < count:
            self._progress.clear()
            await self._progress.wait()


@pytest.mark.usefixtures("engine")
async def test_a_backup_taken_under_webhook_load_restores_everything_acknowledged_before_it(
    database_url: str,
    fresh_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # documents/ beside the SQLite file (in tmp_path), or in the working folder on PostgreSQL
    monkeypatch.chdir(tmp_path)
    documents = tmp_path / "documents"
    (documents / "ab").mkdir(parents=True)
    (documents / "ab" / "contract.pdf").write_bytes(b"%PDF-1.4 a contract")
    settings = Settings(database_url=database_url, generic_token=GENERIC)  # type: ignore[arg-type]
    container = Container.build(settings)
    await demo_seed(container.engine, contacts=30, users=3, seed=7)

    async def queue_messages(ctx: Ctx) -> None:
        for n in range(5):
            await outbox.enqueue(
                ctx, kind="reminder", dedupe_key=f"b{n}", payload={"n": n}, chat_id=7001
            )
        await ctx.session.commit()

    await container.run(queue_messages)
    app = container.http_app([])
    out = tmp_path / "perezvon.tar"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pbx") as http,
        WebhookLoad(http) as load,
    ):
        await load.wait_for(10)  # the processor is turning them into calls meanwhile
        acknowledged = set(load.acknowledged)
        committed = await ids(container.engine)
        made = await asyncio.to_thread(backup, settings, out)  # the load goes on meanwhile
        await load.wait_for(len(load.acknowledged) + 3)  # and after it

    assert made.manifest.schema and made.documents == 1
    assert all(committed.values()), committed  # calls, contacts, deals, outbox rows to check
    (tmp_path / "restored").mkdir(exist_ok=True)  # the new SQLite file's folder too
    monkeypatch.chdir(tmp_path / "restored")
    restored_settings = Settings(database_url=fresh_database_url)
    done = await asyncio.to_thread(restore, restored_settings, out)
    restored = create_engine(fresh_database_url)
    try:
        found = await ids(restored)
        calls_in_inbox = await inbox_calls(restored)
    finally:
        await restored.dispose()

    for name, wanted in committed.items():
        assert wanted <= found[name], f"{name} missing: {sorted(wanted - found[name])[:5]}"
    assert acknowledged <= calls_in_inbox  # every acknowledged webhook is in the inbox
    assert done.documents == 1
    restored_documents = Path.cwd() / "documents"
    assert (restored_documents / "ab" / "contract.pdf").read_bytes() == b"%PDF-1.4 a contract"


def _backup_file(tmp_path: Path, manifest: dict[str, Any], name: str = "old.tar") -> Path:
    path = tmp_path / name
    (tmp_path / "perezvon-backup.json").write_text(json.dumps(manifest))
    with tarfile.open(path, "w") as archive:
        archive.add(tmp_path / "perezvon-backup.json", arcname="perezvon-backup.json")
    return path


@pytest.mark.usefixtures("engine")
async def test_restore_refuses_a_database_that_is_not_empty_or_another_schema(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url)
    out = tmp_path / "b.tar"
    await asyncio.to_thread(backup, settings, out)
    kind = "postgresql" if PG_URL else "sqlite"

    with pytest.raises(CliError, match=r"is not empty.*: restore only into a new database"):
        await asyncio.to_thread(restore, settings, out)
    older = _backup_file(tmp_path, {"format": 1, "database": kind, "schema": "0011"})
    with pytest.raises(CliError, match=r"holds schema 0011, older than this version's 00"):
        restore(settings, older)
    newer = _backup_file(tmp_path, {"format": 1, "database": kind, "schema": "0099"}, "new.tar")
    with pytest.raises(CliError, match=r"holds schema 0099, unknown to this version"):
        restore(settings, newer)
    other = "sqlite" if PG_URL else "postgresql"
    crossed = _backup_file(tmp_path, {"format": 1, "database": other, "schema": "0012"}, "x.tar")
    with pytest.raises(CliError, match=rf"a backup of a {other} database"):
        restore(settings, crossed)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(CliError, match=r"is not a backup made by `perezvon backup`"):
        restore(settings, junk)
    with pytest.raises(CliError, match=r"exists already"):
        backup(settings, out)


def test_backup_and_restore_say_in_one_line_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("PEREZVON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PEREZVON_DATABASE_URL", "postgresql://crm:pa55word@127.0.0.1:9/crm")
    monkeypatch.setattr(cli_backup.shutil, "which", lambda _name: None)

    assert main(["backup", str(tmp_path / "b.tar")]) == 2
    missing = capsys.readouterr().err
    assert missing.startswith("error: pg_dump is not installed, and a PostgreSQL backup needs it")
    assert "apt install postgresql-client" in missing and missing.count("\n") == 1

    monkeypatch.setenv("PEREZVON_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert main(["backup", str(tmp_path / "b.tar")]) == 2
    assert "no SQLite database file at" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "nothing.tar")]) == 2
    assert capsys.readouterr().err == f"error: no backup file at {tmp_path / 'nothing.tar'}\n"


def test_pg_tools_get_the_password_in_their_environment_not_on_the_command_line() -> None:
    env = cli_backup.pg_environment(
        "postgresql+asyncpg://crm:pa%40ss@db.example:6543/crm?ssl=require"
    )
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.example", "6543", "crm")
    assert (env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == ("pa@ss", "crm", "require")


@pytest.mark.parametrize("with_data_filter", [True, False], ids=["python>=3.11.4", "python3.11.2"])
def test_restore_extracts_safely_with_and_without_tarfiles_data_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_data_filter: bool
) -> None:
    """Debian 12's Python 3.11.2 has no `filter="data"`: restore still extracts, and still
    refuses entries that leave the folder or are links."""
    if not with_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    good = tmp_path / "good.tar"
    payload = tmp_path / "payload.txt"
    payload.write_text("kept")
    with tarfile.open(good, "w") as archive:
        archive.add(payload, arcname="documents/ab/payload.txt")
    with tarfile.open(good) as archive:
        cli_backup._extract(archive, archive.getmembers(), tmp_path / "out")
    assert (tmp_path / "out/documents/ab/payload.txt").read_text() == "kept"

    for name, entry in {
        "up.tar": tarfile.TarInfo("documents/../../evil.txt"),
        "link.tar": _symlink("documents/link", "/etc/passwd"),
    }.items():
        bad = tmp_path / name
        with tarfile.open(bad, "w") as archive:
            if entry.isfile():
                entry.size = 4
                archive.addfile(entry, io.BytesIO(b"evil"))
            else:
                archive.addfile(entry)
        with tarfile.open(bad) as archive, pytest.raises(CliError, match="an unsafe entry"):
            cli_backup._extract(archive, archive.getmembers(), tmp_path / f"out-{name}")
    assert not (tmp_path / "evil.txt").exists()


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info
