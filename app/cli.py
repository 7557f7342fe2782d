"""The `perezvon` command line: run, db, users, api-keys, demo, simulate, doctor, lists.

Plain argparse (standard library): it already gives subcommands, choices and `--help` on
every option; rich-argparse would add colour only, for a dependency (rich) and its import
time on every command, and Typer would mean rewriting every command other sessions extend.

Start-up time is part of the interface: `--version` and `--help` import nothing beyond the
standard library and the parser modules (app/cli_*.py keep their heavy imports inside the
commands), and each command loads only what it uses: settings and SQLAlchemy for the
database commands, FastAPI and uvicorn for `run`, openpyxl for the spreadsheets, aiogram
never outside the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import (
    cli_admin,
    cli_backup,
    cli_contacts,
    cli_docs,
    cli_excel,
    cli_lists,
    cli_targets,
    cli_users,
)
from app.cli_output import CliError

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = ["CliError", "build_parser", "main"]

SIMULATED_PROVIDERS = ("zadarma", "novofon", "mango", "itoolabs", "twilio", "generic", "3cx")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perezvon",
        description="Perezvon CRM. Settings: PEREZVON_* variables or .env (see README).",
    )
    parser.add_argument("--version", action="version", version=f"perezvon {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="migrate the database and serve Perezvon")
    run.add_argument(
        "--components",
        help="comma list of webhooks,bot,scheduler; each must be able to run "
        "(default: every configured one, saying which were skipped); bot or scheduler "
        "alone serve no HTTP",
    )
    run.add_argument(
        "--http",
        action="store_true",
        help="serve the HTTP app (REST API, health, /docs) beside --components bot/scheduler",
    )
    run.add_argument("--host", help="override PEREZVON_HTTP_HOST")
    run.add_argument("--port", type=int, help="override PEREZVON_HTTP_PORT")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations up to the latest")

    users = commands.add_parser("users", help="employees")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    invite = user_commands.add_parser("invite", help="make a one-time invite code")
    invite.add_argument(
        "--role", required=True, choices=("admin", "manager", "sales"), help="what they may do"
    )
    invite.add_argument("--name", help="the person's name (optional)")
    users_list = user_commands.add_parser("list", help="list users")
    users_list.add_argument("--json", action="store_true", help="JSON for scripts")
    ext = user_commands.add_parser("set-extension", help="map PBX extensions to a user")
    who = ext.add_mutually_exclusive_group(required=True)
    who.add_argument("--telegram-id", type=int, help="the user by Telegram id")
    who.add_argument("--user-id", type=int, help="the user by Perezvon id (users list)")
    ext.add_argument(
        "--extension", action="append", required=True, help="extension or PBX login (repeatable)"
    )
    ext.add_argument("--replace", action="store_true", help="replace the current extensions")
    cli_users.add_parsers(user_commands)

    keys = commands.add_parser("api-keys", help="integration API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True, help="who uses the key, e.g. shop")
    create.add_argument(
        "--role",
        default="integration",
        choices=cli_admin.KEY_ROLES,
        help="read, integration (a shop: contacts/deals upsert; default) or admin",
    )
    cli_admin.add_api_key_parsers(key_commands)
    cli_admin.add_parsers(commands)

    demo = commands.add_parser("demo", help="demo data")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    seed = demo_commands.add_parser("seed", help="fill the database with realistic data")
    seed.add_argument("--contacts", type=int, default=1000, help="how many (default 1000)")
    seed.add_argument("--users", type=int, default=8, help="salespeople etc. (default 8)")
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")

    simulate = commands.add_parser("simulate", help="try Perezvon without a PBX")
    simulate_commands = simulate.add_subparsers(
        dest="simulate_command", required=True, metavar="ACTION"
    )
    call = simulate_commands.add_parser(
        "call", help="post a signed sample call to a running server"
    )
    call.add_argument(
        "--provider", required=True, choices=SIMULATED_PROVIDERS, help="whose webhooks to send"
    )
    call.add_argument(
        "--from", dest="number", required=True, help="the outside number (the client)"
    )
    call.add_argument("--to", dest="extension", required=True, help="our extension")
    scenario = call.add_mutually_exclusive_group()
    scenario.add_argument(
        "--missed", dest="kind", action="store_const", const="missed", help="nobody answers"
    )
    scenario.add_argument(
        "--outbound",
        dest="kind",
        action="store_const",
        const="outbound",
        help="the extension calls the number instead",
    )
    scenario.add_argument(
        "--recorded",
        dest="kind",
        action="store_const",
        const="recorded",
        help="answered, with a recording",
    )
    call.set_defaults(kind="answered")
    call.add_argument("--url", default=None, help="the server (default http://HTTP_HOST:PORT)")
    call.add_argument(
        "--pause", type=float, default=0.5, help="seconds between events (default 0.5)"
    )

    commands.add_parser("doctor", help="check settings and the database")
    cli_lists.add_parsers(commands)
    cli_excel.add_parsers(commands)
    cli_targets.add_parsers(commands)
    cli_backup.add_parsers(commands)
    cli_contacts.add_parsers(commands)
    cli_docs.add_parsers(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("perezvon")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    settings: Settings | None = None
    try:
        said_later: list[str] = []
        settings = _settings(args.command, said_later)
        from app.logs import configure_logging

        # Under `run`, PEREZVON_LOG_FORMAT=json makes every line the process writes JSON.
        configure_logging(
            settings.log_level, settings.log_format, capture_streams=args.command == "run"
        )
        for line in said_later:
            print(f"warning: {line}", file=sys.stderr)
        # Migration chatter is for `alembic` users; the CLI says what it did in one line.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # APScheduler logs every run of every interval job at INFO: seconds apart, no news.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        # httpx logs each request's URL at INFO, and a Bot API URL holds the bot's token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return dispatch(args, settings)
    except BrokenPipeError:
        # The reader went away (`perezvon doctor | head -3`): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _one_line(exc, settings)


def _settings(command: str, said_later: list[str] | None = None) -> Settings:
    """The settings, after saying on stderr what in the environment is ignored (or adding it
    to `said_later`, once logging is set up); `doctor` says it in its report instead, and
    prints every bad setting, not only the first."""
    from app.settings import SettingsError, load_settings, setting_warnings

    warnings = setting_warnings()
    try:
        settings = load_settings()
    except SettingsError as exc:
        if command == "doctor":
            for line in warnings:
                print(f"warning: {line}", file=sys.stderr)
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            exc.said = True
        raise
    if command != "doctor" and said_later is not None:
        said_later.extend(warnings)
    elif command != "doctor":
        for line in warnings:
            print(f"warning: {line}", file=sys.stderr)
    return settings


def _one_line(exc: Exception, settings: Settings | None) -> int:
    """A known failure as one line on stderr and its exit code; anything else is re-raised."""
    from app.components import CannotRun
    from app.settings import SettingsError
    from core.errors import DomainError

    if isinstance(exc, SettingsError | CliError | CannotRun):
        if not getattr(exc, "said", False):
            print(f"error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, DomainError):
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    problem = cli_admin.database_problem(exc, settings.database_url) if settings else None
    if problem is None:
        raise exc
    print(f"error: {problem}", file=sys.stderr)
    return 1


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in cli_admin.DATABASE_COMMANDS:
        problem = cli_admin.sqlite_folder_problem(settings.database_url)
        if problem is None and args.command not in cli_admin.CREATING_COMMANDS:
            problem = cli_admin.missing_database_problem(settings.database_url)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    if args.command == "simulate":
        # The output is the events and the server's answers: no library chatter in between.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    if args.command in cli_excel.COMMANDS:
        return cli_excel.dispatch(args, settings)
    if args.command == "targets":
        return cli_targets.dispatch(args, settings)
    if args.command in cli_backup.COMMANDS:
        return cli_backup.dispatch(args, settings)
    if args.command in cli_contacts.COMMANDS:
        return cli_contacts.dispatch(args, settings)
    if args.command == cli_docs.COMMAND:
        return cli_docs.dispatch(args, settings)
    if args.command == "doctor":
        from app.cli_doctor import doctor

        return asyncio.run(doctor(settings))
    from app import commands

    if args.command == "run":
        chosen = _components(args.components) if args.components is not None else None
        return commands.run(
            settings, components=chosen, host=args.host, port=args.port, http=args.http
        )
    if args.command == "db":
        return commands.db_upgrade(settings)
    if args.command == "users":
        if args.users_command in cli_users.COMMANDS:
            return cli_users.dispatch(args, settings)
        if args.users_command == "invite":
            return asyncio.run(commands.users_invite(settings, role=args.role, name=args.name))
        if args.users_command == "list":
            return asyncio.run(commands.users_list(settings, as_json=args.json))
        return asyncio.run(
            commands.users_set_extension(
                settings,
                telegram_id=args.telegram_id,
                user_id=args.user_id,
                extensions=args.extension,
                replace=args.replace,
            )
        )
    if args.command == "inbox" or (args.command == "api-keys" and args.keys_command != "create"):
        return cli_admin.dispatch(args, settings)
    if args.command == "api-keys":
        return asyncio.run(commands.api_keys_create(settings, name=args.name, role=args.role))
    if args.command == "demo":
        if args.contacts < 0 or args.users < 1:
            raise CliError("--contacts must be >= 0 and --users >= 1")
        return asyncio.run(
            commands.demo_seed(settings, contacts=args.contacts, users=args.users, seed=args.seed)
        )
    if args.command == "simulate":
        if args.pause < 0:
            raise CliError("--pause must be >= 0")
        return commands.simulate_call(
            settings,
            provider=args.provider,
            client=args.number,
            extension=args.extension,
            kind=args.kind,
            url=args.url or f"http://{settings.http_host}:{settings.http_port}",
            pause=args.pause,
        )
    listed = asyncio.run(cli_lists.dispatch(args, settings))
    if listed is not None:
        return listed
    raise CliError(f"unknown command {args.command}")


def _components(value: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    if not chosen:
        from app.components import known_names

        raise CliError(f"--components is empty; use {','.join(known_names())}")
    return chosen


if __name__ == "__main__":
    sys.exit(main())
