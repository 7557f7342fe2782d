"""Contacts in and out as spreadsheets: a sent .xlsx/.csv is imported, `/export` sends them.

1. A manager sends a file: its size is checked before download (Telegram's file_size), then
   it is read by the `exports` codec in a thread and dry-run by core: the preview shows the
   new / updated / duplicate / rejected counts with the policy, Apply and Cancel buttons.
2. The FSM keeps only the Telegram file id, its name and the policy; Apply downloads the
   file again and runs the import (batched and resumable in core: a file applied twice
   changes nothing), then reports, with the rejected rows as a workbook.
3. `/export`: everyone gets the contacts they may see as .xlsx.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import ImportCb
from bot.handlers.common import show
from bot.i18n import Texts
from bot.views import reports as views
from bot.views.format import Screen, esc
from core.context import Actor, Ctx
from core.errors import InvalidInput
from core.imports.dto import ContactTable
from core.services import contact_export, imports
from core.services.imports import ImportReport
from exports.contacts_export import contacts_xlsx, rejected_workbook
from exports.contacts_import import Limits, read_contacts

SPREADSHEETS = (".xlsx", ".xlsm", ".csv")
MB = 1024 * 1024
BOT_API_LIMIT = 20 * MB  # what the official Bot API server lets a bot download


class Spreadsheet(Filter):
    """A message carrying an .xlsx or .csv document (by its name, as Telegram reports it)."""

    async def __call__(self, message: Message) -> bool:
        name = message.document.file_name if message.document else None
        return bool(name and name.casefold().endswith(SPREADSHEETS))


async def _load(bot: Bot, ctx: Ctx, file_id: str, filename: str) -> tuple[bytes, ContactTable]:
    """Download the file and read its rows (CPU work, in a thread)."""
    buffer = await bot.download(file_id, destination=io.BytesIO())
    data = buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""
    limits = Limits(max_bytes=ctx.config.import_max_bytes, max_rows=ctx.config.import_max_rows)
    table = await asyncio.to_thread(read_contacts, data, filename, limits=limits)
    return data, table


async def _run(
    bot: Bot, ctx: Ctx, actor: Actor, data: dict[str, Any], *, apply: bool
) -> tuple[ContactTable, ImportReport]:
    content, table = await _load(bot, ctx, str(data["import_file"]), str(data["import_name"]))
    report = await imports.run_import(
        ctx,
        actor=actor,
        table=table,
        file_hash=imports.content_hash(content),
        policy=str(data.get("import_policy") or "skip"),
        apply=apply,
        filename=str(data["import_name"]),
        batch_size=ctx.config.import_batch_size,
    )
    return table, report


def file_key(file_id: str) -> str:
    """A short name of a sent file for the preview's buttons (a file id is too long for them)."""
    return hashlib.sha256(file_id.encode()).hexdigest()[:12]


async def _pending(state: FSMContext, callback_data: ImportCb) -> dict[str, Any] | None:
    """The import these buttons belong to, or None when it is done, canceled or replaced."""
    data = await state.get_data()
    if "import_file" not in data or file_key(str(data["import_file"])) != callback_data.key:
        return None
    return data


def router() -> Router:
    r = Router(name="spreadsheets")

    @r.message(Spreadsheet())
    async def got_file(
        message: Message, bot: Bot, ctx: Ctx, t: Texts, actor: Actor, state: FSMContext
    ) -> None:
        document = message.document
        assert document is not None
        if not actor.sees_all:  # core refuses too; this only spares the download
            await message.answer(t("import-managers-only"))
            return
        limit = ctx.config.import_max_bytes
        if (document.file_size or 0) > limit:
            size = f"{(document.file_size or 0) / MB:.1f}"
            await message.answer(t("import-too-large", size=size, limit=f"{limit / MB:.0f}"))
            return
        name = document.file_name or "contacts.xlsx"
        data = {"import_file": document.file_id, "import_name": name, "import_policy": "skip"}
        try:
            _, report = await _run(bot, ctx, actor, data, apply=False)
        except InvalidInput as error:
            if error.field != "file":
                raise
            await message.answer(t("import-refused", name=esc(name), reason=esc(error.message)))
            return
        except TelegramBadRequest as error:
            if "too big" not in str(error):
                raise
            # The official Bot API server lets bots download up to 20 MB, whatever our limit.
            size = f"{(document.file_size or 0) / MB:.1f}"
            await message.answer(
                t("import-too-large", size=size, limit=f"{BOT_API_LIMIT / MB:.0f}")
            )
            return
        await state.update_data(data)
        screen = views.import_preview(t, name, report, "skip", file_key(document.file_id))
        await message.answer(screen.text, reply_markup=screen.markup)

    @r.callback_query(ImportCb.filter(F.action == "policy"))
    async def policy(
        query: CallbackQuery,
        callback_data: ImportCb,
        bot: Bot,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
        callback_answer: CallbackAnswer,
    ) -> None:
        data = await _pending(state, callback_data)
        if data is None or callback_data.policy not in imports.POLICIES:
            callback_answer.text = t("button-stale")
            return
        data["import_policy"] = callback_data.policy
        _, report = await _run(bot, ctx, actor, data, apply=False)
        await state.update_data(import_policy=callback_data.policy)
        name, chosen = str(data["import_name"]), callback_data.policy
        await show(query, views.import_preview(t, name, report, chosen, callback_data.key))

    @r.callback_query(ImportCb.filter(F.action == "apply"))
    async def apply(
        query: CallbackQuery,
        callback_data: ImportCb,
        bot: Bot,
        ctx: Ctx,
        t: Texts,
        actor: Actor,
        state: FSMContext,
        callback_answer: CallbackAnswer,
    ) -> None:
        data = await _pending(state, callback_data)
        if data is None:
            callback_answer.text = t("button-stale")
            return
        name = str(data["import_name"])
        await _forget(state)  # first: a second tap is stale (a rerun of the file would resume)
        await show(query, Screen(t("import-running", name=esc(name))))
        table, report = await _run(bot, ctx, actor, data, apply=True)
        await show(query, views.import_done(t, name, report))
        if report.rejected_rows:
            content = await asyncio.to_thread(
                rejected_workbook, table, report.rejected_rows, locale=t.locale
            )
            await bot.send_document(
                query.from_user.id,
                BufferedInputFile(content, filename="rejected.xlsx"),
                caption=t("import-rejected-file", count=report.rejected),
            )

    @r.callback_query(ImportCb.filter(F.action == "cancel"))
    async def cancel(
        query: CallbackQuery,
        callback_data: ImportCb,
        t: Texts,
        state: FSMContext,
        callback_answer: CallbackAnswer,
    ) -> None:
        if await _pending(state, callback_data) is None:
            callback_answer.text = t("button-stale")
            return
        await _forget(state)
        await show(query, Screen(t("import-canceled")))

    @r.message(Command("export"))
    async def export(message: Message, ctx: Ctx, t: Texts, actor: Actor) -> None:
        rows = await contact_export.export_rows(ctx, actor=actor)
        if not rows:
            await message.answer(t("export-empty"))
            return
        content = await asyncio.to_thread(contacts_xlsx, rows, locale=t.locale)
        await message.answer_document(
            BufferedInputFile(content, filename="contacts.xlsx"),
            caption=t("export-done", count=len(rows)),
        )

    return r


async def _forget(state: FSMContext) -> None:
    data = await state.get_data()
    for key in ("import_file", "import_name", "import_policy"):
        data.pop(key, None)
    await state.set_data(data)
