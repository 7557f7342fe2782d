"""The scenario's day (tests/reports/scenario.py) built the morning after, and its digest."""

from __future__ import annotations

import pytest

from core.context import Ctx
from core.reports.dto import Digest
from tests.fakes.clock import FakeClock
from tests.reports import scenario
from tests.reports.scenario import NOW


@pytest.fixture
async def people(ctx: Ctx, clock: FakeClock) -> scenario.Scenario:
    """The scenario, built with the clock at NOW, the morning after its day."""
    clock.set(NOW)
    return await scenario.build(ctx)


@pytest.fixture
async def digest(ctx: Ctx, people: scenario.Scenario) -> Digest:
    return await scenario.day_digest(ctx, people)


@pytest.fixture
async def with_targets(ctx: Ctx, people: scenario.Scenario) -> scenario.Scenario:
    """The scenario with Maria's November targets set (`scenario.set_targets`)."""
    await scenario.set_targets(ctx, people)
    return people
