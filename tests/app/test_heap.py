"""`perezvon run` sets its start-up heap aside from the garbage collector once it is up
(app/heap.py): a full collection then walks only what was made since, not the ~355,000
objects of aiogram, pydantic, SQLAlchemy and FastAPI — a 150–370 ms stop of the event loop."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.settings import Settings
from app.wiring import Container


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Nothing frozen by the test is left frozen after it."""
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
async def test_the_started_app_freezes_its_heap_only_when_asked(database_url: str) -> None:
    for freeze in (False, True):
        # What the test process holds already is set aside first, so that what the app
        # freezes is told apart (and its collection walks the app's objects alone).
        gc.freeze()
        before = gc.get_freeze_count()
        container = Container.build(Settings(database_url=database_url))
        app = container.http_app([], freeze_heap=freeze)
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count() - before
            if freeze:
                assert frozen > 1_000  # the app's routes, models and wiring made here
                assert len(gc.get_objects()) < frozen  # what a full collection still walks
            else:
                assert frozen <= 0  # none added (frozen objects freed meanwhile lower it)
