"""Shared steps for the provider adapter tests (tests/telephony/test_provider_*.py), which call
an adapter's verify, accept and parse directly, without HTTP or a database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import pytest

from core.events import CallEvent
from telephony_webhooks.providers.base import ProviderError, ProviderOptions, RawRequest
from telephony_webhooks.providers.registry import Adapter
from tests.fakes import pbx_signers, twilio_signer
from tests.fakes.pbx_signers import TEST_SECRETS, as_stored

# Every provider enabled, with the secrets the request builders sign with.
SECRETS = {**pbx_signers.TEST_SECRETS, **twilio_signer.TEST_SECRETS}


def assert_only_provider_errors(
    adapter: Adapter, requests: Iterable[RawRequest], options: ProviderOptions
) -> None:
    """Verifies, accepts and parses each request, each step on its own: a step passes or
    refuses with a ProviderError (a 4xx); any other exception fails the test."""
    for request in requests:
        for step in (
            lambda r: adapter.verify(r, TEST_SECRETS),
            adapter.accept,
            lambda r: adapter.parse(r, options),
        ):
            with contextlib.suppress(ProviderError):
                step(request)


def events_of(
    adapter: Adapter, requests: Iterable[RawRequest], options: ProviderOptions
) -> list[CallEvent]:
    """The events `requests` become in the pipeline: each verified and accepted as it comes
    over HTTP, then, if it is stored (not a look-up or handshake), parsed as the inbox has it."""
    result: list[CallEvent] = []
    for request in requests:
        adapter.verify(request, TEST_SECRETS)
        if adapter.accept(request).store:
            result += adapter.parse(as_stored(request), options)
    return result


def verify_refusal(adapter: Adapter, request: RawRequest) -> ProviderError:
    """How `adapter` refuses to verify `request` when every provider is enabled."""
    with pytest.raises(ProviderError) as caught:
        adapter.verify(request, SECRETS)
    return caught.value


def refused_at_parse(adapter: Adapter, request: RawRequest, options: ProviderOptions) -> int:
    """The status of the ProviderError that parsing `request` raises once it was accepted."""
    adapter.accept(request)
    with pytest.raises(ProviderError) as caught:
        adapter.parse(request, options)
    return caught.value.status_code
