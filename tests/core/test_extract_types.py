"""Extraction of each type from small files made here, and the answers for bad files."""

from __future__ import annotations

import shutil

import pytest

from core.documents.detect import detect
from core.documents.extract import Limits, extract_bytes
from core.documents.extract_ocr import image_size
from tests.fakes import documents as fx

NO_OCR = Limits(ocr=False)


@pytest.mark.parametrize(
    ("data", "name", "kind", "method", "text"),
    [
        (
            fx.pdf(["Договор поставки № 17", "Invoice"]),
            "a.pdf",
            "pdf",
            "pdf-text",
            "Договор поставки № 17\nInvoice",
        ),
        (
            fx.docx(["Счёт на оплату", "ООО «Вектор»"]),
            "b.docx",
            "docx",
            "docx",
            "Счёт на оплату\nООО «Вектор»",
        ),
        (
            fx.xlsx([["Товар", "Цена"], ["Гвозди", "100"]]),
            "c.xlsx",
            "xlsx",
            "xlsx",
            "Товар\tЦена\nГвозди\t100",
        ),
        (fx.odt(["Акт сверки", "за март"]), "d.odt", "odt", "odt", "Акт сверки\nза март"),
        (
            "имя;телефон\nИван;+7 916".encode("cp1251"),
            "e.csv",
            "csv",
            "text",
            "имя;телефон\nИван;+7 916",
        ),
        ("Заметка о встрече\n".encode("utf-8-sig"), "f.txt", "text", "text", "Заметка о встрече\n"),
    ],
)
def test_each_type(data: bytes, name: str, kind: str, method: str, text: str) -> None:
    result = extract_bytes(data, name, NO_OCR)
    assert (result.status, result.kind, result.method, result.error) == ("done", kind, method, None)
    assert result.text == text


def test_pdf_pages_and_words() -> None:
    result = extract_bytes(fx.pdf([["Первая страница"], ["Вторая страница"]]), "Договор_2.pdf")
    assert result.pages == 2
    assert result.words == "договор 2 pdf первый страница второй страница"


def test_email_headers_body_and_attachment_names() -> None:
    result = extract_bytes(fx.eml("Коммерческое предложение", "Высылаем договоры поставок"), "x")
    assert result.status == "done" and result.kind == "email"
    assert "Subject: Коммерческое предложение" in result.text
    assert "Высылаем договоры поставок" in result.text
    assert "Attachments: a.bin" in result.text
    assert "поставка" in result.words.split()


def test_the_extension_does_not_decide_the_type() -> None:
    assert detect(fx.docx(["x"]), "scan.pdf").kind == "docx"
    assert detect(fx.pdf(["x"]), "contract.docx").kind == "pdf"
    assert detect(b"junk\r\n" + fx.pdf(["x"]), "contract").kind == "pdf"  # %PDF- after junk
    assert detect(fx.xlsx([["x"]]), "notes.txt").kind == "xlsx"
    assert detect(b"\x89PNG\r\n\x1a\n" + bytes(30), "report.docx").kind == "image"
    assert detect(b"MZ\x90\x00\x03" + bytes(100), "invoice.pdf").kind == "other"
    assert detect(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.xls").kind == "other"
    mail = b"X-Mailer: x\r\nReceived: by mx\r\nFrom: a@b\r\nSubject: s\r\n\r\nbody"
    assert detect(mail, "письмо").kind == "email"
    result = extract_bytes(fx.xlsx([["Прайс"]]), "invoice.pdf", NO_OCR)
    assert (result.kind, result.text) == ("xlsx", "Прайс")


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        (fx.encrypted_pdf(), "failed", "encrypted: the PDF is password-protected"),
        (b"%PDF-1.4\nnot really", "failed", "broken: not a readable PDF"),
        (fx.docx_bomb(), "failed", "zip-bomb: word/document.xml inflates"),
        (b"PK\x03\x04" + bytes(100), "unsupported", "unsupported: "),
        (fx.docx(["x"])[:200], "unsupported", "unsupported: "),  # a cut zip: not readable
        (bytes(range(256)) * 4, "unsupported", "unsupported: "),
        (fx.text_image(["Договор"]), "unsupported", "no-ocr: an image"),
        (fx.text_image(["Договор"], image_format="PDF"), "unsupported", "no-ocr: a scan"),
    ],
)
def test_bad_files_get_a_reason(data: bytes, status: str, error: str) -> None:
    result = extract_bytes(data, "file", NO_OCR)
    assert result.status == status
    assert result.error is not None and result.error.startswith(error), result.error
    assert result.text == ""


def test_xml_with_entities_is_refused() -> None:
    xml = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><w:document/>'
    data = fx._zip({"word/document.xml": xml, "[Content_Types].xml": "x"})
    result = extract_bytes(data, "e.docx", NO_OCR)
    assert (result.status, result.error) == ("failed", "broken: XML with a DTD is not read")


def test_too_many_members_is_a_bomb() -> None:
    data = fx._zip({"word/document.xml": fx.docx_xml(["x"])} | {f"f{i}": "" for i in range(50)})
    result = extract_bytes(data, "m.docx", Limits(max_members=20))
    assert result.error == "zip-bomb: the archive holds 51 files"


def test_thousands_of_pages_are_bounded() -> None:
    result = extract_bytes(fx.many_pages_pdf(3000), "bomb.pdf", Limits(max_pages=50))
    assert result.status == "done" and result.pages == 3000
    assert result.text.count("страница") == 50


def test_text_and_words_are_capped() -> None:
    long = ["слово " * 1000] * 30
    result = extract_bytes(fx.docx(long), "l.docx", Limits(max_text=5000, max_words=100))
    assert len(result.text) <= 5000 and len(result.words.split()) == 100


def test_large_files_are_refused_before_reading() -> None:
    result = extract_bytes(fx.pdf(["x"]), "a.pdf", Limits(max_bytes=100))
    assert result.error == "too-large: the file is larger than 100 bytes"


def test_image_size_from_headers() -> None:
    png = fx.text_image(["x"])
    assert image_size(png) is not None
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("L", (123, 45), 255).save(buffer, "JPEG")
    assert image_size(buffer.getvalue()) == (123, 45)


tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-rus)",
)


@tesseract
def test_ocr_reads_russian_from_an_image_and_a_scanned_pdf() -> None:
    lines = ["Договор поставки № 17", "Счёт на оплату"]
    image = extract_bytes(fx.text_image(lines), "scan.png")
    assert (image.status, image.method) == ("done", "ocr"), image.error
    assert "Договор поставки" in image.text
    assert {"договор", "поставка", "счет"} <= set(image.words.split())
    scan = extract_bytes(fx.text_image(lines, image_format="PDF"), "scan.pdf")
    assert (scan.status, scan.method, scan.pages) == ("done", "pdf-ocr", 1), scan.error
    assert "Счёт на оплату" in scan.text


@tesseract
def test_ocr_refuses_an_image_bomb_by_its_header() -> None:
    import struct
    import zlib

    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = header + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    result = extract_bytes(data, "huge.png")
    assert result.error == "too-large: the image is 100000×100000 pixels"
