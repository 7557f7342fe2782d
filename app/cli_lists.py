"""`perezvon calls list` and `perezvon activities list`: tables for people, `--json` for scripts."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from app.cli_output import as_json, plural, table

if TYPE_CHECKING:
    from app.settings import Settings
    from core.calls.models import Call
    from core.common import Page
    from core.context import Ctx

# The choices of core.models (spelt out so `--help` loads no models; tests/app check them).
ACTIVITY_KINDS = ("call", "meeting", "task", "callback", "reply")
CALL_STATUSES = ("ringing", "answered", "missed", "busy", "failed")
ACTIVITY_STATUSES = ("planned", "done", "canceled")
# The JSON row of each (its keys in order; a call's "client" is its number as read, or as given).
CALL_FIELDS = (
    "id",
    "started_at",
    "direction",
    "status",
    "client",
    "extension",
    "talk_seconds",
    "contact_id",
    "provider",
)
ACTIVITY_FIELDS = (
    "id",
    "kind",
    "status",
    "due_at",
    "title",
    "owner_id",
    "contact_id",
    "callback_phone",
    "missed_count",
)
# The table columns: (header, key of the JSON row).
CALL_COLUMNS = (
    ("id", "id"),
    ("started (UTC)", "started_at"),
    ("dir", "direction"),
    ("status", "status"),
    ("client", "client"),
    ("ext", "extension"),
    ("talk s", "talk_seconds"),
    ("contact", "contact_id"),
)
ACTIVITY_COLUMNS = (
    ("id", "id"),
    ("kind", "kind"),
    ("status", "status"),
    ("due (UTC)", "due_at"),
    ("owner", "owner_id"),
    ("contact", "contact_id"),
    ("phone", "callback_phone"),
    ("title", "title"),
)


def add_parsers(commands: Any) -> None:
    """The `calls` and `activities` commands (on the `perezvon` subparsers)."""
    calls_parser = commands.add_parser("calls", help="logged calls")
    call_commands = calls_parser.add_subparsers(
        dest="calls_command", required=True, metavar="ACTION"
    )
    listing = call_commands.add_parser("list", help="the latest calls, newest first")
    listing.add_argument("--status", choices=CALL_STATUSES, help="only calls with this status")
    listing.add_argument("--direction", choices=("in", "out", "internal"), help="only this way")
    _paging(listing)

    work = commands.add_parser("activities", help="planned work: tasks, callbacks, meetings")
    work_commands = work.add_subparsers(dest="activities_command", required=True, metavar="ACTION")
    listing = work_commands.add_parser("list", help="activities by due time")
    listing.add_argument("--kind", choices=ACTIVITY_KINDS, help="only this kind, e.g. callback")
    listing.add_argument(
        "--status", choices=ACTIVITY_STATUSES, default="planned", help="default: planned"
    )
    listing.add_argument(
        "--phone",
        help="only this number's (any format): its callbacks and its contact's activities",
    )
    _paging(listing)


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many rows (default 20)")
    parser.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run the command if it is one of this module's; None otherwise."""
    if args.command == "calls":
        return await calls_list(settings, args)
    if args.command == "activities":
        return await activities_list(settings, args)
    return None


def _row(record: object, names: Sequence[str], **computed: Any) -> dict[str, Any]:
    """The JSON row: each name's attribute of the record, unless `computed` gives it."""
    return {n: computed[n] if n in computed else getattr(record, n) for n in names}


def _call_row(call: Call) -> dict[str, Any]:
    return _row(call, CALL_FIELDS, client=call.client_e164 or call.client_raw)


async def calls_list(settings: Settings, args: argparse.Namespace) -> int:
    from core.calls import service as calls

    statuses = [args.status] if args.status else ()
    listing = partial(calls.list_calls, statuses=statuses, direction=args.direction)
    return await _print_listing(settings, args, listing, _call_row, CALL_COLUMNS, "call")


async def activities_list(settings: Settings, args: argparse.Namespace) -> int:
    from core.activities import service as activities

    kinds = [args.kind] if args.kind else ()
    listing = partial(
        activities.list_activities, kinds=kinds, statuses=[args.status], phone=args.phone
    )
    row = partial(_row, names=ACTIVITY_FIELDS)
    return await _print_listing(settings, args, listing, row, ACTIVITY_COLUMNS, "activity")


async def _print_listing(
    settings: Settings,
    args: argparse.Namespace,
    listing: Callable[..., Awaitable[Page[Any]]],
    row: Callable[[Any], dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    noun: str,
) -> int:
    """List the first `--limit` (as the system), then print the rows (`row` of each) as JSON
    (`--json`) or as a table of (header, key)."""
    from app.commands import SYSTEM
    from app.wiring import Container

    async def use_case(ctx: Ctx) -> tuple[list[dict[str, Any]], int]:
        page = await listing(ctx, actor=SYSTEM, limit=args.limit)
        return [row(item) for item in page.items], page.total

    rows, total = await Container.run_once(settings, use_case)
    if args.json:
        print(as_json(rows, total=total))
        return 0
    if rows:
        print(table([h for h, _ in columns], [[row[k] for _, k in columns] for row in rows]))
    print(f"{plural(len(rows), noun)} shown of {total:,}")
    return 0
