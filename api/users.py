"""Users (employees), read only."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import ActorDep, CtxDep
from api.schemas import ErrorOut, Id, Limit, Offset, UserList, UserOut
from core.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
async def list_users(
    ctx: CtxDep, _actor: ActorDep, active_only: bool = False, limit: Limit = 50, offset: Offset = 0
) -> UserList:
    """Employees in creation order."""
    page = await users.list_users(ctx, active_only=active_only, limit=limit, offset=offset)
    return UserList(items=[UserOut.of(u) for u in page.items], total=page.total)


@router.get("/{user_id}", responses={404: {"model": ErrorOut}})
async def get_user(ctx: CtxDep, _actor: ActorDep, user_id: Id) -> UserOut:
    """One employee."""
    return UserOut.of(await users.get_user(ctx, user_id=user_id))
