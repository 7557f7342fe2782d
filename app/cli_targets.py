"""`perezvon targets set|list`: a salesperson's monthly targets from the shell.

1. `set --user-id N --month 2026-12 [--won-amount X] [--deals-won N] [--calls-out N]`: each
   figure given replaces that month's; 0 removes it (core/targets decides and audits).
2. `list [--month 2026-12] [--json]`: the month's targets, everyone's (default: this month
   in PEREZVON_TIMEZONE).
3. One `error: …` line on stderr naming the cause, exit code 1 (2 for a usage mistake).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from app.cli_output import as_json, table

if TYPE_CHECKING:  # `perezvon --help` must not load the app: everything else loads on use
    from datetime import date

    from app.settings import Settings
    from core.context import Ctx
    from core.targets.service import Target

# (option, metric) as core/targets names them (spelt out so `--help` loads nothing).
OPTIONS = (("won_amount", "won-amount"), ("deals_won", "deals-won"), ("calls_out", "calls-out"))


def add_parsers(commands: Any) -> None:
    """The `targets` command (on the `perezvon` subparsers)."""
    parser = commands.add_parser("targets", help="monthly sales targets per salesperson")
    actions = parser.add_subparsers(dest="targets_command", required=True, metavar="ACTION")
    setting = actions.add_parser(
        "set", help="set a salesperson's targets for a month (0 removes one)"
    )
    setting.add_argument("--user-id", type=int, required=True, help="the salesperson (users list)")
    setting.add_argument("--month", required=True, help="the month, e.g. 2026-12")
    setting.add_argument("--won-amount", help="amount of deals won, main currency")
    setting.add_argument("--deals-won", help="number of deals won")
    setting.add_argument("--calls-out", help="number of outbound calls")
    listing = actions.add_parser("list", help="a month's targets")
    listing.add_argument("--month", help="the month, e.g. 2026-12 (default: this month)")
    listing.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run `targets set|list` as parsed by `add_parsers`."""
    if args.targets_command == "set":
        given = {
            metric: getattr(args, option.replace("-", "_"))
            for metric, option in OPTIONS
            if getattr(args, option.replace("-", "_")) is not None
        }
        if not given:
            print("error: give --won-amount, --deals-won or --calls-out", file=sys.stderr)
            return 2
        return asyncio.run(_set(settings, user_id=args.user_id, month=args.month, given=given))
    return asyncio.run(_list(settings, month=args.month, json_out=args.json))


def _rows(found: list[Target]) -> list[dict[str, Any]]:
    return [
        {
            "user_id": t.user_id,
            "name": t.name,
            "month": t.month.strftime("%Y-%m"),
            "metric": t.metric,
            "target": str(t.value) if t.metric == "won_amount" else int(t.value),
        }
        for t in found
    ]


def _print(rows: list[dict[str, Any]], month: str) -> None:
    if not rows:
        print(f"no targets for {month}")
        return
    keys = ("user_id", "name", "metric", "target")
    print(table(["user", "name", "metric", "target"], [[r[k] for k in keys] for r in rows]))


async def _set(settings: Settings, *, user_id: int, month: str, given: dict[str, str]) -> int:
    from core.context import Actor
    from core.targets import service as targets

    async def use_case(ctx: Ctx) -> tuple[list[dict[str, Any]], str]:
        first = targets.parse_month(month)
        values = {metric: targets.parse_value(metric, text) for metric, text in given.items()}
        found = await targets.set_targets(
            ctx, actor=Actor.system("cli"), user_id=user_id, month=first, values=values
        )
        return _rows(found), f"{first:%Y-%m}"

    return await _run(settings, use_case, json_out=False)


async def _list(settings: Settings, *, month: str | None, json_out: bool) -> int:
    from core.context import Actor
    from core.targets import service as targets

    async def use_case(ctx: Ctx) -> tuple[list[dict[str, Any]], str]:
        first = targets.parse_month(month) if month else _this_month(ctx)
        found = await targets.list_targets(ctx, actor=Actor.system("cli"), month=first)
        return _rows(found), f"{first:%Y-%m}"

    return await _run(settings, use_case, json_out=json_out)


def _this_month(ctx: Ctx) -> date:
    from zoneinfo import ZoneInfo

    return ctx.clock.now().astimezone(ZoneInfo(ctx.config.timezone)).date().replace(day=1)


async def _run(settings: Settings, use_case: Any, *, json_out: bool) -> int:
    from app.wiring import Container
    from core.errors import DomainError

    try:
        rows, month = await Container.run_once(settings, use_case)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if json_out:
        print(as_json(rows, month=month))
    else:
        _print(rows, month)
    return 0
