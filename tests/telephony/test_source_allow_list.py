"""Per-provider source-address allow-lists, also behind a trusted proxy (Zadarma signs little)."""

from __future__ import annotations

import httpx
import pytest

from app.settings import SettingsError, load_settings
from tests.fakes.pbx_signers import zadarma_request
from tests.fakes.twilio_signer import GENERIC_TOKEN
from tests.telephony.conftest import Pbx

ZADARMA_NETWORK = "185.45.152.0/24"
START = {
    "event": "NOTIFY_START",
    "call_start": "2026-11-26 12:00:00",
    "pbx_call_id": "in_1",
    "caller_id": "79161234567",
    "called_did": "74951234567",
}


async def _post_from(
    pbx: Pbx, address: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = zadarma_request(START)
    transport = httpx.ASGITransport(app=pbx.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://crm.example.com") as http:
        return await http.post(
            "/webhooks/zadarma",
            content=request.body,
            headers={**request.headers, **(headers or {})},
        )


async def test_a_provider_with_an_allow_list_refuses_other_addresses(pbx: Pbx) -> None:
    pbx.web.allowed_sources = {"zadarma": (ZADARMA_NETWORK,)}
    refused = await _post_from(pbx, "203.0.113.5")
    assert refused.status_code == 403 and "address" in refused.json()["detail"]
    assert await pbx.inbox_count() == 0
    assert (await _post_from(pbx, "185.45.152.42")).status_code == 200
    assert await pbx.inbox_count() == 1


async def test_other_providers_are_not_limited_by_zadarmas_list(pbx: Pbx) -> None:
    pbx.web.allowed_sources = {"zadarma": (ZADARMA_NETWORK,)}
    response = await pbx.client.get(
        "/webhooks/generic/lookup",
        params={"phone": "+79161234567"},
        headers={"x-perezvon-token": GENERIC_TOKEN},
    )
    assert response.status_code == 200


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(pbx: Pbx) -> None:
    pbx.web.allowed_sources = {"zadarma": (ZADARMA_NETWORK,)}
    pbx.web.trusted_proxy_header = "X-Forwarded-For"
    pbx.web.trusted_proxies = ("10.0.0.0/8",)
    allowed = await _post_from(
        pbx, "10.1.2.3", headers={"x-forwarded-for": "198.51.100.7, 185.45.152.42"}
    )
    assert allowed.status_code == 200
    spoofed_first = await _post_from(
        pbx, "10.1.2.3", headers={"x-forwarded-for": "185.45.152.42, 203.0.113.5"}
    )
    assert spoofed_first.status_code == 403
    # A peer that is not our proxy cannot claim an address with the header.
    direct = await _post_from(pbx, "203.0.113.5", headers={"x-forwarded-for": "185.45.152.42"})
    assert direct.status_code == 403


def test_allow_lists_are_read_from_settings_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEREZVON_ZADARMA_ALLOWED_IPS", "185.45.152.0/24, 185.45.155.10")
    monkeypatch.setenv("PEREZVON_TRUSTED_PROXY_HEADER", "X-Real-IP")
    settings = load_settings(_env_file=None)
    assert settings.allowed_sources() == {"zadarma": ("185.45.152.0/24", "185.45.155.10")}
    monkeypatch.setenv("PEREZVON_MANGO_ALLOWED_IPS", "mango.office")
    with pytest.raises(SettingsError, match="PEREZVON_MANGO_ALLOWED_IPS"):
        load_settings(_env_file=None)
