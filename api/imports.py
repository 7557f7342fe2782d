"""Contacts in and out as spreadsheets: import (dry run by default) and export."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.auth import ActorDep, CtxDep
from api.reports import XLSX
from api.schemas import ErrorOut
from core.contacts import export as contact_export
from core.context import Actor, Ctx
from core.errors import InvalidInput
from core.imports import service as imports
from core.imports.dto import ContactTable
from core.users import api_keys
from exports.contacts_export import contacts_csv, contacts_xlsx, rejected_workbook
from exports.contacts_import import Limits, read_contacts

router = APIRouter(tags=["imports"])
Policy = Literal["skip", "fill", "overwrite"]
UploadDep = Annotated[UploadFile, File(description=".xlsx or .csv (UTF-8 or Windows-1251)")]
PolicyDep = Annotated[Policy, Form(description="a contact that exists: skip, fill or overwrite")]


class _RowOut(BaseModel):
    """A row of the report, read from the tuple core.imports lists it as (fields in order)."""

    @model_validator(mode="before")
    @classmethod
    def _from_tuple(cls, value: Any) -> Any:
        return (
            dict(zip(cls.model_fields, value, strict=True)) if isinstance(value, tuple) else value
        )


class RejectedRowOut(_RowOut):
    row: int
    problem: str


class ChangeOut(_RowOut):
    row: int
    contact_id: int
    fields: list[str] = Field(description="what changes: name, phones, timezone, owner, …")


class DuplicateRowOut(_RowOut):
    row: int
    duplicate_of: int = Field(description="the earlier row with the same phone or ID")


class ImportOut(BaseModel):
    total: int
    new: int
    updated: int
    duplicate: int
    rejected: int
    rejected_rows: list[RejectedRowOut]
    applied: bool = Field(description="false: a dry run, nothing was written")
    already_done: bool = Field(description="this file was applied before with this policy")
    job_id: int | None
    ignored_columns: list[str]
    unchanged: int = Field(description="contacts found that already hold every value of the row")
    changes: list[ChangeOut] = Field(
        description="which fields of which contacts change (the first 1,000 updates)"
    )
    duplicate_rows: list[DuplicateRowOut]


async def _import(
    ctx: Ctx, actor: Actor, upload: UploadFile, policy: Policy, **options: Any
) -> tuple[ContactTable, imports.ImportReport]:
    """Read the uploaded file and import it (a dry run unless `apply=True` is among options)."""
    limit = ctx.config.import_max_bytes
    data = await upload.read(limit + 1)  # one byte more than allowed tells "too large"
    limits = Limits(max_bytes=limit, max_rows=ctx.config.import_max_rows)
    table = await run_in_threadpool(read_contacts, data, upload.filename or "", limits=limits)
    file_hash = imports.content_hash(data)
    report = await imports.run_import(
        ctx, actor=actor, table=table, file_hash=file_hash, policy=policy, **options
    )
    return table, report


@router.post(
    "/imports",
    responses={
        403: {"model": ErrorOut, "description": "applying needs an admin key"},
        409: {"model": ErrorOut, "description": "this file is being applied now"},
        422: {"model": ErrorOut, "description": "file refused"},
    },
)
async def import_contacts(
    ctx: CtxDep,
    actor: ActorDep,
    file: UploadDep,
    policy: PolicyDep = "skip",
    apply: Annotated[bool, Form(description="write the contacts (default: dry run)")] = False,
) -> ImportOut:
    """Import contacts: counts of new, updated, duplicate and rejected rows; apply to write.

    Any key may run the dry run (it writes nothing); applying needs an admin key. Applying a
    file that is being applied now (same content and policy) is a 409 naming the job."""
    if apply:
        api_keys.check_scope(actor, operation="import_contacts", changes=True)
    table, report = await _import(
        ctx,
        actor,
        file,
        policy,
        apply=apply,
        filename=file.filename,
        batch_size=ctx.config.import_batch_size,
    )
    fields = {**asdict(report), "rejected": report.rejected, "ignored_columns": table.ignored}
    return ImportOut.model_validate(fields)


@router.post("/imports/rejected.xlsx", response_class=Response)
async def rejected_rows(
    ctx: CtxDep, actor: ActorDep, file: UploadDep, policy: PolicyDep = "skip"
) -> Response:
    """The rows a dry run rejects, as a workbook with a column naming what is wrong where."""
    table, report = await _import(ctx, actor, file, policy)
    body = await run_in_threadpool(
        rejected_workbook, table, report.listed_rows(), locale=ctx.config.locale
    )
    return Response(content=body, media_type=XLSX, headers=_attachment("rejected.xlsx"))


@router.get("/exports/contacts.{fmt}", response_class=Response)
async def export_contacts(
    ctx: CtxDep, actor: ActorDep, fmt: str, locale: Literal["ru", "en"] | None = None
) -> Response:
    """The contacts this key may see, as .xlsx or .csv (UTF-8 with BOM), in the locale's
    language, times in the key owner's time zone (else the team's), named in the header."""
    if fmt not in ("xlsx", "csv"):
        raise InvalidInput("the format must be xlsx or csv", field="fmt")
    rows = await contact_export.export_rows(ctx, actor=actor)
    zone = await contact_export.reader_zone(ctx, actor=actor)
    chosen = locale or ctx.config.locale
    if fmt == "xlsx":
        body = await run_in_threadpool(contacts_xlsx, rows, locale=chosen, zone=zone)
        return Response(content=body, media_type=XLSX, headers=_attachment("contacts.xlsx"))
    body = await run_in_threadpool(contacts_csv, rows, locale=chosen, zone=zone)
    return Response(
        content=body, media_type="text/csv; charset=utf-8", headers=_attachment("contacts.csv")
    )


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}
