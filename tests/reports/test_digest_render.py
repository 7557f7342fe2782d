"""The Summary as LibreOffice prints it: one A4 portrait page, nothing shown as "###".

Skipped where LibreOffice is not installed (`apt-get install libreoffice-calc`); with the
Calibri-metric font Carlito (`fonts-crosextra-carlito`) the page reads as Excel prints it.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from core.context import Actor, Ctx
from core.targets import service as targets
from exports._table import FONT_NAME
from exports.digest import build_workbook
from tests.helpers_libreoffice import convert, needs_libreoffice
from tests.reports import scenario

A4_PORTRAIT = (595.3, 841.9)  # points


def _summary_only(data: bytes) -> bytes:
    """The workbook with its Summary alone, as it is printed on its own."""
    wb = load_workbook(io.BytesIO(data))
    for sheet in wb.worksheets[1:]:
        wb.remove(sheet)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _print(source: Path) -> tuple[bytes, str | None]:
    """LibreOffice's PDF of the workbook, and its text when pdftotext is there."""
    pdf = convert(source, "pdf", timeout=180)
    if not shutil.which("pdftotext"):
        return pdf.read_bytes(), None
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        timeout=60,
        check=True,
        text=True,
    ).stdout
    return pdf.read_bytes(), text


async def test_every_styled_summary_cell_names_the_workbook_font(
    ctx: Ctx, with_targets: scenario.Scenario
) -> None:
    digest = await scenario.day_digest(ctx, with_targets)
    ws = load_workbook(io.BytesIO(build_workbook(digest, locale="ru")))["Сводка"]
    # A font without a name is drawn by LibreOffice in a wider serif: totals became "###".
    names = {cell.font.name for row in ws.iter_rows() for cell in row if cell.value is not None}
    assert names == {FONT_NAME}


@needs_libreoffice
async def test_libreoffice_prints_the_summary_with_targets_on_one_a4_portrait_page(
    ctx: Ctx, with_targets: scenario.Scenario, tmp_path: Path
) -> None:
    for person, amount in ((with_targets.anna, 6_000_000), (with_targets.boris, 3_000_000)):
        await targets.set_targets(  # millions in bold: what a wider fallback font shows as ###
            ctx,
            actor=Actor.system("test"),
            user_id=person.id,
            month=date(2026, 11, 1),
            values={"won_amount": Decimal(amount)},
        )
    digest = await scenario.day_digest(ctx, with_targets)
    source = tmp_path / "summary.xlsx"
    source.write_bytes(_summary_only(build_workbook(digest, locale="ru")))
    pdf, text = await asyncio.to_thread(_print, source)
    pages = re.findall(rb"/Type\s*/Page(?!s)", pdf)
    assert len(pages) == 1
    boxes = {
        tuple(round(float(v), 1) for v in box.split()[2:])
        for box in re.findall(rb"/MediaBox\s*\[([^\]]+)\]", pdf)
    }
    assert boxes == {A4_PORTRAIT}
    if text is not None:
        assert "###" not in text  # every figure fits its column
        assert "План на 11.2026" in text and "Итого" in text
