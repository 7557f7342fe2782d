"""`perezvon docs import DIR` and `perezvon docs search QUERY`: an archive in, found by content.

`docs import DIR` is a dry run by default: which folder goes to which contact, which are
ambiguous and which match nothing. `--apply` stores the files (resumable: a rerun after a
kill adds no copy) with a progress bar; `--unsorted` puts the unmatched files in the
"Unsorted" inbox. Extraction runs afterwards in the scheduler's `documents` job.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import as_json, table

if TYPE_CHECKING:
    from app.settings import Settings
    from core.context import Ctx
    from core.documents.importer import Plan, Progress
    from core.documents.search import DocumentHit

KINDS = ("pdf", "docx", "xlsx", "csv", "odt", "text", "email", "image", "other")
COMMAND = "docs"
SHOWN = 50  # rows of each list in the dry run


def add_parsers(commands: Any) -> None:
    docs = commands.add_parser("docs", help="documents: import an archive, search by content")
    actions = docs.add_subparsers(dest="docs_command", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import", help="bring a folder tree in: client folders named after clients"
    )
    importing.add_argument("dir", type=Path, help="the archive's root folder")
    importing.add_argument("--apply", action="store_true", help="store the files (else dry run)")
    importing.add_argument(
        "--unsorted", action="store_true", help='put unmatched files in the "Unsorted" inbox'
    )
    importing.add_argument("--json", action="store_true", help="the plan as JSON")
    searching = actions.add_parser("search", help="find documents by name and text")
    searching.add_argument("query", help='words in any form; "a phrase" in quotes')
    searching.add_argument("--contact", type=int, help="only this contact's documents")
    searching.add_argument("--deal", type=int, help="only this deal's documents")
    searching.add_argument("--kind", choices=KINDS, help="only this type")
    searching.add_argument("--since", type=_date, help="attached on or after (YYYY-MM-DD)")
    searching.add_argument("--until", type=_date, help="attached before (YYYY-MM-DD)")
    searching.add_argument("--limit", type=int, default=20, help="at most this many (1..100)")
    searching.add_argument("--offset", type=int, default=0, help="skip this many")
    searching.add_argument("--json", action="store_true", help="JSON for scripts")


def _date(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-30") from error
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.docs_command == "import":
        if not args.dir.is_dir():
            print(f"error: {args.dir} is not a folder", file=sys.stderr)
            return 1
        return asyncio.run(import_archive(settings, args))
    return asyncio.run(search(settings, args))


async def search(settings: Settings, args: argparse.Namespace) -> int:
    from app.wiring import Container
    from core.context import Actor
    from core.documents import search as docsearch
    from core.documents.search import DocumentQuery

    query = DocumentQuery(
        q=args.query,
        contact_id=args.contact,
        deal_id=args.deal,
        kind=args.kind,
        since=args.since,
        until=args.until,
        limit=args.limit,
        offset=args.offset,
    )

    async def use_case(ctx: Ctx) -> tuple[list[dict[str, Any]], int]:
        found = await docsearch.search(ctx, Actor.system("cli"), query)
        return [_row(hit) for hit in found.items], found.total

    rows, total = await Container.run_once(settings, use_case)
    if args.json:
        print(as_json(rows, total=total))
        return 0
    if not rows:
        print("nothing found")
        return 0
    columns = ("id", "date", "kind", "name", "contact", "snippet")
    lines = [
        (
            row["id"],
            row["date"].strftime("%Y-%m-%d"),
            row["kind"],
            row["name"],
            row["contact"] or "",
            _short(row["snippet"], 70),
        )
        for row in rows
    ]
    print(table(columns, lines))
    print(f"{len(rows)} of {total}")
    return 0


def _row(hit: DocumentHit) -> dict[str, Any]:
    return {
        "id": hit.document.id,
        "date": hit.date,
        "kind": hit.document.kind,
        "name": hit.document.file_name,
        "contact_id": hit.document.contact_id,
        "contact": hit.contact_name,
        "snippet": hit.snippet.text,
    }


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_plan(plan: Plan, *, as_json_output: bool) -> None:
    folders = plan.folders()
    if as_json_output:
        items = [
            {"folder": folder, "goes_to": target, "files": count}
            for folder, (target, count) in sorted(folders.items())
        ]
        print(
            as_json(
                items,
                files=len(plan.files),
                matched=len(plan.matched),
                ambiguous=len(plan.ambiguous),
                unmatched=len(plan.unmatched),
            )
        )
        return
    for title, test in (
        ("matched", lambda t: not t.startswith(("ambiguous", "no match"))),
        ("ambiguous", lambda t: t.startswith("ambiguous")),
        ("no match", lambda t: t == "no match"),
    ):
        chosen = sorted((f, t, n) for f, (t, n) in folders.items() if test(t))
        if not chosen:
            continue
        print(f"{title}:")
        for folder, target, count in chosen[:SHOWN]:
            print(f"  {folder}  →  {target}  ({count} file{'s' if count != 1 else ''})")
        if len(chosen) > SHOWN:
            print(f"  … and {len(chosen) - SHOWN} more folders")
    print(
        f"{len(plan.files)} files: {len(plan.matched)} matched, "
        f"{len(plan.ambiguous)} ambiguous, {len(plan.unmatched)} unmatched"
    )


async def import_archive(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.wiring import Container
    from core.context import Actor
    from core.documents import importer

    root: Path = args.dir
    container = Container.build(settings)
    try:
        plan = await container.run(lambda ctx: importer.plan(ctx, root))
        if not args.apply:
            print_plan(plan, as_json_output=args.json)
            if not args.json:
                print("dry run: nothing stored (--apply to import, --unsorted for the rest)")
            return 0
        with tqdm(total=len(plan.files), unit="files", desc="importing", disable=None) as bar:

            def progress(state: Progress) -> None:
                bar.update(state.done - bar.n)

            async def use_case(ctx: Ctx) -> Progress:
                return await importer.apply(
                    ctx, Actor.system("cli"), plan, unsorted=args.unsorted, on_progress=progress
                )

            done = await container.run(use_case)
    finally:
        await container.dispose()
    print(
        f"{done.total} files: {done.stored} stored, {done.already} already there, "
        f"{done.unsorted} to Unsorted, {done.skipped} left out (ambiguous or unmatched), "
        f"{len(done.refused)} refused"
    )
    for path, reason in done.refused[:SHOWN]:
        print(f"  {path}: {reason}")
    if len(done.refused) > SHOWN:
        print(f"  … and {len(done.refused) - SHOWN} more")
    return 0
