"""The digest speaks the reader's language: no raw outcome or source code in a Russian workbook.

Issue 21 §7 ("outcome «reached» in the digest"): the Calls sheet wrote `call.outcome` as
stored. Every code a cell may carry (call outcomes, client sources, activity kinds) has a
label in both languages of exports/texts.py, and the Russian workbook shows none raw.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from core.activities.models import ACTIVITY_KINDS
from core.calls.service import OUTCOMES
from core.contacts.service import SOURCES
from core.reports.dto import Digest
from exports.digest import build_workbook
from exports.texts import texts

CODES = {*OUTCOMES, *SOURCES, *ACTIVITY_KINDS}


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_code_a_cell_may_carry_has_a_label(locale: str) -> None:
    t = texts(locale)
    assert {f"call.outcome.{code}" for code in OUTCOMES} <= set(t)
    assert {f"src.{code}" for code in SOURCES} <= set(t)
    assert {f"kind.{code}" for code in ACTIVITY_KINDS} <= set(t)
    if locale == "ru":
        labels = [t[f"call.outcome.{code}"] for code in OUTCOMES]
        labels += [t[f"src.{code}"] for code in SOURCES if code != "api"]
        assert not [label for label in labels if re.search("[A-Za-z]", label)]


async def test_the_russian_workbook_shows_no_raw_code(digest: Digest) -> None:
    book = load_workbook(io.BytesIO(build_workbook(digest, locale="ru")))
    raw = [
        (ws.title, cell.coordinate, cell.value)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value in CODES
    ]
    assert raw == []
    calls = book["Звонки"]
    outcomes = {row[8].value for row in calls.iter_rows(min_row=5) if row[8].value}
    assert "интересно" in outcomes
