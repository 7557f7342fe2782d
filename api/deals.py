"""Deals: list, get, create, patch, stage change, history; the pipeline's stages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from api.auth import ActorDep, CtxDep
from api.common import NOT_FOUND, created, post_created
from api.fields import Code, ExternalId
from api.schemas import (
    DealIn,
    DealList,
    DealOut,
    DealPatch,
    DealUpsert,
    ErrorOut,
    Id,
    Limit,
    Offset,
    StageChangeList,
    StageChangeOut,
    StageIn,
    StageList,
    StageOut,
)
from core.deals import service as deals

router = APIRouter(tags=["deals"])


@router.get("/deals")
async def list_deals(
    ctx: CtxDep,
    actor: ActorDep,
    contact_id: Id | None = None,
    owner_id: Id | None = None,
    stage: Code | None = None,
    open_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DealList:
    """Deals newest first."""
    page = await deals.list_deals(
        ctx,
        actor=actor,
        contact_id=contact_id,
        owner_id=owner_id,
        stage=stage,
        open_only=open_only,
        limit=limit,
        offset=offset,
    )
    return DealList(items=[DealOut.of(d) for d in page.items], total=page.total)


@post_created(
    router,
    "/deals",
    "the deal",
    {409: {"model": ErrorOut, "description": "external_id exists (existing_id)"}},
)
async def create_deal(
    ctx: CtxDep, actor: ActorDep, body: DealIn, request: Request, response: Response
) -> DealOut:
    """Open a deal at the first stage (or the given one)."""
    deal = await deals.create(ctx, actor=actor, **body.model_dump())
    created(request, response, "get_deal", deal_id=deal.id)
    return DealOut.of(deal)


@router.put(
    "/deals/by-external-id/{external_id}",
    responses={
        200: {"description": "updated the deal with this external id"},
        201: {"model": DealOut, "description": "created a deal"},
    },
)
async def upsert_deal_by_external_id(
    ctx: CtxDep,
    actor: ActorDep,
    external_id: Annotated[ExternalId, Path(description="the shop's order id")],
    response: Response,
    body: DealUpsert,
) -> DealOut:
    """Update the deal with this external id (200), or create it (201): an order pushed twice
    is one deal."""
    deal, is_new = await deals.upsert_by_external_id(
        ctx, actor=actor, external_id=external_id, fields=body.model_dump(exclude_unset=True)
    )
    response.status_code = status.HTTP_201_CREATED if is_new else status.HTTP_200_OK
    return DealOut.of(deal)


@router.get("/deals/{deal_id}", responses=NOT_FOUND)
async def get_deal(ctx: CtxDep, actor: ActorDep, deal_id: Id) -> DealOut:
    """One deal."""
    return DealOut.of(await deals.get(ctx, actor=actor, deal_id=deal_id))


@router.patch("/deals/{deal_id}", responses=NOT_FOUND)
async def patch_deal(ctx: CtxDep, actor: ActorDep, deal_id: Id, body: DealPatch) -> DealOut:
    """Change title, amount, currency, expected close date or owner (given fields only)."""
    deal = await deals.update(
        ctx, actor=actor, deal_id=deal_id, changes=body.model_dump(exclude_unset=True)
    )
    return DealOut.of(deal)


@router.post("/deals/{deal_id}/stage", responses=NOT_FOUND)
async def move_deal(ctx: CtxDep, actor: ActorDep, deal_id: Id, body: StageIn) -> DealOut:
    """Move to a stage; won needs an amount, lost needs `lost_reason`."""
    deal = await deals.move(
        ctx,
        actor=actor,
        deal_id=deal_id,
        stage=body.stage,
        amount=body.amount,
        lost_reason=body.lost_reason,
    )
    return DealOut.of(deal)


@router.get("/deals/{deal_id}/history", responses=NOT_FOUND)
async def deal_history(ctx: CtxDep, actor: ActorDep, deal_id: Id) -> StageChangeList:
    """The deal's stage changes, oldest first."""
    changes = await deals.history(ctx, actor=actor, deal_id=deal_id)
    return StageChangeList(items=[StageChangeOut.of(c) for c in changes], total=len(changes))


@router.get("/pipeline/stages")
async def pipeline_stages(ctx: CtxDep, _actor: ActorDep) -> StageList:
    """Active pipeline stages in order (won/lost are terminal)."""
    rows = await deals.stages(ctx)
    return StageList(items=[StageOut.of(s) for s in rows], total=len(rows))
