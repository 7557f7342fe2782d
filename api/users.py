"""Users (employees): read; an admin key changes a role or switches someone off and on.

The last active admin can be neither given another role nor switched off: 409 naming them
(core.users.service decides, for the bot, the CLI and this API alike)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import ActorDep, CtxDep
from api.schemas import ErrorOut, Id, Limit, Offset, UserList, UserOut, UserPatch
from core.users import service as users

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


@router.patch(
    "/{user_id}",
    responses={
        404: {"model": ErrorOut},
        409: {
            "model": ErrorOut,
            "description": "the user is the last active admin (existing_id): make someone "
            "else an admin first",
        },
    },
)
async def patch_user(ctx: CtxDep, actor: ActorDep, user_id: Id, body: UserPatch) -> UserOut:
    """Change a role (`admin`, `manager`, `sales`) or switch a user off (`active: false`,
    the bot refuses them) and on again; admin keys only, audited."""
    user = await users.set_access(
        ctx, actor=actor, user_id=user_id, role=body.role, active=body.active
    )
    return UserOut.of(user)
