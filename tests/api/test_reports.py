"""GET /api/v1/reports/digest.xlsx through the app: a workbook for a period, or a clear 4xx."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from core.context import Ctx
from tests.fakes.clock import FakeClock
from tests.reports import scenario

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_digest_download_is_a_workbook_of_the_period(
    client: httpx.AsyncClient, ctx: Ctx, clock: FakeClock
) -> None:
    clock.set(scenario.NOW)
    await scenario.build(ctx)
    response = await client.get(
        "/reports/digest.xlsx", params={"from": "2026-11-23", "to": "2026-11-23", "locale": "en"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert 'filename="digest-2026-11-23-2026-11-23.xlsx"' in response.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.properties.title == "Sales digest 2026-11-23"
    summary = wb["Summary"]
    calls_in = next(r for r in summary.iter_rows(min_row=6, values_only=True) if r[0] == "Calls in")
    assert calls_in[1] == 4  # as the scenario's numbers say
    assert wb["Calls"].max_row == 11  # three heading lines, the header, 6 calls, the totals


async def test_digest_with_a_bad_period_answers_422_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.get("/reports/digest.xlsx", params={"from": "yesterday", "to": "2026-11-23"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "from"
    backwards = await client.get(
        "/reports/digest.xlsx", params={"from": "2026-11-23", "to": "2026-11-01"}
    )
    assert backwards.status_code == 422
    assert "end after it starts" in backwards.json()["detail"]
    zone = await client.get(
        "/reports/digest.xlsx", params={"from": "2026-11-23", "to": "2026-11-23", "tz": "Nowhere"}
    )
    assert zone.status_code == 422
    missing = await client.get("/reports/digest.xlsx", params={"from": "2026-11-23"})
    assert missing.status_code == 422


async def test_digest_needs_an_api_key(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/api/v1/reports/digest.xlsx?from=2026-11-23&to=2026-11-23")
    assert response.status_code == 401
