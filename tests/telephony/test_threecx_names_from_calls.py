"""A contact a call created is named by its number until an import names it (issue 15, #11).

The 3CX look-up never splits such a number into a first name ("+7") and a last name, and an
import with the `fill` policy replaces the number with the name the spreadsheet gives.
"""

from __future__ import annotations

import pytest

from core.context import Actor, Ctx
from core.models import Contact
from core.users import api_keys
from telephony_webhooks.providers.threecx import split_name
from tests.exports.files import HEADER_RU, csv_bytes
from tests.fakes.twilio_signer import threecx_journal, threecx_lookup
from tests.telephony.conftest import Pbx

CLIENT = "+79161234567"


async def _missed_call_from_a_stranger(pbx: Pbx) -> Contact:
    entry = {"CallType": "Missed", "Number": CLIENT, "Agent": "101"}
    entry |= {"CallStartTimeUTC": "20261126090000", "CallEndTimeUTC": "20261126090020"}
    await pbx.deliver([threecx_journal(entry)], "3cx")
    await pbx.process()
    (contact,) = await pbx.load(Contact)
    return contact


async def test_a_contact_named_by_a_call_is_looked_up_whole_then_renamed_by_an_import(
    pbx: Pbx, ctx: Ctx, system: Actor
) -> None:
    contact = await _missed_call_from_a_stranger(pbx)
    assert (contact.name, contact.source) == ("+7 916 123-45-67", "call")
    looked_up = (await pbx.send(threecx_lookup(CLIENT), "3cx")).json()
    assert (looked_up["firstName"], looked_up["lastName"]) == ("", "+7 916 123-45-67")

    _key, plain = await api_keys.create(ctx, actor=system, name="admin", role="admin")
    row = ["Петров Иван", "8 (916) 123-45-67", "", "ivan@example.com", "", "", "", ""]
    upload = {"file": ("clients.csv", csv_bytes(HEADER_RU, [row], delimiter=";", encoding="utf-8"))}
    response = await pbx.client.post(
        "/api/v1/imports",
        files=upload,
        data={"apply": "true", "policy": "fill"},
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["new"], response.json()["updated"]) == (0, 1)
    (renamed,) = await pbx.load(Contact)
    assert (renamed.id, renamed.name, renamed.email) == (
        contact.id,
        "Петров Иван",
        "ivan@example.com",
    )
    looked_up = (await pbx.send(threecx_lookup(CLIENT), "3cx")).json()
    assert (looked_up["firstName"], looked_up["lastName"]) == ("Петров", "Иван")


async def test_fill_keeps_a_real_name_and_a_number_that_is_not_the_contacts_own(
    pbx: Pbx, ctx: Ctx, system: Actor
) -> None:
    await _missed_call_from_a_stranger(pbx)
    _key, plain = await api_keys.create(ctx, actor=system, name="admin", role="admin")
    headers = {"Authorization": f"Bearer {plain}"}

    async def fill(name: str) -> None:
        row = [name, CLIENT, "", "", "", "", "", ""]
        data = csv_bytes(HEADER_RU, [row], delimiter=";", encoding="utf-8")
        response = await pbx.client.post(
            "/api/v1/imports",
            files={"file": ("c.csv", data)},
            data={"apply": "true", "policy": "fill"},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    await fill("Петров Иван")
    await fill("Сидоров Пётр")  # a real name is kept under `fill` (overwrite replaces it)
    (contact,) = await pbx.load(Contact)
    assert contact.name == "Петров Иван"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("+7 916 123-45-67", ("", "+7 916 123-45-67")),
        ("8 (916) 123-45-67", ("", "8 (916) 123-45-67")),
        ("  +1 202.555.0100 ", ("", "+1 202.555.0100")),
        ("Петров  Иван Ильич", ("Петров", "Иван Ильич")),
        ("Анна", ("Анна", "")),
        ("ООО 1 2", ("ООО", "1 2")),
        ("", ("", "")),
    ],
)
def test_the_lookup_splits_names_but_never_a_phone_number(
    name: str, expected: tuple[str, str]
) -> None:
    assert split_name(name) == expected
