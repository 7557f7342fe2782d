"""A use case that refuses leaves its unit of work clean (core/use_case.py): what its step
added or flushed is gone, so the caller's next step needs no rollback of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput
from core.models import Contact
from core.use_case import use_case
from core.users import service as users
from tests.conftest import Db
from tests.factories import SYSTEM, make_user


async def _add_then_refuse(ctx: Ctx, *, name: str) -> None:
    """A step that writes (and flushes) before it finds a reason to refuse."""
    await contacts.add_contact(ctx, actor=SYSTEM, name=name)
    raise Conflict("refused after the write")


async def test_a_refused_use_case_leaves_nothing_for_the_callers_next_commit(db: Db) -> None:
    async with db.ctx() as ctx:
        with pytest.raises(Conflict):
            await use_case(_add_then_refuse)(ctx, name="Иван")
        assert not ctx.session.new and not ctx.session.dirty
        await ctx.session.commit()  # the caller's next step commits its own work
    async with db.ctx() as ctx:
        assert await ctx.session.scalar(select(func.count()).select_from(Contact)) == 0


async def test_a_refused_extension_leaves_none_of_the_others_for_the_next_try(db: Db) -> None:
    async with db.ctx() as ctx:
        admin = Actor.of_user(await make_user(ctx, "Анна", "admin"))
        vera_id = (await make_user(ctx, "Вера")).id
        with pytest.raises(InvalidInput):  # "10" is fine, "1!" is not
            await users.set_extensions(ctx, actor=admin, user_id=vera_id, extensions=["10", "1!"])
        assert not ctx.session.new
        again = await users.set_extensions(ctx, actor=admin, user_id=vera_id, extensions=["205"])
        assert again.extension_list == ["205"]
