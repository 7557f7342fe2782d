"""The OpenAPI document is valid for the tools that read it (issue 15, §11)."""

from __future__ import annotations

import schemathesis
from schemathesis.core.result import Ok
from schemathesis.generation.drivers import missing_path_parameters_error

from app.http import create_app
from core.db import create_engine, session_factory
from telephony_webhooks.context import WebContext


def _spec() -> dict[str, object]:
    # The document only: this app is never served, so its engine never connects.
    sessions = session_factory(create_engine("sqlite+aiosqlite:///:memory:"))
    return create_app(WebContext(sessions=sessions)).openapi()


def test_schemathesis_reads_every_operation_without_a_schema_error() -> None:
    """What `schemathesis run` reports as schema errors (exit 1): operations it cannot read,
    and path parameters used in a path but never declared (it injects placeholders)."""
    results = list(schemathesis.openapi.from_dict(_spec()).get_all_operations())
    errors = [str(result.err()) for result in results if not isinstance(result, Ok)]
    for result in results:
        if isinstance(result, Ok):
            missing = missing_path_parameters_error(result.ok())
            errors += [f"{result.ok().path}: {missing}"] if missing else []
    assert errors == []
    assert len(results) >= 45


def test_the_webhook_paths_declare_their_rest_parameter() -> None:
    paths = _spec()["paths"]
    assert isinstance(paths, dict)
    for path in ("/webhooks/mango/{rest}", "/webhooks/twilio/{rest}"):
        (parameter,) = paths[path]["post"]["parameters"]
        assert (parameter["name"], parameter["in"], parameter["required"]) == ("rest", "path", True)
    twilio = paths["/webhooks/twilio/{rest}"]["post"]["parameters"][0]["schema"]
    assert twilio["enum"] == ["status", "recording", "dial-action"]
