"""The `perezvon` command line: run, db, users, api-keys, demo, doctor."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from app.settings import Settings, SettingsError, load_settings
from core.errors import DomainError

COMPONENTS = ("webhooks", "bot", "scheduler")
AVAILABLE_COMPONENTS = ("webhooks",)


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perezvon", description="Perezvon CRM")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="migrate the database and serve Perezvon")
    run.add_argument(
        "--components",
        default=",".join(COMPONENTS),
        help="comma list of webhooks,bot,scheduler (default: all)",
    )
    run.add_argument("--host", help="override PEREZVON_HTTP_HOST")
    run.add_argument("--port", type=int, help="override PEREZVON_HTTP_PORT")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations up to the latest")

    users = commands.add_parser("users", help="employees")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    invite = user_commands.add_parser("invite", help="make a one-time invite code")
    invite.add_argument("--role", required=True, choices=("admin", "manager", "sales"))
    invite.add_argument("--name", help="the person's name (optional)")
    user_commands.add_parser("list", help="list users")
    ext = user_commands.add_parser("set-extension", help="map PBX extensions to a user")
    who = ext.add_mutually_exclusive_group(required=True)
    who.add_argument("--telegram-id", type=int)
    who.add_argument("--user-id", type=int)
    ext.add_argument(
        "--extension", action="append", required=True, help="extension or PBX login (repeatable)"
    )
    ext.add_argument("--replace", action="store_true", help="replace the current extensions")

    keys = commands.add_parser("api-keys", help="integration API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", default="admin", choices=("admin", "manager"))

    demo = commands.add_parser("demo", help="demo data")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    seed = demo_commands.add_parser("seed", help="fill the database with realistic data")
    seed.add_argument("--contacts", type=int, default=1000)
    seed.add_argument("--users", type=int, default=8)
    seed.add_argument("--seed", type=int, default=1)

    commands.add_parser("doctor", help="check settings and the database")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        return dispatch(args, settings)
    except (SettingsError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from app import commands

    if args.command == "run":
        return commands.run(
            settings, components=_components(args.components), host=args.host, port=args.port
        )
    if args.command == "db":
        return commands.db_upgrade(settings)
    if args.command == "doctor":
        return asyncio.run(commands.doctor(settings))
    if args.command == "users":
        if args.users_command == "invite":
            return asyncio.run(commands.users_invite(settings, role=args.role, name=args.name))
        if args.users_command == "list":
            return asyncio.run(commands.users_list(settings))
        return asyncio.run(
            commands.users_set_extension(
                settings,
                telegram_id=args.telegram_id,
                user_id=args.user_id,
                extensions=args.extension,
                replace=args.replace,
            )
        )
    if args.command == "api-keys":
        return asyncio.run(commands.api_keys_create(settings, name=args.name, role=args.role))
    if args.command == "demo":
        if args.contacts < 0 or args.users < 1:
            raise CliError("--contacts must be >= 0 and --users >= 1")
        return asyncio.run(
            commands.demo_seed(settings, contacts=args.contacts, users=args.users, seed=args.seed)
        )
    raise CliError(f"unknown command {args.command}")


def _components(value: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in COMPONENTS]
    if unknown or not chosen:
        raise CliError(
            f"--components: unknown {', '.join(unknown) or 'empty'}; use {','.join(COMPONENTS)}"
        )
    return chosen


if __name__ == "__main__":
    sys.exit(main())
