"""The start-up heap set aside from the garbage collector once a long-running process is up.

A started `perezvon run` holds about 355,000 objects that live as long as it does (aiogram's
and pydantic's models, SQLAlchemy's mappers, FastAPI's routes). CPython's full collection
walks all of them every time enough new objects have survived: a pause of 150–370 ms on the
event loop here, during which no webhook is accepted, no card pops and no reminder goes. After
`gc.freeze()` the collector leaves what exists at that moment out of every later collection
(the objects stay alive as they would anyway); what the process makes afterwards is collected
as before. Done once, after start-up, by `perezvon run` (app/commands.py), not by tests.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Collect once, then keep every object that is left out of later collections."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.debug(
        "start-up heap frozen: %d objects out of later collections (%.0f ms)",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
