"""Admin CLI: `api-keys list|revoke`, `inbox failed|retry`, and database trouble in one line.

Imported by every `perezvon` command for its parsers, so the services load inside the
commands (app/cli.py: fast start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from app.settings import Settings
    from core.context import Ctx

# core.users.api_keys.ROLES, spelt out for `--help` (tests/app check they agree).
KEY_ROLES = ("read", "integration", "admin")


def add_api_key_parsers(key_commands: Any) -> None:
    """`api-keys list` and `api-keys revoke ID` next to `api-keys create`."""
    listing = key_commands.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="JSON lines for scripts")
    revoke = key_commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", type=int, metavar="ID", help="the key id from api-keys list")


def add_parsers(commands: Any) -> None:
    """`inbox failed` and `inbox retry ID…|--all`."""
    box = commands.add_parser("inbox", help="the PBX event inbox")
    box_commands = box.add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    failed = box_commands.add_parser("failed", help="events parked with an error")
    failed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    failed.add_argument("--json", action="store_true", help="JSON lines for scripts")
    retry = box_commands.add_parser("retry", help="put failed events back in the queue")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID", help="inbox row ids")
    which.add_argument("--all", action="store_true", help="every failed event")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run an admin command parsed by the parsers above."""
    if args.command == "inbox" and args.inbox_command == "failed":
        return asyncio.run(inbox_failed(settings, limit=args.limit, as_json=args.json))
    if args.command == "inbox":
        ids = None if args.all else list(args.ids)
        return asyncio.run(inbox_retry(settings, ids=ids))
    if args.keys_command == "list":
        return asyncio.run(api_keys_list(settings, as_json=args.json))
    return asyncio.run(api_keys_revoke(settings, key_id=args.key_id))


def _system() -> Any:
    from core.context import Actor

    return Actor.system("cli")


async def _run(settings: Settings, use_case: Any) -> Any:
    from app.wiring import Container

    return await Container.run_once(settings, use_case)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"


async def api_keys_list(settings: Settings, *, as_json: bool) -> int:
    from core.users import api_keys

    async def render(ctx: Ctx) -> list[str]:
        keys = await api_keys.list_keys(ctx, actor=_system())
        if as_json:
            return [
                json.dumps(
                    {
                        "id": k.id,
                        "name": k.name,
                        "role": api_keys.scope_of(k.role),
                        "prefix": k.prefix,
                        "created_at": k.created_at.isoformat(),
                        "last_used_at": k.last_used_at and k.last_used_at.isoformat(),
                        "revoked_at": k.revoked_at and k.revoked_at.isoformat(),
                    },
                    ensure_ascii=False,
                )
                for k in keys
            ]
        lines = [f"{'id':>4}  {'role':11} {'prefix':10} {'created':16}  {'last used':16}  state"]
        for k in keys:
            state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
            lines.append(
                f"{k.id:>4}  {api_keys.scope_of(k.role):11} {k.prefix:10} "
                f"{_when(k.created_at):16}  {_when(k.last_used_at):16}  {state}  {k.name}"
            )
        return [*lines, f"{len(keys)} key(s)"]

    print("\n".join(await _run(settings, render)))
    return 0


async def api_keys_revoke(settings: Settings, *, key_id: int) -> int:
    from core.users import api_keys

    async def use_case(ctx: Ctx) -> str:
        key = await api_keys.revoke(ctx, actor=_system(), key_id=key_id)
        return f"API key {key.id} '{key.name}' is revoked (since {_when(key.revoked_at)} UTC)"

    print(await _run(settings, use_case))
    return 0


async def inbox_failed(settings: Settings, *, limit: int, as_json: bool) -> int:
    from core.inbox import admin as inbox

    async def render(ctx: Ctx) -> list[str]:
        rows, total = await inbox.list_failed(ctx, actor=_system(), limit=limit)
        if as_json:
            return [
                json.dumps(
                    {
                        "id": r.id,
                        "provider": r.provider,
                        "call_key": r.call_key,
                        "event_type": r.event_type,
                        "received_at": r.received_at.isoformat(),
                        "attempts": r.attempts,
                        "error": r.error,
                    },
                    ensure_ascii=False,
                )
                for r in rows
            ]
        lines = [f"{'id':>6}  {'provider':9} {'event':12} {'received':16}  tries  error"]
        for r in rows:
            error = " ".join((r.error or "").split())[:100]
            lines.append(
                f"{r.id:>6}  {r.provider:9} {(r.event_type or '-')[:12]:12} "
                f"{_when(r.received_at):16}  {r.attempts:>5}  {error}"
            )
        footer = f"{total} failed event(s)" + (
            f", newest {len(rows)} shown" if total > limit else ""
        )
        hint = "after a fix: perezvon inbox retry ID… or --all" if total else ""
        return [*lines, footer, *([hint] if hint else [])]

    print("\n".join(await _run(settings, render)))
    return 0


async def inbox_retry(settings: Settings, *, ids: list[int] | None) -> int:
    from core.inbox import admin as inbox

    count = await _run(settings, lambda ctx: inbox.retry(ctx, actor=_system(), ids=ids))
    print(f"{count} event(s) queued again; a running server applies them within seconds")
    return 0


# --- database trouble ------------------------------------------------------------------

DATABASE_COMMANDS = (
    *("run", "db", "users", "api-keys", "inbox", "demo"),
    *("calls", "activities", "report", "import", "export"),
    "targets",
    *("contacts", "stages"),
    "docs",
)
# Commands that may create the SQLite file (they migrate it first); any other command finding
# no file stops instead of leaving an empty database in whatever folder it was run from.
CREATING_COMMANDS = ("run", "db", "demo")


def missing_database_problem(url: str) -> str | None:
    """A SQLite file that does not exist yet, for a command that would only create it empty."""
    from pathlib import Path

    from core.db import sqlite_file

    try:
        path = sqlite_file(url)
    except Exception:  # not a URL we can read: the driver will say what is wrong
        return None
    if path is None or Path(path).expanduser().exists():
        return None
    where = Path(path).expanduser().resolve()
    return (
        f"no database at {where} (PEREZVON_DATABASE_URL is {_safe_url(url)}): run "
        "`perezvon db upgrade` to create it there, or set PEREZVON_DATABASE_URL to yours"
    )


def sqlite_folder_problem(url: str) -> str | None:
    """A SQLite file whose folder does not exist, said before any driver tries to open it."""
    from pathlib import Path

    from core.db import sqlite_file

    try:
        path = sqlite_file(url)
    except Exception:  # not a URL we can read: the driver will say what is wrong
        return None
    if path and not Path(path).expanduser().resolve().parent.is_dir():
        return f"cannot open the SQLite file of {_safe_url(url)}: its folder does not exist"
    return None


def database_problem(exc: BaseException, url: str) -> str | None:
    """One line saying what is wrong with the database and what to do, or None if the error
    is not about the database. The password never appears in it."""
    chain = _chain(exc)
    if not any(_is_database_error(e) for e in chain):
        return None
    lowered = " ".join(f"{type(e).__name__}: {e}" for e in chain).lower()
    where = _safe_url(url)
    if (
        "no such table" in lowered
        or "undefinedtable" in lowered
        or ("relation" in lowered and "does not exist" in lowered)
    ):
        message = f"the database at {where} is not set up: run `perezvon db upgrade`"
    elif "invalidcatalogname" in lowered or ("database" in lowered and "does not exist" in lowered):
        message = (
            f"the database at {where} does not exist: create it, then run `perezvon db upgrade`"
        )
    elif "password authentication failed" in lowered or "invalidpassword" in lowered:
        message = f"the database at {where} refused the login: check PEREZVON_DATABASE_URL"
    elif "unable to open database file" in lowered:
        message = (
            f"cannot open the SQLite file of {where}: does its folder exist and is it writable?"
        )
    elif any(isinstance(e, (OSError, TimeoutError)) for e in chain) or "connect" in lowered:
        message = (
            f"cannot reach the database at {where}: is it running, and are host and port "
            "in PEREZVON_DATABASE_URL right?"
        )
    else:
        first = str(chain[-1]).strip().splitlines()[0][:200] if str(chain[-1]).strip() else ""
        message = f"database error at {where}: {type(chain[-1]).__name__}: {first}"
    return _without_password(message, url)


def _is_database_error(exc: BaseException) -> bool:
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    module = type(exc).__module__
    return isinstance(
        exc, DBAPIError | sqlite3.Error | OSError | TimeoutError
    ) or module.startswith("asyncpg")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _safe_url(url: str) -> str:
    from core.db import display_url

    return display_url(url)


def _without_password(text: str, url: str) -> str:
    """The text with every password the URL holds (after the user name, `?password=`)
    masked: a driver's message may quote it."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return text
    secrets = [parsed.password, *(v for k, v in parsed.query.items() if "password" in k.lower())]
    for secret in secrets:
        for value in (secret,) if isinstance(secret, str) or secret is None else secret:
            if value:
                for form in {str(value), quote(str(value), safe="")}:
                    text = text.replace(form, "***")
    return text
