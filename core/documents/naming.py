"""Safe file names: what a document is called on a card and in a download.

A name as given may hold a path (`../../etc/passwd`, `C:\\scans\\act.pdf`), control or
invisible characters (a right-to-left override that makes `exe.pdf` read `fdp.exe`), be
hundreds of characters long or be empty. `safe_name` keeps the last path part, drops what
cannot be shown, and caps it at MAX_NAME_BYTES of UTF-8 while keeping the extension.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 200  # well under the 255 bytes of common file systems and the column
FALLBACK = "document"
_SPACES = re.compile(r"\s+")


def safe_name(name: str | None, *, extension: str | None = None) -> str:
    """A displayable, path-free name of at most MAX_NAME_BYTES; `extension` replaces the
    given one when the content says otherwise (`scan.pdf` holding a JPEG → `scan.jpg`)."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        " " if unicodedata.category(char) in ("Zl", "Zp") or char in "\t\r\n" else char
        for char in text
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn") or char in "\t\r\n"
    )
    text = _SPACES.sub(" ", text).strip().strip(".").strip()
    stem, ext = split_extension(text)
    stem = stem.rstrip(" .")
    if extension is not None and ext.lower() != extension.lower():
        ext = extension
    if not stem:
        stem = FALLBACK
    return _cap(stem, ext)


def split_extension(name: str) -> tuple[str, str]:
    """(`stem`, `ext` without the dot, lower-case); an extension is 1–8 letters or digits."""
    match = re.fullmatch(r"(.+)\.([A-Za-z0-9]{1,8})", name)
    if match is None:
        return name, ""
    return match.group(1), match.group(2).lower()


def _cap(stem: str, ext: str) -> str:
    suffix = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    encoded = stem.encode()
    if len(encoded) > budget:
        stem = encoded[:budget].decode(errors="ignore").rstrip() or FALLBACK
    return stem + suffix
