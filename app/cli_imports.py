"""`perezvon import contacts` and `perezvon export contacts`: files in and out, with progress."""

from __future__ import annotations

import argparse

from app.cli_excel import write_atomically
from app.settings import Settings
from app.wiring import Container
from core.contacts import export as contact_export
from core.context import Actor, Ctx
from core.errors import InvalidInput
from core.imports import service as imports
from core.imports.dto import ContactExportRow
from core.users import service as users
from exports.contacts_export import contacts_csv, contacts_xlsx, rejected_workbook
from exports.contacts_import import Limits, read_contacts


async def _actor(ctx: Ctx, user_id: int | None) -> Actor:
    if user_id is None:
        return Actor.system("cli")
    return Actor.of_user(await users.get_user(ctx, user_id=user_id))


async def import_contacts(settings: Settings, args: argparse.Namespace) -> int:
    """Read the file, dry run or apply, print the counts; rejected rows to --rejected."""
    from tqdm import tqdm

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{args.file}: {exc.strerror}", field="file") from exc
    config = settings.core_config()
    limits = Limits(max_bytes=config.import_max_bytes, max_rows=config.import_max_rows)
    table = read_contacts(data, args.file.name, limits=limits)
    locale = args.locale or settings.locale
    with tqdm(
        total=len(table.rows),
        unit="rows",
        desc="applying" if args.apply else "checking",
        disable=None,
    ) as bar:

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        async def use_case(ctx: Ctx) -> imports.ImportReport:
            return await imports.run_import(
                ctx,
                actor=await _actor(ctx, args.as_user),
                table=table,
                file_hash=imports.content_hash(data),
                policy=args.policy,
                apply=args.apply,
                filename=args.file.name,
                batch_size=config.import_batch_size,
                progress=progress,
            )

        report = await Container.run_once(settings, use_case)
    if table.ignored:
        print(f"columns ignored: {', '.join(table.ignored)}")
    state = "applied" if report.applied else "dry run (nothing written; --apply to import)"
    if report.already_done:
        state = "this file was imported before with this policy; nothing changed"
    print(
        f"{state}: {report.total} rows: {report.new} new, {report.updated} updated, "
        f"{report.duplicate} duplicate, {report.rejected} rejected, "
        f"{report.unchanged} unchanged"
    )
    for number, problem in report.rejected_rows[:20]:
        print(f"  row {number}: {problem}")
    if report.rejected > 20:
        print(f"  … and {report.rejected - 20} more")
    for number, first in report.duplicate_rows[:20]:
        print(f"  row {number}: {imports.duplicate_reason(first)}")
    if len(report.duplicate_rows) > 20:
        print(f"  … and {len(report.duplicate_rows) - 20} more duplicates")
    verb = "changed" if report.applied else "would change"
    for number, contact_id, fields in report.changes[:20]:
        print(f"  row {number}: contact #{contact_id} {verb}: {', '.join(fields)}")
    if report.updated > 20:
        print(f"  … and {report.updated - 20} more updated")
    if args.rejected is not None and report.listed_rows():
        write_atomically(
            args.rejected, rejected_workbook(table, report.listed_rows(), locale=locale)
        )
        print(f"rejected rows written: {args.rejected}")
    return 0


async def export_contacts(settings: Settings, args: argparse.Namespace) -> int:
    """Write the contacts the requester may see to FILE (.xlsx or .csv by its name)."""
    suffix = args.file.suffix.casefold()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidInput(f"{args.file}: the file must end in .xlsx or .csv", field="file")

    async def use_case(ctx: Ctx) -> tuple[list[ContactExportRow], str]:
        actor = await _actor(ctx, args.as_user)
        rows = await contact_export.export_rows(ctx, actor=actor)
        return rows, await contact_export.reader_zone(ctx, actor=actor)

    rows, zone = await Container.run_once(settings, use_case)
    locale = args.locale or settings.locale
    data = (
        contacts_xlsx(rows, locale=locale, zone=zone)
        if suffix == ".xlsx"
        else contacts_csv(rows, locale=locale, zone=zone)
    )
    write_atomically(args.file, data)
    print(f"{len(rows)} contacts written: {args.file}")
    return 0
