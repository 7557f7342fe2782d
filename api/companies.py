"""Companies: list, get, create, patch."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.auth import ActorDep, CtxDep
from api.common import NOT_FOUND, created, post_created
from api.fields import SearchQuery
from api.schemas import (
    CompanyIn,
    CompanyList,
    CompanyOut,
    CompanyPatch,
    ErrorOut,
    Id,
    Limit,
    Offset,
)
from core.contacts import service as contacts

router = APIRouter(prefix="/companies", tags=["companies"])


@router.get("")
async def list_companies(
    ctx: CtxDep,
    _actor: ActorDep,
    q: SearchQuery | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CompanyList:
    """Companies by any part of the name, case-insensitive."""
    page = await contacts.list_companies(ctx, q=q, limit=limit, offset=offset)
    return CompanyList(items=[CompanyOut.of(c) for c in page.items], total=page.total)


@post_created(
    router,
    "",
    "the company",
    {409: {"model": ErrorOut, "description": "the name exists (existing_id)"}},
)
async def create_company(
    ctx: CtxDep, actor: ActorDep, body: CompanyIn, request: Request, response: Response
) -> CompanyOut:
    """Create a company; the same name twice is a 409."""
    company = await contacts.create_company(ctx, actor=actor, **body.model_dump())
    created(request, response, "get_company", company_id=company.id)
    return CompanyOut.of(company)


@router.get("/{company_id}", responses=NOT_FOUND)
async def get_company(ctx: CtxDep, _actor: ActorDep, company_id: Id) -> CompanyOut:
    """One company."""
    return CompanyOut.of(await contacts.get_company(ctx, company_id=company_id))


@router.patch("/{company_id}", responses=NOT_FOUND)
async def patch_company(
    ctx: CtxDep, actor: ActorDep, company_id: Id, body: CompanyPatch
) -> CompanyOut:
    """Change only the given fields."""
    company = await contacts.update_company(
        ctx, actor=actor, company_id=company_id, changes=body.model_dump(exclude_unset=True)
    )
    return CompanyOut.of(company)
