"""Companies: list, get, create, patch."""

from __future__ import annotations

from fastapi import APIRouter, status

from core.services import contacts
from telephony_webhooks.api.fields import SearchQuery
from telephony_webhooks.api.schemas import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ErrorOut,
    Id,
    Limit,
    ListOut,
    Offset,
)
from telephony_webhooks.context import ActorDep, CtxDep

router = APIRouter(prefix="/companies", tags=["companies"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": ErrorOut}}


@router.get("")
async def list_companies(
    ctx: CtxDep,
    _actor: ActorDep,
    q: SearchQuery | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ListOut[CompanyOut]:
    """Companies by any part of the name, case-insensitive."""
    page = await contacts.list_companies(ctx, q=q, limit=limit, offset=offset)
    return ListOut[CompanyOut](items=[CompanyOut.of(c) for c in page.items], total=page.total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorOut, "description": "the name exists (existing_id)"}},
)
async def create_company(ctx: CtxDep, actor: ActorDep, body: CompanyIn) -> CompanyOut:
    """Create a company; the same name twice is a 409."""
    return CompanyOut.of(await contacts.create_company(ctx, actor=actor, **body.model_dump()))


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
