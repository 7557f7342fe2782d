"""Contacts in and out as spreadsheets: a sent .xlsx/.csv is imported, `/export` sends them.

1. A manager sends a file: its size is checked before download (Telegram's file_size), the
   file is downloaded (I/O only) and stored as a background job, and the answer comes at
   once: "checking, I will write". Reading and dry-running a file takes seconds to minutes
   and must never run inside an update Telegram waits on (in webhook mode it would be
   redelivered); the scheduler runs the job (core/imports/jobs.py).
2. The job's preview arrives through the outbox with the policy, Apply and Cancel buttons
   (`key` is the job's id). A policy re-runs the preview; Apply queues the import of the
   same stored file and its outcome (with the rejected rows as a workbook) arrives the same
   way; Cancel forgets the file. A stale or second tap changes nothing and says so.
3. `/export`: everyone gets the contacts they may see as .xlsx.
"""

from __future__ import annotations

import asyncio
import io

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import ImportCb
from bot.handlers.common import show
from bot.request import Request
from bot.views.format import Screen, esc
from core.contacts import export as contact_export
from core.imports import jobs as import_jobs
from exports.contacts_export import contacts_xlsx

SPREADSHEETS = (".xlsx", ".xlsm", ".csv")
MB = 1024 * 1024
BOT_API_LIMIT = 20 * MB  # what the official Bot API server lets a bot download


class Spreadsheet(Filter):
    """A message carrying an .xlsx or .csv document (by its name, as Telegram reports it)."""

    async def __call__(self, message: Message) -> bool:
        name = message.document.file_name if message.document else None
        return bool(name and name.casefold().endswith(SPREADSHEETS))


async def _download(bot: Bot, file_id: str) -> bytes:
    buffer = await bot.download(file_id, destination=io.BytesIO())
    return buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""


def _job_id(callback_data: ImportCb) -> int | None:
    """The job a preview's buttons name, or None for a key that is not one (old or crafted)."""
    key = callback_data.key
    return int(key) if key.isdigit() and len(key) < 19 else None


async def got_file(message: Message, bot: Bot, request: Request) -> None:
    """A manager's spreadsheet: checked for size, downloaded and queued; the answer at once."""
    ctx, t = request.ctx, request.t
    document = message.document
    assert document is not None
    if not request.actor.sees_all:  # core refuses too; this only spares the download
        await message.answer(t("import-managers-only"))
        return
    limit = ctx.config.import_max_bytes
    if (document.file_size or 0) > limit:
        size = f"{(document.file_size or 0) / MB:.1f}"
        await message.answer(t("import-too-large", size=size, limit=f"{limit / MB:.0f}"))
        return
    name = document.file_name or "contacts.xlsx"
    try:
        data = await _download(bot, document.file_id)
    except TelegramBadRequest as error:
        if "too big" not in str(error):
            raise
        # The official Bot API server lets bots download up to 20 MB, whatever our limit.
        size = f"{(document.file_size or 0) / MB:.1f}"
        await message.answer(t("import-too-large", size=size, limit=f"{BOT_API_LIMIT / MB:.0f}"))
        return
    await import_jobs.queue_file(
        ctx, actor=request.actor, data=data, filename=name, chat_id=message.chat.id, locale=t.locale
    )
    await message.answer(t("import-checking", name=esc(name)))


async def choose(
    query: CallbackQuery,
    callback_data: ImportCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """A policy on the preview re-runs it; Apply queues the import of the same file."""
    t, actor = request.t, request.actor
    job_id, policy = _job_id(callback_data), callback_data.policy or "skip"
    applying = callback_data.action == "apply"
    name = None
    if job_id is not None and actor.sees_all:
        step = import_jobs.apply_file if applying else import_jobs.choose_policy
        name = await step(request.ctx, actor=actor, job_id=job_id, policy=policy)
    if name is None:
        callback_answer.text = t("button-stale")
        return
    if applying:
        await show(query, Screen(t("import-applying", name=esc(name))))
    else:
        text = t("import-rechecking", name=esc(name), policy=t("policy-" + policy))
        await show(query, Screen(text))


async def cancel(
    query: CallbackQuery,
    callback_data: ImportCb,
    request: Request,
    callback_answer: CallbackAnswer,
) -> None:
    """Cancel on the preview: the stored file is forgotten."""
    job_id, actor = _job_id(callback_data), request.actor
    if (
        job_id is None
        or not actor.sees_all
        or not await import_jobs.cancel_file(request.ctx, actor=actor, job_id=job_id)
    ):
        callback_answer.text = request.t("button-stale")
        return
    await show(query, Screen(request.t("import-canceled")))


async def export(message: Message, request: Request) -> None:
    """/export: the contacts the user may see, as .xlsx."""
    ctx, t = request.ctx, request.t
    rows = await contact_export.export_rows(ctx, actor=request.actor)
    if not rows:
        await message.answer(t("export-empty"))
        return
    zone = await contact_export.reader_zone(ctx, actor=request.actor)
    content = await asyncio.to_thread(contacts_xlsx, rows, locale=t.locale, zone=zone)
    await message.answer_document(
        BufferedInputFile(content, filename="contacts.xlsx"),
        caption=t("export-done", count=len(rows)),
    )


def router() -> Router:
    r = Router(name="spreadsheets")
    r.message.register(got_file, Spreadsheet())
    r.callback_query.register(choose, ImportCb.filter(F.action.in_({"policy", "apply"})))
    r.callback_query.register(cancel, ImportCb.filter(F.action == "cancel"))
    r.message.register(export, Command("export"))
    return r
