"""Schemathesis over every operation of /openapi.json: no input gives a 5xx.

All REST operations carry an admin API key; the webhook operations carry the generic/3CX
token (the signed providers answer 401 to generated requests, which is their right).
Valid and invalid (negative) requests; examples per operation are bounded
(PEREZVON_FUZZ_EXAMPLES, default 12) so CI stays fast;
the run is derandomized, so a failure reproduces. Reproduce with figures:

    PEREZVON_FUZZ_EXAMPLES=200 PEREZVON_FUZZ_REPORT=/tmp/fuzz.jsonl pytest tests/fuzz -q
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from app.http import create_app
from core.db import create_engine, session_factory
from telephony_webhooks.context import WebContext
from tests.fakes.twilio_signer import GENERIC_TOKEN
from tests.fuzz.budget import EXAMPLES, fuzzing
from tests.fuzz.live import BASE, Live


def _schema() -> schemathesis.BaseSchema:
    # The spec only: this app is never served, so its engine never connects.
    spec = create_app(
        WebContext(sessions=session_factory(create_engine("sqlite+aiosqlite:///:memory:")))
    ).openapi()
    return schemathesis.openapi.from_dict(spec)


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    running = Live.start(database_url)
    yield running
    running.stop()


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS]
)
def test_no_generated_request_gets_a_5xx(live: Live, operation: schemathesis.APIOperation) -> None:
    headers = {"Authorization": f"Bearer {live.api_key}", "x-perezvon-token": GENERIC_TOKEN}
    failures: list[str] = []

    strategy = st.one_of(
        operation.as_strategy(),  # valid by the schema: the services' own checks
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),  # and invalid ones
    )

    @given(case=strategy)
    @fuzzing(EXAMPLES)
    def send(case: schemathesis.Case) -> None:
        response = live.request(case.as_transport_kwargs(base_url=BASE, headers=headers))
        live.count(response)
        if response.status_code >= 500:
            failures.append(
                f"{response.status_code} {response.text[:200]}\n{case.as_curl_command()}"
            )
        assert response.status_code < 500, failures[-1]

    try:
        send()
    finally:
        live.report(f"{operation.method.upper()} {operation.path}")
    assert not failures
