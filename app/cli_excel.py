"""CLI commands around spreadsheets: `report digest`, `import contacts`, `export contacts`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import CliError

if TYPE_CHECKING:
    from app.settings import Settings
    from core.context import Ctx
    from core.reports.dto import Digest

COMMANDS = ("report", "import", "export")


def add_parsers(commands: Any) -> None:
    """Add the spreadsheet commands to the `perezvon` parser."""
    report = commands.add_parser("report", help="reports")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="KIND")
    digest = report_commands.add_parser("digest", help="the sales digest workbook (.xlsx)")
    digest.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    digest.add_argument("--to", dest="end", required=True, help="last day (included)")
    digest.add_argument("--out", required=True, type=Path, help="the .xlsx file to write")
    _common(digest)
    digest.add_argument("--tz", help="time zone of the dates and the workbook")

    imports = commands.add_parser("import", help="bring data in from spreadsheets")
    import_commands = imports.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    contacts_in = import_commands.add_parser("contacts", help="contacts from .xlsx or .csv")
    contacts_in.add_argument("file", type=Path)
    contacts_in.add_argument("--apply", action="store_true", help="write (default: dry run)")
    contacts_in.add_argument(
        "--policy",
        choices=("skip", "fill", "overwrite"),
        default="skip",
        help="for a contact that exists: leave it, fill its empty fields, or overwrite them",
    )
    contacts_in.add_argument("--rejected", type=Path, help="write rejected rows to this .xlsx")
    _common(contacts_in)

    exports = commands.add_parser("export", help="take data out to spreadsheets")
    export_commands = exports.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    contacts_out = export_commands.add_parser("contacts", help="contacts to .xlsx or .csv")
    contacts_out.add_argument("file", type=Path, help="*.xlsx or *.csv")
    _common(contacts_out)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--locale", choices=("ru", "en"), help="headers' language")
    parser.add_argument(
        "--as-user", type=int, help="act as this user id (default: an admin, sees everything)"
    )


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run one of COMMANDS."""
    output = {"report": "out", "import": "rejected", "export": "file"}[args.command]
    if getattr(args, output, None) is not None:
        check_output(getattr(args, output))  # before the work, not after minutes of it
    if args.command == "report":
        return asyncio.run(report_digest(settings, args))
    from app import cli_imports

    if args.command == "import":
        return asyncio.run(cli_imports.import_contacts(settings, args))
    return asyncio.run(cli_imports.export_contacts(settings, args))


def check_output(path: Path) -> None:
    """CliError naming the cause when `path` cannot be written: a folder that does not exist
    (a typo, or a command run from another folder), or a folder where a file should be."""
    folder = path.absolute().parent
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise CliError(f"cannot write {path}: the folder {folder} {state}")
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a folder; name a file in it")


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file, synced, renamed into place.

    A new file gets the permissions of any file the user creates (0666 less the umask: set a
    umask of 077 to keep exports of personal data to yourself), not a temporary file's 0600;
    a file that is replaced keeps its own."""
    check_output(path)
    directory = path.resolve().parent
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:  # e.g. a read-only folder: the file's cause, not the database's
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(handle, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # after a crash: the old file or the whole new one
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


async def report_digest(settings: Settings, args: argparse.Namespace) -> int:
    """`perezvon report digest`: build the workbook and write it to --out."""
    from app.wiring import Container
    from core.context import Actor
    from core.reports import service as reports
    from core.users import service as users
    from exports.digest import build_workbook, summary_text

    async def use_case(ctx: Ctx) -> tuple[Digest, str]:
        zone, locale = args.tz or settings.timezone, args.locale or settings.locale
        if args.as_user is not None:
            user = await users.get_user(ctx, user_id=args.as_user)
            zone, locale = args.tz or user.timezone, args.locale or user.locale
        start, end = reports.period(args.start, args.end, tz=zone)
        if args.as_user is not None:
            found = await reports.digest(ctx, actor_id=args.as_user, start=start, end=end, tz=zone)
        else:
            found = await reports.digest_for(
                ctx, actor=Actor.system("cli"), start=start, end=end, tz=zone
            )
        return found, locale

    digest, locale = await Container.run_once(settings, use_case)
    write_atomically(args.out, build_workbook(digest, locale=locale))
    print(summary_text(digest, locale))
    print(f"written: {args.out}")
    return 0
