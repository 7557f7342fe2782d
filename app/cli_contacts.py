"""`perezvon contacts forget ID` and `perezvon stages list|set`: a client's data erased, and
what clients see of the pipeline.

1. `contacts forget ID` shows what would be erased and asks for `--yes`; with it, core
   (core.conversations.forget) erases the contact's messages, notes, documents and the
   contact itself in one transaction, audited as done by the CLI (an admin's tool).
2. `stages list` prints every stage with its client-facing names and the notify flag;
   `stages set CODE --client-name-ru … --client-name-en … --notify|--no-notify` changes them
   (a name given as "" hides the stage from clients again).
3. One line (or a table) out; a mistake is one `error: …` line on stderr, exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from app.cli_output import run_use_case

if TYPE_CHECKING:  # `perezvon --help` must not load the app: everything else loads on use
    from app.settings import Settings
    from core.context import Ctx

COMMANDS = ("contacts", "stages")


def add_parsers(commands: Any) -> None:
    """`contacts forget` and `stages list|set` beside the other top-level commands."""
    contacts = commands.add_parser("contacts", help="clients' personal data")
    contact_commands = contacts.add_subparsers(
        dest="contacts_command", required=True, metavar="ACTION"
    )
    forget = contact_commands.add_parser(
        "forget", help="erase a contact: messages, notes, files and the contact (irreversible)"
    )
    forget.add_argument("contact_id", type=int, metavar="ID", help="the contact's id")
    forget.add_argument("--yes", action="store_true", help="really erase (else: show what goes)")

    stages = commands.add_parser("stages", help="pipeline stages as clients see them")
    stage_commands = stages.add_subparsers(dest="stages_command", required=True, metavar="ACTION")
    listing = stage_commands.add_parser("list", help="stages with their client-facing names")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    change = stage_commands.add_parser("set", help="what clients see for a stage")
    change.add_argument("code", metavar="CODE", help="the stage's code (stages list)")
    change.add_argument("--client-name-ru", help='the name clients see in Russian ("" hides)')
    change.add_argument("--client-name-en", help='the name clients see in English ("" hides)')
    notify = change.add_mutually_exclusive_group()
    notify.add_argument(
        "--notify",
        dest="notify",
        action="store_const",
        const=True,
        help="tell a client when their order moves here",
    )
    notify.add_argument(
        "--no-notify", dest="notify", action="store_const", const=False, help="do not tell"
    )


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run `contacts forget` or `stages list|set` as parsed by `add_parsers`."""
    if args.command == "contacts":
        return asyncio.run(forget(settings, contact_id=args.contact_id, really=args.yes))
    if args.stages_command == "list":
        return asyncio.run(stages_list(settings, as_json=args.json))
    return asyncio.run(
        stages_set(
            settings,
            code=args.code,
            client_name_ru=args.client_name_ru,
            client_name_en=args.client_name_en,
            notify=args.notify,
        )
    )


def _erased(counts: dict[str, int]) -> str:
    from app.cli_output import plural

    return ", ".join(plural(count, word.rstrip("s")) for word, count in counts.items())


async def forget(settings: Settings, *, contact_id: int, really: bool) -> int:
    """Erase the contact (with --yes), or say what would go."""
    from core.context import Actor
    from core.conversations.forget import forget_contact

    async def use_case(ctx: Ctx) -> str:
        cli = Actor.system("cli")
        result = await forget_contact(ctx, actor=cli, contact_id=contact_id, dry_run=not really)
        if not really:
            return (
                f"contact {contact_id} would be erased with {_erased(result.counts())}; "
                "run again with --yes to erase it"
            )
        return f"contact {contact_id} erased with {_erased(result.counts())}"

    return await run_use_case(settings, use_case)


async def stages_list(settings: Settings, *, as_json: bool) -> int:
    """Every stage: code, name, outcome, what clients see, the notify flag."""
    from app.cli_output import as_json as to_json
    from app.cli_output import table
    from core.conversations.orders import all_stages

    async def use_case(ctx: Ctx) -> str:
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "outcome": s.outcome,
                "active": s.active,
                "client_name_ru": s.client_name_ru,
                "client_name_en": s.client_name_en,
                "notify_client": s.notify_client,
            }
            for s in await all_stages(ctx)
        ]
        if as_json:
            return to_json(rows)
        columns = ("code", "name", "outcome", "client (ru)", "client (en)", "notify")
        cells = [
            (
                r["code"],
                r["name"],
                r["outcome"] if r["active"] else f"{r['outcome']} (retired)",
                r["client_name_ru"],
                r["client_name_en"],
                "yes" if r["notify_client"] else "no",
            )
            for r in rows
        ]
        return table(columns, cells)

    return await run_use_case(settings, use_case)


async def stages_set(
    settings: Settings,
    *,
    code: str,
    client_name_ru: str | None,
    client_name_en: str | None,
    notify: bool | None,
) -> int:
    """Change a stage's client-facing names and notify flag; prints the stage as it is now."""
    from core.context import Actor
    from core.conversations.orders import set_stage_view

    async def use_case(ctx: Ctx) -> str:
        stage = await set_stage_view(
            ctx,
            actor=Actor.system("cli"),
            code=code,
            client_name_ru=client_name_ru,
            client_name_en=client_name_en,
            notify_client=notify,
        )
        ru, en = stage.client_name_ru or "-", stage.client_name_en or "-"
        shown = (
            "hidden from clients"
            if stage.client_name_ru is None and stage.client_name_en is None
            else f"clients see {ru!r} / {en!r}"
        )
        told = "notifies clients" if stage.notify_client else "does not notify"
        return f"stage {stage.code}: {shown}, {told}"

    return await run_use_case(settings, use_case)
