"""Workbooks built by hand from raw XML parts, so each is exactly as hostile as it says.

Used by the reader's unit tests, the fuzz suite (tests/fuzz/test_hostile_workbooks.py) and
bench/hostile_files.py. Every sheet has the header ФИО | Телефон in row 1 and one real
contact in row 2 unless it says otherwise.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from core.imports.dto import column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    "</Types>"
)
HEADER = ("ФИО", "Телефон")
CONTACT = ("Иванов Иван", "+7 916 111-22-33")


def inline(reference: str | None, text: str) -> str:
    """An inline-string cell (`r` left out when None: its position is implied)."""
    r = f' r="{reference}"' if reference else ""
    return f'<c{r} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def number(reference: str | None, value: float | str, style: int | None = None) -> str:
    r = f' r="{reference}"' if reference else ""
    s = f' s="{style}"' if style is not None else ""
    return f"<c{r}{s}><v>{value}</v></c>"


def shared(reference: str, index: int) -> str:
    return f'<c r="{reference}" t="s"><v>{index}</v></c>'


def row(number_: int | None, cells: Iterable[str]) -> str:
    r = f' r="{number_}"' if number_ is not None else ""
    return f"<row{r}>{''.join(cells)}</row>"


def head_rows() -> list[str]:
    return [
        row(1, [inline("A1", HEADER[0]), inline("B1", HEADER[1])]),
        row(2, [inline("A2", CONTACT[0]), inline("B2", CONTACT[1])]),
    ]


def sheet_xml(rows: Iterable[str], *, dimension: str | None = None, prolog: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(rows)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}" '
        f'xmlns:r="{REL}">{dim}<sheetData>{body}</sheetData></worksheet>'
    ).encode()


def workbook(
    sheet: bytes,
    *,
    strings: Sequence[str] | bytes | None = None,
    styles: str | None = None,
    sheets: int = 1,
    date1904: bool = False,
) -> bytes:
    """A zipped workbook: the given first sheet, `sheets - 1` empty ones after it."""
    out = io.BytesIO()
    rels = [
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, sheets + 1)
    ]
    if strings is not None:
        rels.append(
            f'<Relationship Id="rSst" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    if styles is not None:
        rels.append(f'<Relationship Id="rSty" Type="{REL}/styles" Target="styles.xml"/>')
    sheet_list = "".join(
        f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1)
    )
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{pr}'
            f"<sheets>{sheet_list}</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for i in range(2, sheets + 1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", sheet_xml([]))
        if isinstance(strings, bytes):
            archive.writestr("xl/sharedStrings.xml", strings)
        elif strings is not None:
            items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
            archive.writestr(
                "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>'
            )
        if styles is not None:
            archive.writestr("xl/styles.xml", styles)
    return out.getvalue()


def styles_xml(*formats: tuple[int, str | None]) -> str:
    """cellXfs with these number formats, in order: (numFmtId, a custom code or None)."""
    custom = "".join(
        f'<numFmt numFmtId="{i}" formatCode="{escape(code)}"/>' for i, code in formats if code
    )
    xfs = "".join(f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0"/>' for i, _ in formats)
    return (
        f'<styleSheet xmlns="{MAIN}"><numFmts>{custom}</numFmts>'
        f'<cellStyleXfs><xf numFmtId="14"/></cellStyleXfs>'
        f"<cellXfs>{xfs}</cellXfs></styleSheet>"
    )


def with_far_cell(reference: str, text: str = "x") -> bytes:
    """The real rows, and one more cell far away (its own row)."""
    row_number = int(reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return workbook(sheet_xml([*head_rows(), row(row_number, [inline(reference, text)])]))


def far_xfd() -> bytes:
    return with_far_cell("XFD1048576")


def far_z() -> bytes:
    return with_far_cell("Z1000000")


def space_in_last_row() -> bytes:
    return with_far_cell("T1048576", " ")


def huge_dimension() -> bytes:
    return workbook(sheet_xml(head_rows(), dimension="A1:XFD1048576"))


def many_sheets(count: int = 5_000) -> bytes:
    return workbook(sheet_xml(head_rows()), sheets=count)


def huge_shared_strings(count: int = 3_000_000) -> bytes:
    """A shared strings table of `count` distinct entries (so it does not compress away: the
    zip-bomb ratio does not catch it); the sheet uses two of them."""
    rows = [
        row(1, [shared("A1", 0), shared("B1", 1)]),
        row(2, [inline("A2", CONTACT[0]), inline("B2", CONTACT[1])]),
    ]
    items = "".join(f"<si><t>{n}</t></si>" for n in range(count - 2))
    table = f'<sst xmlns="{MAIN}"><si><t>ФИО</t></si><si><t>Телефон</t></si>{items}</sst>'
    return workbook(sheet_xml(rows), strings=table.encode())


def long_string(size: int = 10 * 1024 * 1024) -> bytes:
    """One cell of `size` random hex digits (so it does not compress away)."""
    text = random.Random(5).randbytes(size // 2).hex()
    return workbook(sheet_xml([*head_rows(), row(3, [inline("A3", text)])]))


def rows_out_of_order() -> bytes:
    rows = head_rows()
    return workbook(sheet_xml([rows[0], row(5, [inline("A5", "Пятый")]), rows[1]]))


def repeated_row_numbers() -> bytes:
    rows = head_rows()
    return workbook(sheet_xml([*rows, row(2, [inline("A2", "Снова второй")])]))


def cells_without_references() -> bytes:
    """Valid OOXML: rows and cells without `r`, positions implied by order."""
    rows = [
        row(None, [inline(None, HEADER[0]), inline(None, HEADER[1])]),
        row(None, [inline(None, CONTACT[0]), inline(None, CONTACT[1])]),
        row(4, [inline(None, "Петров Пётр"), inline(None, "+7 916 444-55-66")]),
    ]
    return workbook(sheet_xml(rows))


def billion_laughs() -> bytes:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    rows = [
        row(1, [inline("A1", "ФИО")]),
        row(2, ['<c r="A2" t="inlineStr"><is><t>&j;</t></is></c>']),
    ]
    return workbook(sheet_xml(rows, prolog=f"<!DOCTYPE worksheet [{entities}]>"))


def empty_rows(count: int = 1_000_000) -> bytes:
    """The real rows, then `count` rows with no cell in them."""
    blank = "".join(f'<row r="{n}"/>' for n in range(3, count + 3))
    return workbook(sheet_xml([*head_rows(), blank]))


def at_the_limits(rows: int = 199_999, columns: int = 25) -> bytes:
    """Not hostile: as much as the default limits let a file hold (200k rows x 25 columns,
    5M cells, ~4M characters of inline text), to measure the reader's memory ceiling."""
    header = row(1, [inline(f"{column_letter(c)}1", f"Колонка {c}") for c in range(columns)])
    header = header.replace("Колонка 0", "ФИО").replace("Колонка 1<", "Телефон<")
    letters = [column_letter(c) for c in range(columns)]
    body = (
        row(n, [inline(f"{letters[c]}{n}", f"Клиент {n}") for c in range(columns)])
        for n in range(2, rows + 2)
    )
    return workbook(sheet_xml([header, *body]))


GUARD_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from exports.contacts_import import read_contacts
read_contacts(open(sys.argv[1], "rb").read(), "book.xlsx")
"""


def reader_dies_on_far_cells(directory: Path) -> str | None:
    """Why the reader dies on a far-away cell, in a child capped at 1 GB; None if it lives.
    A guard for in-process tests: python-calamine aborted the whole process there."""
    root = Path(__file__).resolve().parents[2]
    for build in (far_xfd, space_in_last_row):
        path = directory / f"{build.__name__}.xlsx"
        path.write_bytes(build())
        child = subprocess.run(
            [sys.executable, "-c", GUARD_CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(root)},
            check=False,
        )
        if child.returncode != 0:
            return f"{build.__name__}: exit {child.returncode}: {child.stderr[-300:]}"
    return None


def write(builder: str, path: str) -> None:
    """Write the file a builder of this module makes (bench/hostile_files.py calls it)."""
    with open(path, "wb") as out:
        out.write(globals()[builder]())


# name -> (builder, what a correct reader does: "read" the one contact, or "refused")
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "far cell XFD1048576": (far_xfd, "read"),
    "far cell Z1000000": (far_z, "read"),
    "a space in T1048576": (space_in_last_row, "read"),
    "dimension A1:XFD1048576": (huge_dimension, "read"),
    "5,000 sheets": (many_sheets, "read"),
    "shared strings of 3M entries": (huge_shared_strings, "refused"),
    "a 10 MB string": (long_string, "refused"),
    "rows out of order": (rows_out_of_order, "refused"),
    "repeated row number": (repeated_row_numbers, "refused"),
    "cells without r": (cells_without_references, "read"),
    "billion laughs": (billion_laughs, "refused"),
    "1M empty rows": (empty_rows, "read"),
}
# Measured by bench/hostile_files.py only: slow to build and to read.
BENCH_ONLY: dict[str, tuple[Callable[[], bytes], str]] = {
    "at the limits: 200k x 25": (at_the_limits, "read"),
}
