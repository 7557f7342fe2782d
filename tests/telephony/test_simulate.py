"""`perezvon simulate call`: every provider's scenarios, run through the real app, make the call.

The requests come from `telephony_webhooks.simulate` (what the CLI sends); they go over HTTP
into the app, through the inbox and the processor, so a wrong signature or a wrong shape
shows up as a non-200 answer or a wrong Call.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main
from core.models import Call, TelephonyEvent
from telephony_webhooks.simulate import KINDS, PROVIDER_NAMES, Kind, SimulateError, build_call
from tests.fakes.clock import FakeClock
from tests.ports import free_port
from tests.telephony.conftest import SECRETS, Pbx

CLIENT = "+79161234567"
EXPECTED: dict[Kind, tuple[str, str, bool]] = {
    "answered": ("answered", "in", False),
    "missed": ("missed", "in", False),
    "outbound": ("answered", "out", False),
    "recorded": ("answered", "in", True),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_scenario_makes_the_expected_call(
    pbx: Pbx, session: AsyncSession, clock: FakeClock, provider: str, kind: Kind
) -> None:
    clock.set(datetime.now(UTC))  # simulate stamps events with the wall clock, as a PBX does
    requests = build_call(
        provider,
        client=CLIENT,
        extension="101",
        kind=kind,
        secrets=pbx.web.provider_secrets,
        base_url=str(pbx.client.base_url),
        timezone=pbx.web.account_timezone,
    )
    assert requests
    for request in requests:
        response = await pbx.client.request(
            request.method, request.path, headers=request.headers, content=request.body or None
        )
        assert response.status_code == 200, (request.label, response.text)
    assert await pbx.processor.drain() > 0
    errors = list(
        await session.scalars(select(TelephonyEvent.error).where(TelephonyEvent.error.is_not(None)))
    )
    assert errors == []
    (call,) = list(await session.scalars(select(Call)))
    status, direction, recorded = EXPECTED[kind]
    assert (call.provider, call.status, call.direction) == (provider, status, direction)
    assert call.extension == "101"
    assert call.client_e164 == CLIENT
    assert (call.recording is not None) == recorded
    if status == "answered":
        assert call.talk_seconds and call.talk_seconds > 0


async def test_two_runs_are_two_calls(pbx: Pbx, session: AsyncSession, clock: FakeClock) -> None:
    clock.set(datetime.now(UTC))
    for _ in range(2):
        for request in build_call("zadarma", client=CLIENT, extension="101", secrets=SECRETS):
            response = await pbx.client.request(
                request.method, request.path, headers=request.headers, content=request.body
            )
            assert response.status_code == 200
    await pbx.processor.drain()
    assert len(list(await session.scalars(select(Call)))) == 2


def test_times_are_those_of_a_call_that_just_ended() -> None:
    now = datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
    (start, *_rest) = build_call(
        "zadarma", client=CLIENT, extension="101", secrets=SECRETS, now=now, token="ab" * 8
    )
    assert b"call_start=2025-06-03+11%3A58%3A13" in start.body  # Moscow time, 107 s before


def test_a_secret_missing_here_is_named() -> None:
    with pytest.raises(SimulateError, match="PEREZVON_MANGO_API_KEY"):
        build_call("mango", client=CLIENT, extension="101", secrets={})


def test_cli_says_when_the_server_is_not_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("PEREZVON_ZADARMA_SECRET", "s3cret")
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["simulate", "call", "--provider", "zadarma", "--from", CLIENT, "--to", "101"]
    code = main([*argv, "--url", url, "--pause", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert f"no Perezvon server is answering at {url}" in err


def test_cli_names_the_setting_a_provider_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    for name in ("PEREZVON_TWILIO_AUTH_TOKEN", "PEREZVON_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    code = main(["simulate", "call", "--provider", "twilio", "--from", CLIENT, "--to", "101"])
    assert code == 2
    assert "PEREZVON_TWILIO_AUTH_TOKEN" in capsys.readouterr().err
