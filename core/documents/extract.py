"""Text out of a stored file: detect its type from the bytes, read its text, bounded.

`extract_bytes` is pure (bytes in, `Extracted` out) and runs in a child process
(`core.documents.extract_child`) under time and memory limits, so a PDF bomb, a zip bomb or
a file that crashes a parser ends only that child: the file gets a stored reason, the
worker goes on with the next (`ExtractorProcess`).

What each type gives: PDF its text layer (pypdfium2), page by page, and when a PDF has no
text layer and Tesseract is installed, OCR of its first pages; DOCX, ODT and XLSX their
XML text read from the zip after checking the declared sizes; CSV and plain text decoded
(UTF-8, else the detected charset); e-mail its headers and text parts; an image OCR.
The name's extension is never trusted: a ".pdf" that is a zip is read as what it is.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from io import BytesIO
from typing import Any

from core.documents import words

# done: text read | failed: the reason is kept | unsupported: nothing to read in it
DONE, FAILED, UNSUPPORTED = "done", "failed", "unsupported"


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


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_EMAIL_HEADERS = (
    b"from:",
    b"to:",
    b"subject:",
    b"date:",
    b"received:",
    b"return-path:",
    b"mime-version:",
    b"message-id:",
    b"delivered-to:",
    b"x-",
)


def _zip_kind(data: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist()[:10_000])
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                    if mimetype == "application/vnd.oasis.opendocument.text":
                        return "odt", mimetype
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return "other", "application/zip"
    if "word/document.xml" in names:
        return "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "other", "application/zip"


def _looks_like_email(head: bytes) -> bool:
    lines = [line.strip().lower() for line in head.split(b"\n")[:20] if line.strip()]
    headers = [line for line in lines if any(line.startswith(h) for h in _EMAIL_HEADERS)]
    return len(headers) >= 2 and any(
        line.startswith((b"from:", b"subject:", b"received:")) for line in headers
    )


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 4:  # a character cut at the end of the sample
            return True
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best is not None and best.encoding is not None


def detect(data: bytes, name: str = "") -> tuple[str, str]:
    """(kind, mime type) read from the bytes; the name only tells CSV from other text."""
    head = data[:8192]
    stripped = head.lstrip()
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf", "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return "image", mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # old .doc/.xls: OLE2, not read
        return "other", "application/x-ole-storage"
    if _looks_like_email(stripped):
        return "email", "message/rfc822"
    if _looks_like_text(head):
        if name.lower().endswith((".csv", ".tsv")):
            return "csv", "text/csv"
        return "text", "text/plain"
    return "other", "application/octet-stream"


def extract_bytes(data: bytes, name: str = "", limits: Limits | None = None) -> Extracted:
    """Read a file's text within `limits` (in the calling process: use the child for
    untrusted files). Never raises for a bad file: the reason is in the result."""
    limits = limits or Limits()
    kind, _mime = detect(data, name)
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
