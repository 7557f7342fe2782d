"""Monthly targets in the bot: a manager sets and reads them, a salesperson reads their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.runtime import BotOptions, BotRuntime
from core.users.models import User
from tests.bot.conftest import Tg
from tests.bot.updates import scope_key, texts_of
from tests.fakes.telegram_api import TOKEN

MANAGER_TG = 9401
SELLER_TG = 9402


@pytest.fixture
async def team(tg: Tg) -> dict[str, User]:
    made = {"maria": await tg.employee(MANAGER_TG, role="manager", name="Мария")}
    made["petr"] = await tg.employee(SELLER_TG)
    made["olga"] = await tg.employee(9403, name="Ольга")
    for telegram_id in (9404, 9405):
        made[f"ivan{telegram_id}"] = await tg.employee(telegram_id, name="Иван")
    return made


async def test_a_manager_sets_targets_by_name_or_id_and_reads_the_month(
    tg: Tg, team: dict[str, User]
) -> None:
    tg.db.clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    maria = tg.user(MANAGER_TG)
    assert texts_of(await maria.say("/targets"))[0].startswith("На 12.2026 целей нет.")
    reply = texts_of(await maria.say("/targets set 2026-12 пётр сумма=500000 звонки=300"))[0]
    assert reply.splitlines()[0] == "✅ Цели сохранены."
    assert "Пётр: сумма 500\u00a0000, исходящих звонков 300" in reply
    olga = team["olga"].id
    await maria.say(f"/targets set 12.2026 #{olga} deals_won=4 calls_out=0")
    listing = texts_of(await maria.say("/targets"))[0]
    assert listing.splitlines() == [
        "<b>План на 12.2026</b>",
        "Ольга: сделок 4",
        "Пётр: сумма 500\u00a0000, исходящих звонков 300",
    ]
    assert texts_of(await maria.say("/targets 2027-01"))[0].startswith("На 01.2027 целей нет.")


async def test_a_salesperson_reads_only_their_own_and_may_not_set(
    tg: Tg, team: dict[str, User]
) -> None:
    maria = tg.user(MANAGER_TG)
    await maria.say("/targets set 2026-12 Пётр звонки=300")
    await maria.say("/targets set 2026-12 Ольга звонки=200")
    petr = tg.user(SELLER_TG)
    assert texts_of(await petr.say("/targets 2026-12"))[0].splitlines() == [
        "<b>План на 12.2026</b>",
        "Пётр: исходящих звонков 300",
    ]
    refused = texts_of(await petr.say("/targets set 2026-12 Пётр звонки=3000"))[0]
    assert refused.startswith("Это для руководителей")


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/targets 2026-13", "Не могу прочитать месяц «2026-13». Пример: 2026-12."),
        (
            "/targets set 2026-12 Иван звонки=5",
            "Сотрудников с именем «Иван» несколько — напишите #ID.",
        ),
        ("/targets set 2026-12 Никто звонки=5", "Сотрудник не найден."),
        ("/targets set 2026-12 Пётр выручка=5", "Цели «выручка» нет. Есть: сумма, сделки, звонки."),
        (
            "/targets set 2026-12 Пётр сделки=2,5",
            "«2,5» — не цель: нужно число от 0 (0 убирает цель).",
        ),
    ],
)  # fmt: skip
async def test_mistakes_are_answered_naming_them(
    tg: Tg, team: dict[str, User], command: str, reply: str
) -> None:
    maria = tg.user(MANAGER_TG)
    assert texts_of(await maria.say(command)) == [reply]


async def test_a_set_without_figures_shows_how(tg: Tg, team: dict[str, User]) -> None:
    maria = tg.user(MANAGER_TG)
    for command in (
        "/targets set 2026-12 Пётр",
        "/targets set 2026-12 Пётр звонки",
        "/targets a b",
    ):
        assert texts_of(await maria.say(command))[0].startswith("План на месяц: /targets")


async def test_targets_are_in_the_menus_and_help_of_managers_and_salespeople(
    tg: Tg, team: dict[str, User]
) -> None:
    await tg.employee(9400, role="admin", name="Анна")
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=tg.fake.url), tg.deps, bot=tg.bot)
    await runtime.set_commands()
    menus = {
        (scope_key(c.params.get("scope")), c.params.get("language_code")): {
            item["command"]: item["description"] for item in c.params["commands"]
        }
        for c in tg.fake.sent("setMyCommands")
    }
    for chat in (MANAGER_TG, SELLER_TG, 9400):
        assert menus[(str(chat), None)]["targets"] == "План продаж на месяц", chat
    assert menus[("all_private_chats", "en")]["targets"] == "Monthly sales targets"

    seller_help = texts_of(await tg.user(SELLER_TG).say("/help"))[0]
    assert "/targets — мой план на месяц." in seller_help
    assert "/targets set" not in seller_help
    manager_help = texts_of(await tg.user(MANAGER_TG).say("/help"))[0]
    assert "/targets — планы команды на месяц" in manager_help
    assert "/targets set 2026-12 #ID сумма=500000" in manager_help
