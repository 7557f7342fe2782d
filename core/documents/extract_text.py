"""Plain text, CSV and e-mail (.eml): decoded, headers and text parts."""

from __future__ import annotations

import email
import html
import re
from email import policy
from email.message import EmailMessage

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else the charset charset-normalizer finds (cp1251…)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    encoding = best.encoding if best is not None else "cp1251"
    return data.decode(encoding, errors="replace")


def _strip_html(markup: str) -> str:
    return html.unescape(_TAGS.sub(" ", markup))


def email_text(data: bytes) -> str:
    """Subject, From, To and Date, then the text parts (HTML stripped), attachment names."""
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"{h}: {message[h]}" for h in ("Subject", "From", "To", "Date") if message[h]]
    plain: list[str] = []
    markup: list[str] = []
    names: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name:
            names.append(name)
            continue
        content_type = part.get_content_type()
        if content_type not in ("text/plain", "text/html"):
            continue
        try:
            body = part.get_content()
        except (LookupError, UnicodeError, ValueError):
            payload = part.get_payload(decode=True)
            body = decode(payload) if isinstance(payload, bytes) else ""
        (plain if content_type == "text/plain" else markup).append(str(body))
    body_text = "\n".join(plain) if plain else "\n".join(_strip_html(m) for m in markup)
    if names:
        lines.append("Attachments: " + ", ".join(names))
    return "\n".join([*lines, "", body_text.strip()]).strip()
