"""Text out of a stored file: detect its type from the bytes, read its text, bounded.

`extract_bytes` is pure (bytes in, `Extracted` out) and runs in a child process
(`core.documents.extract_child`) under time and memory limits, so a PDF bomb, a zip bomb or
a file that crashes a parser ends only that child: the file gets a stored reason, the
worker goes on with the next (`ExtractorProcess`).

What each type gives: PDF its text layer (pypdfium2), page by page, and when a PDF has no
text layer and Tesseract is installed, OCR of its first pages; DOCX, ODT and XLSX their
XML text read from the zip after checking the declared sizes; CSV and plain text decoded
(UTF-8, else the detected charset); e-mail its headers and text parts; an image OCR.
The type is read from the bytes by the same detector as at upload (core.documents.detect);
the name's extension is never trusted: a ".pdf" that is a zip is read as what it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.documents import words
from core.documents.detect import detect

# done: text read | failed: the reason is kept | unsupported: nothing to read in it
DONE, FAILED, UNSUPPORTED = "done", "failed", "unsupported"
HEAD_BYTES = 64 * 1024  # what the type is read from, as at upload (storage.HEAD_SIZE)


@dataclass(frozen=True)
class Limits:
    """Bounds of one extraction (the child process enforces time and memory)."""

    seconds: float = 60.0  # wall time per file, OCR included
    memory_mb: int = 1024  # RLIMIT_AS of the child (and of Tesseract under it)
    max_bytes: int = 100 * 1024 * 1024  # larger files are not read
    max_pages: int = 2000  # PDF pages whose text layer is read
    ocr_pages: int = 20  # PDF pages OCR reads when there is no text layer
    max_pixels: int = 40_000_000  # an image (or a rendered page) larger is refused
    max_unzipped: int = 200 * 1024 * 1024  # sum of declared sizes in a DOCX/XLSX/ODT
    max_ratio: int = 200  # declared size / compressed size of one member
    max_members: int = 10_000
    max_text: int = 1_000_000  # characters of text kept for snippets
    max_words: int = 200_000  # lemmas indexed
    ocr: bool = True  # use Tesseract when it is installed
    ocr_languages: str = "rus+eng"


@dataclass
class Extracted:
    status: str
    kind: str
    method: str | None = None
    text: str = ""
    pages: int | None = None
    error: str | None = None  # "<code>: <reason>" when failed or unsupported
    words: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Refused(Exception):
    """A file this extractor will not read, with a code and a reason for the record."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def extract_bytes(data: bytes, name: str = "", limits: Limits | None = None) -> Extracted:
    """Read a file's text within `limits` (in the calling process: use the child for
    untrusted files). Never raises for a bad file: the reason is in the result."""
    limits = limits or Limits()
    kind = detect(data[:HEAD_BYTES], name).kind
    try:
        if len(data) > limits.max_bytes:
            raise Refused("too-large", f"the file is larger than {limits.max_bytes} bytes")
        result = _extract(kind, data, limits)
    except Refused as refused:
        status = UNSUPPORTED if refused.code in ("unsupported", "no-ocr") else FAILED
        return Extracted(status=status, kind=kind, error=f"{refused.code}: {refused.reason}")
    except MemoryError:
        return Extracted(status=FAILED, kind=kind, error="memory: the file needs too much memory")
    except Exception as error:  # a parser's own error on a broken file
        reason = f"{type(error).__name__}: {str(error)[:300]}"
        return Extracted(status=FAILED, kind=kind, error=f"broken: {reason}")
    text = result.text[: limits.max_text]
    result.text = text
    result.words = words.normalise([name, text], limit=limits.max_words)
    return result


def _extract(kind: str, data: bytes, limits: Limits) -> Extracted:
    from core.documents import extract_ocr, extract_office, extract_pdf, extract_text

    if kind == "pdf":
        return extract_pdf.extract(data, limits)
    if kind in ("docx", "xlsx", "odt"):
        return extract_office.extract(kind, data, limits)
    if kind in ("text", "csv"):
        return Extracted(DONE, kind, "text", extract_text.decode(data))
    if kind == "email":
        return Extracted(DONE, kind, "email", extract_text.email_text(data))
    if kind == "image":
        text = extract_ocr.image_text(data, limits)
        return Extracted(DONE, kind, "ocr", text, pages=1)
    raise Refused("unsupported", "this type of file has no text to read")
