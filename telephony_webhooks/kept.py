"""What the inbox keeps of a webhook request: never a shared secret.

Tokens travel in headers (not kept), in the query (dropped from the stored URL) or in the
body itself (ITooLabs `crm_token`, Mango `vpbx_api_key`): verified, then left out of the
stored body, whether the body is a form, multipart or JSON, and however the name is
encoded (`%74oken`, `\\u0074oken`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

# Headers worth keeping with the raw request; tokens and cookies are never stored.
STORED_HEADERS = (
    "content-type",
    "user-agent",
    "signature",
    "x-twilio-signature",
    "x-forwarded-for",
    "x-real-ip",
    "i-twilio-idempotency-token",
)
SECRET_QUERY = {"token", "key", "crm_token", "api_key"}
# Shared secrets some PBXs put in the body itself (ITooLabs, Mango): verified, never stored.
SECRET_FIELDS = {"crm_token", "vpbx_api_key", "token"}
_SECRET_FIELD_BYTES = tuple(name.encode() for name in SECRET_FIELDS)
FORM_TYPE = "application/x-www-form-urlencoded"


def stored_body(body: bytes, content_type: str, form: Mapping[str, str]) -> tuple[bytes, str]:
    """The body and content type as the inbox keeps them: without the shared-secret fields.

    A form (urlencoded or multipart) that carries one is stored as the urlencoded form of
    its other text fields; a JSON object is stored without those keys.
    """
    if form:
        if not any(name.lower() in SECRET_FIELDS for name in form):
            return body, content_type
        kept = [(k, v) for k, v in form.items() if k.lower() not in SECRET_FIELDS]
        return urlencode(kept).encode("utf-8"), FORM_TYPE
    # Names may hide behind JSON escapes (\u0074oken) or percent-encoding (%74oken).
    if not any(name in body for name in _SECRET_FIELD_BYTES) and not (
        b"\\u" in body or b"%" in body
    ):
        return body, content_type
    try:
        if "json" in content_type or body.lstrip()[:1] == b"{":
            data = json.loads(body)
            if isinstance(data, dict) and any(k.lower() in SECRET_FIELDS for k in data):
                kept_json = {k: v for k, v in data.items() if k.lower() not in SECRET_FIELDS}
                return json.dumps(kept_json, ensure_ascii=False).encode("utf-8"), content_type
            return body, content_type
        if "multipart/" in content_type:
            return body, content_type  # a multipart body no decoder could read has no fields
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        if not any(k.lower() in SECRET_FIELDS for k, _v in pairs):
            return body, content_type
        kept_pairs = [(k, v) for k, v in pairs if k.lower() not in SECRET_FIELDS]
        return urlencode(kept_pairs).encode("utf-8"), content_type
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body, content_type


def stored_url(url: str) -> str:
    """The URL without secret query parameters (names compared after decoding)."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_QUERY
    ]
    return parts._replace(query=urlencode(query)).geturl()
