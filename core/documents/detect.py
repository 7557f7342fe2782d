"""What a file is, read from its first bytes, never from its name: the one detector.

`detect(head, name)` gives the MIME type, the document kind (`DOCUMENT_KINDS`) and the
usual extension. The upload stores the kind (core.documents.service) and extraction
dispatches on the same answer (core.documents.extract), so a file is never one type on
its card and another to the extractor. Binary formats are known by their signatures (the
`filetype` library; a PDF whose `%PDF-` comes after some junk, as readers allow, too); a
file with none is text when its bytes decode (UTF-8 or a legacy encoding, no NUL bytes):
e-mail by its headers, CSV by the name, plain text otherwise. Anything else is `other` /
application/octet-stream, as are formats nothing here reads (old .doc/.xls, ODS, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype
from charset_normalizer import from_bytes

from core.documents.naming import split_extension

# The kinds extraction reads (core.documents.extract_pdf, extract_office).
_KIND_BY_EXTENSION = {"pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "odt": "odt"}
_EMAIL_HEADER = re.compile(
    rb"(received|return-path|from|to|subject|date|message-id|mime-version|delivered-to|x-[\w-]+)"
    rb"\s*:",
    re.IGNORECASE,
)
_EMAIL_KEY = re.compile(rb"(from|subject|received)\s*:", re.IGNORECASE)
PDF_SIGNATURE_WITHIN = 1024  # readers accept `%PDF-` after junk this far in


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
    if b"%PDF-" in head[:PDF_SIGNATURE_WITHIN]:
        return Detected("application/pdf", "pdf", "pdf")
    guess = filetype.guess(head) if head else None
    if guess is not None:
        extension = str(guess.extension)
        mime = str(guess.mime)
        if mime.startswith("image/"):
            return Detected(mime, "image", extension)
        return Detected(mime, _KIND_BY_EXTENSION.get(extension, "other"), extension)
    if _is_text(head):
        if given in ("eml", "msg", "") and _looks_like_email(head):
            return Detected("message/rfc822", "email", "eml")
        if given in ("csv", "tsv"):
            return Detected("text/csv", "csv", given)
        if given == "eml":
            return Detected("message/rfc822", "email", "eml")
        # Plain text: keep whatever text extension was given (.txt, .md, .log, …).
        return Detected("text/plain", "text", given if given else "txt")
    return Detected("application/octet-stream", "other", None)


def _looks_like_email(head: bytes) -> bool:
    """Two header lines among the first twenty, one of them From, Subject or Received."""
    lines = [line.strip() for line in head.lstrip().split(b"\n")[:20] if line.strip()]
    headers = [line for line in lines if _EMAIL_HEADER.match(line)]
    return len(headers) >= 2 and any(_EMAIL_KEY.match(line) for line in headers)


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
