"""A PDF's text layer (pypdfium2), and OCR of its first pages when it has none."""

from __future__ import annotations

from typing import Any

from core.documents import extract_ocr
from core.documents.extract import DONE, Extracted, Limits, Refused

OCR_DPI = 200


def _open(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        message = str(error).lower()
        if "password" in message or "security" in message:
            raise Refused("encrypted", "the PDF is password-protected") from error
        raise Refused("broken", f"not a readable PDF ({error})") from error


def extract(data: bytes, limits: Limits) -> Extracted:
    pdf = _open(data)
    try:
        pages = len(pdf)
        parts: list[str] = []
        size = 0
        for index in range(min(pages, limits.max_pages)):
            page = pdf[index]
            textpage = page.get_textpage()
            chunk = textpage.get_text_bounded()
            textpage.close()
            page.close()
            parts.append(chunk)
            size += len(chunk)
            if size >= limits.max_text:
                break
        text = "\n".join(parts).replace("\r\n", "\n").strip()
        if text or not pages:
            return Extracted(DONE, "pdf", "pdf-text", text, pages=pages)
        # No text layer (a scan): OCR the first pages, or say why not.
        ocr_text = _ocr(pdf, pages, limits)
        joined = "\n".join(part for part in (text, ocr_text) if part)
        return Extracted(DONE, "pdf", "pdf-ocr", joined, pages=pages)
    finally:
        pdf.close()


def _ocr(pdf: Any, pages: int, limits: Limits) -> str:
    if not limits.ocr or extract_ocr.tesseract() is None:
        raise Refused("no-ocr", "a scan without a text layer, and Tesseract is not installed")
    parts: list[str] = []
    for index in range(min(pages, limits.ocr_pages)):
        page = pdf[index]
        width, height = page.get_size()
        scale = OCR_DPI / 72
        if width * height * scale * scale > limits.max_pixels:
            scale = (limits.max_pixels / max(1.0, width * height)) ** 0.5
        if width * scale < 16 or height * scale < 16:
            page.close()
            continue
        bitmap = page.render(scale=scale, grayscale=True)
        image = extract_ocr.pnm(
            bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
        )
        bitmap.close()
        page.close()
        parts.append(extract_ocr.ocr(image, limits))
    return "\n".join(part for part in parts if part).strip()
