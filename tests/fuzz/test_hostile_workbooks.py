"""Hostile workbooks: read right or refused with a reason, in bounded time and memory, never
a crash of the process.

The named family (tests/exports/hostile_files.py: far-away cells, a space in T1048576, a
declared range of A1:XFD1048576, 5,000 sheets, 3M shared strings, a 10 MB string, rows out
of order, cells without `r`, a billion laughs, a million empty rows) is each parsed in a
child process capped at `MEMORY_CAP` of address space and `SECONDS` of time, as the CLI,
the API and the bot call `read_contacts`: a reader that sizes its grid by the declared range
aborts there (SIGABRT) or runs out, and the test fails instead of pytest dying. Then, once a
capped child has shown that the reader survives a far cell (else they fail unrun), Hypothesis
builds sparse sheets anywhere in the 16,384 x 1,048,576 grid, with and without `r`
attributes, and damaged XML, and checks the rows against a model. Reproduce with more:

    PEREZVON_FUZZ_EXAMPLES=500 pytest tests/fuzz/test_hostile_workbooks.py -q
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.imports.dto import column_letter
from exports.contacts_import import read_contacts
from tests.exports import hostile_files as hf
from tests.fuzz.budget import EXAMPLES, fuzzing

MEMORY_CAP = 1024 * 1024 * 1024  # address space of the child: far above the reader's need
SECONDS = 60
ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys
from core.errors import InvalidInput
from exports.contacts_import import read_contacts
data = open(sys.argv[1], "rb").read()
try:
    table = read_contacts(data, "book.xlsx")
except InvalidInput as exc:
    print(json.dumps({"refused": exc.message}))
else:
    print(json.dumps({"rows": [[r.row, list(r.cells)] for r in table.rows]}))
"""


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run_child(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        preexec_fn=_cap_memory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.fixture(scope="module")
def in_process_is_safe(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The guard for the in-process tests below: a reader that aborts the process on a far
    cell (SIGABRT, as python-calamine did) would take pytest down with it, so check in a
    capped child first, and fail instead of fuzzing in-process."""
    path = tmp_path_factory.mktemp("guard") / "far.xlsx"
    for build in (hf.far_xfd, hf.space_in_last_row):
        path.write_bytes(build())
        child = _run_child(path)
        if child.returncode != 0:
            pytest.fail(f"the reader dies on {build.__name__}: {child.stderr[-300:]}")


def _parse_in_a_child(path: Path) -> dict[str, Any]:
    started = time.monotonic()
    child = _run_child(path)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    result: dict[str, Any] = json.loads(child.stdout)
    result["seconds"] = time.monotonic() - started
    return result


@pytest.mark.parametrize("name", sorted(hf.HOSTILE))
def test_a_hostile_workbook_is_read_right_or_refused_never_a_crash(
    name: str, tmp_path: Path
) -> None:
    build, expected = hf.HOSTILE[name]
    path = tmp_path / "book.xlsx"
    path.write_bytes(build())
    result = _parse_in_a_child(path)
    if expected == "read":
        assert result.get("rows") == [[2, list(hf.CONTACT)]] or (
            name == "cells without r" and result.get("rows", [])[:1] == [[2, list(hf.CONTACT)]]
        ), result
    else:
        assert result.get("refused"), result
    assert result["seconds"] < SECONDS


def _read_or_refused_as_a_file(data: bytes) -> str | None:
    """Reads `data` as the contacts import does: a table, or a refusal about the file and no
    other error; returns the refusal's message, None when it was read."""
    refusal = None
    try:
        read_contacts(data, "book.xlsx")
    except InvalidInput as exc:
        refusal = exc
    if refusal is None:
        return None
    assert refusal.field == "file"
    return refusal.message


CELL_TEXT = st.one_of(
    st.sampled_from([" ", "  \t", "x", "Иван", "+7 916 111-22-33", "=1+1", "a<b&c"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
CELLS = st.dictionaries(
    st.tuples(st.integers(2, hf_max_row := 1_048_576), st.integers(0, 16_383)),
    st.one_of(CELL_TEXT, st.integers(-(10**9), 10**12)),
    max_size=25,
)
# Some cells near the header, so that rows with real values are common.
NEAR = st.dictionaries(
    st.tuples(st.integers(2, 40), st.integers(0, 5)), CELL_TEXT, min_size=1, max_size=20
)


def _model(header_width: int, cells: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """The rows a correct reader returns: cells within the header (a cell with no text is
    not in the XML), up to each row's last cell; rows with nothing but blanks left out."""
    by_row: dict[int, dict[int, str]] = {}
    for (number, column), value in cells.items():
        if column < header_width and str(value):
            by_row.setdefault(number, {})[column] = str(value).strip()
    rows = []
    for number in sorted(by_row):
        values = by_row[number]
        if any(values.values()):
            rows.append([number, [values.get(i, "") for i in range(max(values) + 1)]])
    return rows


def _sheet(header: list[str], cells: dict[tuple[int, int], Any], *, implied: bool) -> bytes:
    rows = [hf.row(1, [hf.inline(f"{column_letter(i)}1", h) for i, h in enumerate(header)])]
    by_row: dict[int, list[tuple[int, Any]]] = {}
    for (number, column), value in sorted(cells.items()):
        by_row.setdefault(number, []).append((column, value))
    for number, items in by_row.items():
        xml = []
        previous = -1
        for column, value in items:
            # Leave `r` out where the position follows from the previous cell (valid OOXML).
            reference = (
                None if implied and column == previous + 1 else f"{column_letter(column)}{number}"
            )
            previous = column
            if isinstance(value, int):
                xml.append(hf.number(reference, value))
            else:
                xml.append(hf.inline(reference, value))
        rows.append(hf.row(None if implied and number == 2 else number, xml))
    return hf.sheet_xml(rows, dimension="A1:XFD1048576")


@given(
    width=st.integers(1, 6),
    far=CELLS,
    near=NEAR,
    implied=st.booleans(),
)
@fuzzing(EXAMPLES * 5)
def test_sparse_sheets_anywhere_in_the_grid_read_as_the_model_says(
    in_process_is_safe: None,
    width: int,
    far: dict[tuple[int, int], Any],
    near: dict[tuple[int, int], Any],
    implied: bool,
) -> None:
    header = ["ФИО", "Телефон", "Компания", "Email", "Теги", "Комментарий"][:width]
    cells = {**far, **near}
    data = hf.workbook(_sheet(header, cells, implied=implied))
    started = time.monotonic()
    try:
        table = read_contacts(data, "book.xlsx")
    except InvalidInput as exc:
        # A value far in the grid is fine; only a cell over Excel's size may refuse a file.
        raise AssertionError(exc.message) from exc
    assert time.monotonic() - started < 5
    assert table.headers == header
    assert [[r.row, list(r.cells)] for r in table.rows] == _model(width, cells)


@given(
    cut=st.integers(0, 2000),
    junk=st.binary(max_size=40)
    | st.sampled_from(
        [
            b"<",
            b"&",
            b"<!DOCTYPE x>",
            b'<row r="0">',
            b'<c r="A0">',
            b"\x00",
            b'<?xml version="1.0" encoding="UTF-16"?>',
            b'<c r="C3" t="s"><v>99</v></c>',
            b'<c r="C3" s="999"><v>1e400</v></c>',
            b'<c r="C3" t="d"><v>not a date</v></c>',
            b"<c><v>nan</v></c>",
            b'<c r="C3" t="b"><v></v></c>',
        ]
    ),
)
@fuzzing(EXAMPLES * 5)
def test_damaged_sheet_xml_is_refused_or_read_never_an_unexpected_error(
    in_process_is_safe: None, cut: int, junk: bytes
) -> None:
    sheet = hf.sheet_xml([*hf.head_rows(), hf.row(3, [hf.number("A3", 1), hf.shared("B3", 0)])])
    at = min(cut, len(sheet))
    damaged = sheet[:at] + junk + sheet[at:]
    refusal = _read_or_refused_as_a_file(hf.workbook(damaged, strings=["x"]))
    assert refusal is None or "\n" not in refusal


@given(at=st.integers(0, 10_000), byte=st.integers(0, 255))
@fuzzing(EXAMPLES * 5)
def test_a_damaged_zip_is_refused_or_read_never_an_unexpected_error(
    in_process_is_safe: None, at: int, byte: int
) -> None:
    data = bytearray(hf.workbook(hf.sheet_xml(hf.head_rows()), strings=["x"]))
    data[at % len(data)] = byte
    _read_or_refused_as_a_file(bytes(data))
