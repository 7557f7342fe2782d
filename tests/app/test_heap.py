"""`perezvon run` sets its start-up heap aside from the garbage collector once it is up
(app/heap.py): a full collection then walks only what was made since, not the ~355,000
objects of aiogram, pydantic, SQLAlchemy and FastAPI — a 150–370 ms stop of the event loop."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from app.settings import Settings
from app.wiring import Container


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process' heap as it was: nothing frozen before, everything let go after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


@pytest.mark.usefixtures("unfrozen")
async def test_the_started_app_freezes_its_heap_only_when_asked(database_url: str) -> None:
    for freeze in (False, True):
        container = Container.build(Settings(database_url=database_url))
        app = container.http_app([], freeze_heap=freeze)
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            walked = len(gc.get_objects())
            if freeze:
                assert frozen > 50_000  # the libraries' models and the app's routes
                assert walked < frozen / 5  # what a full collection still walks
                assert full_collection_ms() < 1000  # a sanity bound, not a speed target
            else:
                assert frozen == 0
                assert walked > 50_000
