"""What a file is, read from its first bytes, never from its name.

`detect(head, name)` gives the MIME type, the document kind (`DOCUMENT_KINDS`, what
extraction dispatches on) and the usual extension. Binary formats are known by their
signatures (the `filetype` library); a file with none is text when its bytes decode
(UTF-8 or a legacy encoding, no NUL bytes): CSV or e-mail by the name or the headers,
plain text otherwise. Anything else is `other` / application/octet-stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype
from charset_normalizer import from_bytes

from core.documents.naming import split_extension

# Spreadsheets are one kind: the extractor (python-calamine) reads xlsx, xls and ods alike.
_KIND_BY_EXTENSION = {
    "pdf": "pdf",
    "docx": "docx",
    "xlsx": "xlsx",
    "xls": "xlsx",
    "ods": "xlsx",
    "odt": "odt",
}
_EMAIL_HEADERS = re.compile(
    rb"^(received|return-path|from|to|subject|date|message-id|mime-version|delivered-to)"
    rb"\s*:",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Detected:
    mime_type: str
    kind: str
    extension: str | None  # the usual extension of this type; None: keep the given one

    @property
    def label(self) -> str:
        """A short human name of the type (`PDF`, `JPEG image`)."""
        return (self.extension or self.kind).upper()


def detect(head: bytes, name: str | None = None) -> Detected:
    """The type of a file from its first bytes (at least the first 8 KB)."""
    given = split_extension(name or "")[1]
    guess = filetype.guess(head) if head else None
    if guess is not None:
        extension = str(guess.extension)
        mime = str(guess.mime)
        if mime.startswith("image/"):
            return Detected(mime, "image", extension)
        return Detected(mime, _KIND_BY_EXTENSION.get(extension, "other"), extension)
    if _is_text(head):
        if _EMAIL_HEADERS.match(head.lstrip()) and (given in ("eml", "") or given == "msg"):
            return Detected("message/rfc822", "email", "eml")
        if given in ("csv", "tsv"):
            return Detected("text/csv", "csv", given)
        if given == "eml":
            return Detected("message/rfc822", "email", "eml")
        # Plain text: keep whatever text extension was given (.txt, .md, .log, …).
        return Detected("text/plain", "text", given if given else "txt")
    return Detected("application/octet-stream", "other", None)


def _is_text(head: bytes) -> bool:
    if not head:
        return True  # an empty file reads as empty text
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # cut in the middle of a character at the end
            return True
    best = from_bytes(head).best()
    return best is not None
