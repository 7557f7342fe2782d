"""POST /api/v1/imports with hostile files, as an integration (or an attacker) sends them:
far-away cells read as the one real row, malformed sheets a 422 with the reason, a huge CSV
cell one rejected row, a file's formula header never a formula in rejected.xlsx."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import httpx
import pytest

from tests.exports import hostile_files as hf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module", autouse=True)
def reader_survives_far_cells(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The app runs in this process: a reader that aborts on a far cell would end pytest.
    reason = hf.reader_dies_on_far_cells(tmp_path_factory.mktemp("guard"))
    if reason is not None:
        pytest.fail(f"the reader dies on a far-away cell, so these tests cannot run: {reason}")


def _upload(data: bytes, name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, XLSX if name.endswith(".xlsx") else "text/csv")}


@pytest.mark.parametrize(
    "build", [hf.far_xfd, hf.far_z, hf.space_in_last_row, hf.huge_dimension, hf.many_sheets]
)
async def test_far_away_cells_and_declared_ranges_import_the_one_real_row(
    client: httpx.AsyncClient, build: Callable[[], bytes]
) -> None:
    response = await client.post("/imports", files=_upload(build(), "clients.xlsx"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["new"], body["rejected"]) == (1, 1, 0), body


async def test_a_malformed_sheet_is_a_422_naming_the_fault(client: httpx.AsyncClient) -> None:
    for data, reason in (
        (hf.rows_out_of_order(), "rows out of order or repeated"),
        (hf.billion_laughs(), "DOCTYPE"),
        (hf.long_string(100_000), "longer than 32,767 characters"),
    ):
        response = await client.post("/imports", files=_upload(data, "clients.xlsx"))
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "file"
        assert reason in response.json()["detail"]


async def test_a_10_mb_csv_cell_rejects_its_row_only(client: httpx.AsyncClient) -> None:
    data = ("ФИО;Телефон\nИван;+79161112233\nПётр;" + "9" * (10 * 1024 * 1024) + "\n").encode()
    response = await client.post("/imports", files=_upload(data, "clients.csv"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["new"], body["rejected"]) == (1, 1)
    problem = body["rejected_rows"][0]["problem"]
    assert problem.startswith("B3 (Телефон): the cell holds 10,485,760 characters")


async def test_utf16_without_a_bom_is_refused_in_one_line(client: httpx.AsyncClient) -> None:
    data = "ФИО\tТелефон\r\nИван\t+79161112233\r\n".encode("utf-16-le")
    response = await client.post("/imports", files=_upload(data, "clients.csv"))
    assert response.status_code == 422
    assert "save it as UTF-8 or Windows-1251" in response.json()["detail"]
    assert len(response.json()["detail"]) < 120
    with_bom = "\ufeffФИО\tТелефон\r\nИван\t+79161112233\r\n".encode("utf-16-le")
    response = await client.post("/imports", files=_upload(with_bom, "clients.txt"))
    assert response.status_code == 200, response.text
    assert response.json()["new"] == 1


async def test_rejected_xlsx_writes_no_formula_from_the_files_header_or_cells(
    client: httpx.AsyncClient,
) -> None:
    evil = '=HYPERLINK("http://evil.example","x")'
    data = f'ФИО;Телефон;Дата рождения;"{evil.replace(chr(34), chr(34) * 2)}"\n'
    data += f'Иван;+79161112233;31.02.1990;"{evil.replace(chr(34), chr(34) * 2)}"\n'
    response = await client.post("/imports/rejected.xlsx", files=_upload(data.encode(), "c.csv"))
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(archive.read(n).decode() for n in sheets)
    assert "HYPERLINK" in xml  # the header and the cell, as text
    assert "<f>" not in xml
