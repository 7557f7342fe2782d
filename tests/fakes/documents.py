# ruff: noqa: E501  (fixture XML reads best on one line)
"""Small documents made by code for the extraction tests and the benchmark.

The PDFs are written by hand: a Helvetica text layer whose one-byte codes map to Unicode
through a ToUnicode CMap (Cyrillic included; what pdfium extracts, not what it draws).
Scans are Pillow images of rendered text, saved as PNG or as an image-only PDF.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from xml.sax.saxutils import escape

# One-byte codes: printable ASCII as itself, Cyrillic А..я from 0x80, Ё and ё after them.
_CYRILLIC = [chr(c) for c in range(0x410, 0x450)] + ["Ё", "ё", "№", "«", "»", "—"]
_CODES = {chr(c): c for c in range(0x20, 0x7F)} | {ch: 0x80 + i for i, ch in enumerate(_CYRILLIC)}


def _tounicode() -> bytes:
    lines = [f"<{code:02X}> <{ord(ch):04X}>" for ch, code in _CODES.items()]
    chunks = [lines[i : i + 100] for i in range(0, len(lines), 100)]
    body = "".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar\n" for c in chunks)
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CMapName /PZ def /CMapType 2 def\n"
        "1 begincodespacerange <00> <FF> endcodespacerange\n"
        f"{body}endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode("ascii")


def _pdf_string(text: str) -> bytes:
    out = bytearray(b"<")
    for ch in text:
        out += b"%02X" % _CODES.get(ch, 0x3F)
    return bytes(out + b">")


def _write_pdf(objects: list[bytes], *, trailer_extra: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf(pages: list[list[str]] | list[str], *, trailer_extra: bytes = b"") -> bytes:
    """A PDF with a text layer: a list of lines (one page) or a list of pages of lines."""
    page_lines: list[list[str]] = (
        [list(p) for p in pages] if pages and isinstance(pages[0], list) else [pages]  # type: ignore[list-item]
    )
    n = len(page_lines)
    # 1 catalog, 2 pages, 3 font, 4 cmap, then (page, content) per page
    kids = b" ".join(b"%d 0 R" % (5 + 2 * i) for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 4 0 R >>",
        _stream(_tounicode()),
    ]
    for i, lines in enumerate(page_lines):
        ops = bytearray(b"BT /F1 12 Tf 14 TL 72 760 Td\n")
        for line in lines:
            ops += _pdf_string(line) + b" Tj T*\n"
        ops += b"ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (6 + 2 * i)
        )
        objects.append(_stream(bytes(ops)))
    return _write_pdf(objects, trailer_extra=trailer_extra)


def encrypted_pdf() -> bytes:
    """A PDF whose standard security handler wants a password nobody knows."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + b"11" * 32
        + b"> /U <"
        + b"22" * 32
        + b"> /P -4 >>",
    ]
    return _write_pdf(
        objects, trailer_extra=b"/Encrypt 4 0 R /ID [<" + b"ab" * 16 + b"> <" + b"ab" * 16 + b">] "
    )


def many_pages_pdf(pages: int) -> bytes:
    """A PDF bomb of sorts: thousands of pages sharing one small content stream."""
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 4 0 R >>",
        _stream(_tounicode()),
        _stream(b"BT /F1 12 Tf 72 760 Td " + _pdf_string("страница") + b" Tj ET"),
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>"
    )
    objects.extend([page] * pages)
    return _write_pdf(objects)


def huge_image_pdf(side: int) -> bytes:
    """One page showing a side×side grey image (deflated zeros: small file, huge bitmap)."""
    compressor = zlib.compressobj(9)
    row = bytes(side)
    parts = [compressor.compress(row) for _ in range(side)]
    data = b"".join(parts) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
        _stream(
            data,
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Filter /FlateDecode " % (side, side),
        ),
        _stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
    ]
    return _write_pdf(objects)


def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


_CT = '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
_RELS = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_xml(paragraphs: list[str]) -> str:
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    return f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'


def docx(paragraphs: list[str]) -> bytes:
    return _zip(
        {
            "[Content_Types].xml": _CT,
            "_rels/.rels": _RELS,
            "word/document.xml": docx_xml(paragraphs),
        }
    )


def docx_bomb(inflated: int = 8 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml inflates from a few KB to one `inflated`-letter word."""
    xml = docx_xml(["x" * inflated])
    return _zip({"[Content_Types].xml": _CT, "_rels/.rels": _RELS, "word/document.xml": xml})


_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx(rows: list[list[str]]) -> bytes:
    shared: list[str] = []
    index: dict[str, int] = {}
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for value in row:
            if value not in index:
                index[value] = len(shared)
                shared.append(value)
            cells.append(f'<c t="s"><v>{index[value]}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sheet = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_S}"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'
    strings = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_S}">{strings}</sst>'
    workbook = f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_S}"><sheets><sheet name="Лист1" sheetId="1"/></sheets></workbook>'
    return _zip(
        {
            "[Content_Types].xml": _CT,
            "xl/workbook.xml": workbook,
            "xl/sharedStrings.xml": sst,
            "xl/worksheets/sheet1.xml": sheet,
        }
    )


def odt(paragraphs: list[str]) -> bytes:
    ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body><office:text>{body}</office:text></office:body></office:document-content>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def eml(subject: str, body: str, *, sender: str = "ivan@example.org") -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = sender
    message["To"] = "sales@example.org"
    message["Subject"] = subject
    message["Date"] = "Mon, 07 Dec 2026 10:00:00 +0300"
    message.set_content(body)
    message.add_attachment(b"x", maintype="application", subtype="octet-stream", filename="a.bin")
    return message.as_bytes()


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_image(lines: list[str], *, size: int = 36, image_format: str = "PNG") -> bytes:
    """A white image with black text (a "scan"), as PNG or as an image-only PDF."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, size)
    height = 60 + len(lines) * int(size * 1.6)
    width = 60 + max(int(font.getlength(line)) for line in lines)
    image = Image.new("L", (max(width, 400), height), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + i * int(size * 1.6)), line, font=font, fill=0)
    buffer = io.BytesIO()
    if image_format == "PDF":
        image.save(buffer, "PDF", resolution=150)
    else:
        image.save(buffer, image_format)
    return buffer.getvalue()


async def add_document(
    ctx: object,
    data: bytes,
    name: str,
    *,
    contact_id: int | None = None,
    deal_id: int | None = None,
    uploaded_by_id: int | None = None,
    created_at: object = None,
    extract: bool = True,
) -> int:
    """A document row (and its blob) inserted through the models, extracted in-process and
    indexed: what the store-a-document service and the worker leave, for search tests."""
    import hashlib

    from core.context import Ctx
    from core.documents import index
    from core.documents.detect import detect
    from core.documents.extract import extract_bytes
    from core.documents.models import Document, DocumentBlob

    assert isinstance(ctx, Ctx)
    sha = hashlib.sha256(data).hexdigest()
    now = created_at or ctx.clock.now()
    if await ctx.session.get(DocumentBlob, sha) is None:
        ctx.session.add(
            DocumentBlob(sha256=sha, size_bytes=len(data), storage="dir", created_at=now)
        )
        await ctx.session.flush()
    detected = detect(data, name)
    document = Document(
        contact_id=contact_id,
        deal_id=deal_id,
        uploaded_by_id=uploaded_by_id,
        source="api",
        file_name=name,
        mime_type=detected.mime_type,
        kind=detected.kind,
        size_bytes=len(data),
        sha256=sha,
        extract_status="pending",
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(document)
    await ctx.session.flush()
    if extract:
        await index.store(ctx, document, extract_bytes(data, name))
    await ctx.session.commit()
    return document.id
