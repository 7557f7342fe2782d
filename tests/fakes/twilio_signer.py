"""Build correctly signed requests for the Twilio, generic (Asterisk) and 3CX adapters.

No pytest here: `perezvon simulate call` and HTTP tests can use the same builders. Each
builder returns the `RawRequest` the route would see (form decoded, as the route does);
`.body`, `.content_type` and `.headers` are what to send over HTTP to `.url`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from telephony_webhooks.providers import generic, threecx, twilio
from telephony_webhooks.providers.base import RECEIVED_AT_HEADER, RawRequest
from tests.fakes.pbx_signers import BASE_URL, FORM

TWILIO_AUTH_TOKEN = "twilio-test-auth-token"
GENERIC_TOKEN = "generic-test-token"
THREECX_TOKEN = "threecx-test-token"
TEST_SECRETS: dict[str, str] = {
    "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
    "GENERIC_TOKEN": GENERIC_TOKEN,
    "THREECX_TOKEN": THREECX_TOKEN,
}

ACCOUNT_SID = "AC" + "0" * 32


def _headers(extra: Mapping[str, str] | None, received_at: datetime | None) -> dict[str, str]:
    headers = {name.lower(): value for name, value in (extra or {}).items()}
    if received_at is not None:
        headers[RECEIVED_AT_HEADER] = received_at.isoformat()
    return headers


def twilio_request(
    path: str,
    params: Mapping[str, str],
    *,
    auth_token: str = TWILIO_AUTH_TOKEN,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> RawRequest:
    """A Twilio callback POST to `/webhooks/twilio/<path>`, signed as Twilio signs it."""
    target = url or f"{BASE_URL}/twilio/{path}"
    fields = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", **params}
    signed = {twilio.SIGNATURE_HEADER: twilio.sign_form(auth_token, target, fields)}
    return RawRequest(
        method="POST",
        url=target,
        path=path,
        headers={**signed, **_headers(headers, received_at)},
        query={},
        body=urlencode(fields).encode("utf-8"),
        content_type=FORM,
        form=fields,
    )


def generic_event(
    fields: Mapping[str, Any],
    *,
    token: str = GENERIC_TOKEN,
    as_json: bool = True,
    headers: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> RawRequest:
    """A `POST /webhooks/generic` event, JSON or form-encoded as Asterisk's CURL() sends it."""
    all_headers = {**generic.sign_headers(token), **_headers(headers, received_at)}
    if as_json:
        body = json.dumps(fields, ensure_ascii=False).encode("utf-8")
        form: dict[str, str] = {}
        content_type = "application/json"
    else:
        form = {key: str(value) for key, value in fields.items()}
        body, content_type = urlencode(form).encode("utf-8"), FORM
    return RawRequest(
        method="POST",
        url=f"{BASE_URL}/generic",
        path="",
        headers=all_headers,
        query={},
        body=body,
        content_type=content_type,
        form=form,
    )


def generic_lookup(
    phone: str, *, token: str = GENERIC_TOKEN, text: bool = False, token_in_query: bool = False
) -> RawRequest:
    """A `GET /webhooks/generic/lookup?phone=` as dialplan CURL() sends it."""
    query = {"phone": phone}
    if text:
        query["format"] = "text"
    headers = {} if token_in_query else generic.sign_headers(token)
    if token_in_query:
        query["token"] = token
    return RawRequest(
        method="GET",
        url=f"{BASE_URL}/generic/lookup?{urlencode(query)}",
        path="lookup",
        headers=headers,
        query=query,
        body=b"",
    )


def threecx_journal(
    fields: Mapping[str, str], *, token: str = THREECX_TOKEN, as_json: bool = True
) -> RawRequest:
    """The ReportCall POST our 3CX template sends to `/webhooks/3cx/journal`."""
    if as_json:
        body, content_type = json.dumps(dict(fields)).encode("utf-8"), "application/json"
        form: dict[str, str] = {}
    else:
        form = dict(fields)
        body, content_type = urlencode(form).encode("utf-8"), FORM
    return RawRequest(
        method="POST",
        url=f"{BASE_URL}/3cx/journal",
        path="journal",
        headers=threecx.sign_headers(token),
        query={},
        body=body,
        content_type=content_type,
        form=form,
    )


def threecx_lookup(number: str, *, token: str = THREECX_TOKEN) -> RawRequest:
    """The lookup GET our 3CX template sends while the phone rings."""
    query = {"number": number}
    return RawRequest(
        method="GET",
        url=f"{BASE_URL}/3cx/lookup?{urlencode(query)}",
        path="lookup",
        headers=threecx.sign_headers(token),
        query=query,
        body=b"",
    )
