"""DOCX, ODT and XLSX: their XML text, read from the zip only after checking it is no bomb.

A zip bomb declares small compressed members that inflate to gigabytes: the declared
sizes (sum and ratio) are checked first, and each member is read in bounded pieces anyway
(a lying header stops at the limit). XML with a DTD is refused (entity expansion).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import IO
from xml.etree import ElementTree

from core.documents.extract import DONE, Extracted, Limits, Refused

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_SHEET = re.compile(r"^xl/worksheets/sheet(\d+)\.xml$")
MAX_CELLS = 2_000_000


def _guard(archive: zipfile.ZipFile, limits: Limits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise Refused("zip-bomb", f"the archive holds {len(infos)} files")
    total = 0
    for info in infos:
        total += info.file_size
        big = info.file_size > 1024 * 1024
        if big and info.file_size > limits.max_ratio * max(1, info.compress_size):
            raise Refused("zip-bomb", f"{info.filename} inflates {info.file_size} bytes")
    if total > limits.max_unzipped:
        raise Refused("zip-bomb", f"the archive inflates to {total} bytes")


class _Bounded:
    """A member read in pieces; more than `left` bytes overall is a bomb."""

    def __init__(self, stream: IO[bytes], budget: list[int]) -> None:
        self._stream = stream
        self._budget = budget
        self._head = True

    def read(self, size: int = 65536) -> bytes:
        chunk = self._stream.read(min(size if size > 0 else 65536, 65536))
        self._budget[0] -= len(chunk)
        if self._budget[0] < 0:
            raise Refused("zip-bomb", "the archive inflates past the limit")
        if self._head:
            self._head = False
            if b"<!DOCTYPE" in chunk[:2048] or b"<!ENTITY" in chunk[:2048]:
                raise Refused("broken", "XML with a DTD is not read")
        return chunk


def _events(
    archive: zipfile.ZipFile, name: str, budget: list[int]
) -> Iterator[tuple[str, ElementTree.Element]]:
    with archive.open(name) as stream:
        yield from ElementTree.iterparse(_Bounded(stream, budget), events=("end",))


def _docx(archive: zipfile.ZipFile, budget: list[int], limits: Limits) -> tuple[str, int | None]:
    out: list[str] = []
    paragraph: list[str] = []
    size = 0
    for _event, element in _events(archive, "word/document.xml", budget):
        tag = element.tag
        if tag == _W + "t" and element.text:
            paragraph.append(element.text)
        elif tag == _W + "tab":
            paragraph.append("\t")
        elif tag == _W + "p":
            line = "".join(paragraph)
            paragraph = []
            out.append(line)
            size += len(line) + 1
            element.clear()
            if size > limits.max_text:
                break
    pages = None
    if "docProps/app.xml" in archive.namelist():
        for _event, element in _events(archive, "docProps/app.xml", budget):
            if element.tag.endswith("}Pages") and (element.text or "").isdigit():
                pages = int(element.text or "0")
    return "\n".join(out).strip(), pages


def _odt(archive: zipfile.ZipFile, budget: list[int], limits: Limits) -> str:
    out: list[str] = []
    size = 0
    for _event, element in _events(archive, "content.xml", budget):
        if element.tag in (_TEXT + "p", _TEXT + "h"):
            line = "".join(element.itertext())
            out.append(line)
            size += len(line) + 1
            element.clear()
            if size > limits.max_text:
                break
    return "\n".join(out).strip()


def _xlsx(archive: zipfile.ZipFile, budget: list[int], limits: Limits) -> tuple[str, int]:
    names = archive.namelist()
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        for _event, element in _events(archive, "xl/sharedStrings.xml", budget):
            if element.tag == _S + "si":
                shared.append("".join(element.itertext()))
                element.clear()
    sheets = sorted(
        (int(m.group(1)), name) for name in names if (m := _SHEET.match(name)) is not None
    )
    out: list[str] = []
    size = cells = 0
    for _number, sheet in sheets:
        row: list[str] = []
        for _event, element in _events(archive, sheet, budget):
            if element.tag == _S + "c":
                cells += 1
                kind = element.get("t")
                value = element.find(_S + "v")
                if kind == "s" and value is not None and (value.text or "").isdigit():
                    index = int(value.text or "0")
                    row.append(shared[index] if index < len(shared) else "")
                elif kind == "inlineStr":
                    row.append("".join(element.itertext()))
                elif value is not None and value.text:
                    row.append(value.text)
                element.clear()
            elif element.tag == _S + "row":
                line = "\t".join(cell for cell in row if cell)
                row = []
                if line:
                    out.append(line)
                    size += len(line) + 1
                element.clear()
            if size > limits.max_text or cells > MAX_CELLS:
                break
        if size > limits.max_text or cells > MAX_CELLS:
            break
    return "\n".join(out).strip(), len(sheets)


def extract(kind: str, data: bytes, limits: Limits) -> Extracted:
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile as error:
        raise Refused("broken", f"not a readable {kind.upper()} ({error})") from error
    with archive:
        _guard(archive, limits)
        budget = [limits.max_unzipped]
        try:
            if kind == "docx":
                text, pages = _docx(archive, budget, limits)
                return Extracted(DONE, kind, "docx", text, pages=pages)
            if kind == "odt":
                return Extracted(DONE, kind, "odt", _odt(archive, budget, limits))
            text, sheets = _xlsx(archive, budget, limits)
            return Extracted(DONE, kind, "xlsx", text, pages=sheets)
        except ElementTree.ParseError as error:
            raise Refused("broken", f"the {kind.upper()} has broken XML ({error})") from error
        except (zipfile.BadZipFile, KeyError) as error:
            raise Refused("broken", f"not a readable {kind.upper()} ({error})") from error
