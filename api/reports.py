"""Reports: the sales digest as an .xlsx download (managers' and admins' keys)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.auth import ActorDep, CtxDep
from api.schemas import ErrorOut
from core.reports import service as reports
from exports.digest import build_workbook

router = APIRouter(tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports/digest.xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "the workbook"},
        403: {"model": ErrorOut, "description": "the key's role may not see the whole team"},
    },
)
async def digest_xlsx(
    ctx: CtxDep,
    actor: ActorDep,
    start: Annotated[str, Query(alias="from", description="first day (YYYY-MM-DD) or instant")],
    end: Annotated[str, Query(alias="to", description="last day (included) or instant (not)")],
    tz: Annotated[str | None, Query(description="time zone (default: the account's)")] = None,
    locale: Literal["ru", "en"] | None = None,
) -> Response:
    """The sales digest of a period, as of its end (or now while it runs): headline figures
    against the previous day, week, month or period of the same length, a line per
    salesperson, calls, missed calls and how they were called back, activities overdue or
    done late, and the pipeline at the end with its stage-to-stage conversion."""
    zone = tz or ctx.config.timezone
    first, last = reports.period(start, end, tz=zone)
    digest = await reports.digest_for(ctx, actor=actor, start=first, end=last, tz=zone)
    # Building a large workbook takes seconds of CPU: keep the event loop free meanwhile.
    data = await run_in_threadpool(build_workbook, digest, locale=locale or ctx.config.locale)
    name = f"digest-{start.strip()[:10]}-{end.strip()[:10]}.xlsx"
    return Response(
        content=data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
