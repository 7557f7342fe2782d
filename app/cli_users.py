"""`perezvon users set-role|enable|disable`: roles and access from the shell.

1. The user is named by `--telegram-id N` or `--user-id N` (from `users list`).
2. Core decides (core.users.service): the last active admin can be neither given another
   role nor disabled, whoever asks; every change is audited as done by the CLI.
3. One line out: what the user is now; or one `error: …` line on stderr naming the cause,
   exit code 1 (2 for a usage mistake, from argparse).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from app.cli_output import run_use_case

if TYPE_CHECKING:  # `perezvon --help` must not load the app: everything else loads on use
    from app.settings import Settings
    from core.context import Ctx
    from core.users.models import User

COMMANDS = ("set-role", "enable", "disable")


def add_parsers(user_commands: Any) -> None:
    """`users set-role`, `users enable`, `users disable` next to `users invite|list`."""
    role = user_commands.add_parser("set-role", help="give a user another role")
    _who(role)
    role.add_argument(
        "--role", required=True, help="admin, manager or sales (продавец, руководитель, админ)"
    )
    _who(user_commands.add_parser("enable", help="let a disabled user use the bot again"))
    _who(user_commands.add_parser("disable", help="switch a user off (the bot refuses them)"))


def _who(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--telegram-id", type=int, help="the user by Telegram id")
    who.add_argument("--user-id", type=int, help="the user by Perezvon id (users list)")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run `users set-role|enable|disable` as parsed by `add_parsers`."""
    if args.users_command == "set-role":
        return asyncio.run(
            set_role(settings, telegram_id=args.telegram_id, user_id=args.user_id, role=args.role)
        )
    enabled = args.users_command == "enable"
    return asyncio.run(
        set_active(settings, telegram_id=args.telegram_id, user_id=args.user_id, active=enabled)
    )


def describe(user: User) -> str:
    state = "active" if user.active else "disabled"
    telegram = user.telegram_user_id if user.telegram_user_id is not None else "-"
    return f"user {user.id} ({user.name}, Telegram {telegram}): {user.role}, {state}"


async def set_role(
    settings: Settings, *, telegram_id: int | None, user_id: int | None, role: str
) -> int:
    """Give the user the role (names as people type them); prints the user as they are now."""

    from core.context import Actor
    from core.users import service as users

    async def use_case(ctx: Ctx) -> str:
        code = users.parse_role(role)
        target = await users.resolve(ctx, user_id=user_id, telegram_user_id=telegram_id)
        cli = Actor.system("cli")
        return describe(await users.set_role(ctx, actor=cli, user_id=target.id, role=code))

    return await run_use_case(settings, use_case)


async def set_active(
    settings: Settings, *, telegram_id: int | None, user_id: int | None, active: bool
) -> int:
    """Switch the user on or off; prints the user as they are now."""

    from core.context import Actor
    from core.users import service as users

    async def use_case(ctx: Ctx) -> str:
        target = await users.resolve(ctx, user_id=user_id, telegram_user_id=telegram_id)
        change = users.activate if active else users.deactivate
        return describe(await change(ctx, actor=Actor.system("cli"), user_id=target.id))

    return await run_use_case(settings, use_case)
