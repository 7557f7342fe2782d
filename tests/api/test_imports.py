"""POST /api/v1/imports and the contacts export through the app, as an integration calls them."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from openpyxl import load_workbook

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.users.models import User
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes
from tests.factories import make_contact

RU_CSV = csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="cp1251")


@pytest.fixture(autouse=True)
async def anna(ctx: Ctx) -> User:
    """The owner the file names."""
    user = User(name="Anna", role="sales", created_at=ctx.clock.now())
    ctx.session.add(user)
    await ctx.session.commit()
    return user


def _upload(data: bytes, name: str = "clients.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, "text/csv")}


async def test_import_is_a_dry_run_unless_apply_is_given(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    dry = await client.post("/imports", files=_upload(RU_CSV))
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["new"], body["duplicate"], body["rejected"], body["applied"]) == (2, 1, 2, False)
    assert body["rejected_rows"][0]["row"] == 5
    assert "B5 (Телефон)" in body["rejected_rows"][0]["problem"]
    found = await contacts.search(ctx, actor=system, q="Иванов", limit=10, offset=0)
    assert found.total == 0
    applied = await client.post("/imports", files=_upload(RU_CSV), data={"apply": "true"})
    assert applied.json()["applied"] is True
    assert applied.json()["new"] == 2
    listed = await client.get("/contacts", params={"q": "Иванов"})
    assert listed.json()["total"] == 1


async def test_rejected_rows_come_back_as_a_workbook_naming_the_cells(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/imports/rejected.xlsx", files=_upload(RU_CSV))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Строка", "Ошибка", "ФИО")
    assert ws.title == "Отклонённые"
    assert [r[0] for r in rows[1:]] == [4, 5, 6]  # row 4 repeats row 2's phone: listed too
    assert rows[1][1] == "повтор строки 2 (тот же телефон или ID)"
    assert rows[3][2] == "Кузнецов"
    assert rows[3][3] == "+79160000001"  # the row as it was in the file
    assert rows[3][1] == (
        "D6 (Email): 'not-an-email' — не адрес электронной почты; "
        "F6 (Ответственный): нет активного сотрудника 'Nobody'"
    )


async def test_oversized_or_unreadable_upload_is_refused_with_a_reason(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    too_big = b"\xd0\xa4\xd0\x98\xd0\x9e;Phone\r\n" + b"x;1\r\n" * (5 * 1024 * 1024)
    response = await client.post("/imports", files=_upload(too_big))
    assert response.status_code == 422
    assert response.json()["field"] == "file"
    assert "the limit is 20 MB" in response.json()["detail"]
    wrong = await client.post("/imports", files=_upload(b"PK\x03\x04junk", "a.xlsx"))
    assert wrong.status_code == 422
    assert "not a readable .xlsx" in wrong.json()["detail"]


async def test_export_neutralises_formulas_in_csv_and_xlsx(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    await make_contact(
        ctx,
        '=HYPERLINK("http://evil")',
        actor=system,
        phones=["+79161112233"],
        company_name="@SUM(1)",
        tags=["-2+3"],
    )
    response = await client.get("/exports/contacts.csv", params={"locale": "en"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "Name", "Phones"]
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[1][2] == "\u2060+79161112233"  # a phone, marked as text, not a formula
    assert rows[1][3] == "'@SUM(1)"
    assert rows[0][4] == "Company ID" and rows[1][4].isdigit()
    assert rows[1][8] == "'-2+3"
    xlsx = await client.get("/exports/contacts.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    name = ws["B2"]
    assert name.value == '=HYPERLINK("http://evil")'
    assert name.data_type == "s"
    assert name.quotePrefix
    assert ws.freeze_panes == "A2"
    bad = await client.get("/exports/contacts.pdf")
    assert bad.status_code == 422


async def test_an_exported_csv_imports_back_as_duplicates_only(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/imports", files=_upload(RU_CSV), data={"apply": "true"})
    exported = await client.get("/exports/contacts.csv")
    again = await client.post("/imports", files=_upload(exported.content, "contacts.csv"))
    body = again.json()
    assert (body["new"], body["duplicate"], body["rejected"]) == (0, 2, 0), body
