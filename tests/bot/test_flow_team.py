"""/team end to end (issue 21 §1, §8, §10): the last admin cannot lock the team out; role
changes and switching off ask and can be undone; a manager checks on each person; the
escalation carries the manager's own buttons; hand-overs and joins are told; /invite reads
role names as people type them and says until when it works; menus and /help per role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.callbacks import OwnerCb, TeamCb
from bot.runtime import BotOptions, BotRuntime
from core.activities import reminders
from core.activities import service as activities
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.models import Activity, Contact, User
from tests.bot.conftest import Tg
from tests.bot.updates import TgUser, answers, buttons, scope_key, sent, texts_of
from tests.conftest import Db
from tests.fakes.telegram_api import TOKEN, Call, FakeTelegram

ADMIN, MANAGER, SELLER, OTHER = 7100, 7200, 7300, 7400
CONFIRM = {"ru": "Да, подтверждаю", "en": "Yes, confirm"}


def to(fake: FakeTelegram, chat_id: int) -> list[Call]:
    return fake.sent("sendMessage", chat_id=chat_id)


def captions(call: Call, person: TgUser) -> list[str]:
    return [b["text"] for b in buttons(person.current(call).params.get("reply_markup"))]


async def stored(db: Db, model: Any, key: int) -> Any:
    async with db.sessions() as session:
        return await session.get(model, key)


@pytest.mark.parametrize(
    ("locale", "role", "consequence", "refusal"),
    [
        ("ru", "руководитель", "не сможете менять роли", "единственный активный администратор"),
        ("en", "manager", "can no longer change roles", "the only active admin"),
    ],
)
async def test_the_only_admin_cannot_demote_themselves_and_reads_why(
    tg: Tg, locale: str, role: str, consequence: str, refusal: str
) -> None:
    me = await tg.employee(ADMIN, role="admin", name="Анна", locale=locale)
    admin = tg.user(ADMIN, language_code=locale)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Анна")
    await admin.tap(team, role)
    asked = admin.current(team).text or ""
    assert consequence in asked
    assert (await stored(tg.db, User, me.id)).role == "admin"  # only asked so far

    calls = await admin.tap(team, CONFIRM[locale])
    assert refusal in (admin.current(team).text or "")
    assert any(refusal in text for text in answers(calls))
    assert (await stored(tg.db, User, me.id)).role == "admin"
    assert "Анна" in (sent(await admin.say("/team"))[0].text or "")  # still an admin


async def test_a_role_change_asks_first_can_be_undone_and_gives_the_role_menu(tg: Tg) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна")
    vera = await tg.employee(SELLER, name="Вера")
    admin = tg.user(ADMIN)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Вера")
    await admin.tap(team, "руководитель")
    assert "Сменить роль? Вера: продавец → руководитель" in (admin.current(team).text or "")
    assert (await stored(tg.db, User, vera.id)).role == "sales"

    calls = await admin.tap(team, "Да, подтверждаю")
    assert (await stored(tg.db, User, vera.id)).role == "manager"
    assert "Роль изменена: Вера — продавец → руководитель" in (admin.current(team).text or "")
    [menu] = [c for c in calls if c.method == "setMyCommands"]
    assert scope_key(menu.params.get("scope")) == str(SELLER)
    assert "team" in {item["command"] for item in menu.params["commands"]}

    await admin.tap(team, "Вернуть как было")
    await admin.tap(team, "Да, подтверждаю")
    assert (await stored(tg.db, User, vera.id)).role == "sales"


async def test_a_switched_off_person_stays_listed_and_can_be_switched_on_again(tg: Tg) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна")
    lev = await tg.employee(SELLER, name="Лев")
    admin, leaver = tg.user(ADMIN), tg.user(SELLER)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Лев")
    await admin.tap(team, "Отключить")
    assert "Отключить доступ: Лев?" in (admin.current(team).text or "")
    assert (await stored(tg.db, User, lev.id)).active is True
    await admin.tap(team, "Да, подтверждаю")
    assert (await stored(tg.db, User, lev.id)).active is False
    assert "Доступ отключён" in texts_of(await leaver.say("/today"))[0]

    team = sent(await admin.say("/team"))[0]
    assert "Лев ⛔" in captions(team, admin)
    await admin.tap(team, "Лев")
    await admin.tap(team, "Включить")
    await admin.tap(team, "Да, подтверждаю")
    assert (await stored(tg.db, User, lev.id)).active is True
    assert "Доступ отключён" not in texts_of(await leaver.say("/today"))[0]


async def _seller_with_work(tg: Tg) -> tuple[User, Contact]:
    seller = await tg.employee(SELLER, name="Олег")
    async with tg.db.ctx() as ctx:
        me = Actor.of_user(seller)
        client = await contacts.create_contact(
            ctx, actor=me, name="Фёдорова Ирина", phones=["+79161234567"]
        )
        now = tg.db.clock.now()
        for title, due in (
            ("Позвонить вчерашнему", now - timedelta(days=1)),
            ("Отправить КП", now + timedelta(hours=2)),
            ("Встреча", now + timedelta(days=3)),
        ):
            await activities.plan(ctx, actor=me, title=title, due_at=due, contact_id=client.id)
        await deals.create(ctx, actor=me, title="Поставка труб", contact_id=client.id)
    return seller, client


@pytest.mark.parametrize(
    ("locale", "counts", "contacts_word", "deals_word"),
    [
        ("ru", "открыто 3 · просрочено 1 · сегодня 1", "Контакты", "Сделки"),
        ("en", "open 3 · overdue 1 · today 1", "Contacts", "Deals"),
    ],
)
async def test_a_manager_sees_each_persons_work_and_opens_their_contacts_tasks_and_deals(
    tg: Tg, locale: str, counts: str, contacts_word: str, deals_word: str
) -> None:
    await tg.employee(MANAGER, role="manager", name="Мария", locale=locale)
    await _seller_with_work(tg)
    boss = tg.user(MANAGER, language_code=locale)
    team = sent(await boss.say("/team"))[0]
    assert counts in (team.text or "")
    await boss.tap(team, "Олег")
    offered = captions(team, boss)
    assert not any(word in " ".join(offered) for word in ("продавец", "sales", "⛔"))
    listed = sent(await boss.tap(team, contacts_word))
    assert "Фёдорова Ирина" in str(listed[0].params.get("reply_markup"))
    tasks = sent(await boss.tap(team, "📋"))[0].text or ""
    assert "Позвонить вчерашнему" in tasks and "Отправить КП" in tasks and "Встреча" in tasks
    their_deals = sent(await boss.tap(team, deals_word))
    assert "Поставка труб" in str(their_deals[0].params.get("reply_markup"))


async def test_only_an_admin_changes_roles_even_with_a_forged_button(tg: Tg) -> None:
    await tg.employee(MANAGER, role="manager", name="Мария")
    seller = await tg.employee(SELLER, name="Олег")
    boss = tg.user(MANAGER)
    asked = answers(await boss.press(TeamCb(action="role", user_id=seller.id, role="admin").pack()))
    assert asked == ["Роли, номера и доступ сотрудников меняет только администратор."]
    forced = answers(
        await boss.press(TeamCb(action="setrole", user_id=seller.id, role="admin").pack())
    )
    assert forced == ["Это действие вам недоступно."]
    assert answers(await boss.press(TeamCb(action="setoff", user_id=seller.id).pack())) == [
        "Это действие вам недоступно."
    ]
    again = await stored(tg.db, User, seller.id)
    assert (again.role, again.active) == ("sales", True)


async def test_sales_people_cannot_open_the_team(tg: Tg) -> None:
    await tg.employee(SELLER, name="Олег")
    seller = tg.user(SELLER)
    assert texts_of(await seller.say("/team")) == ["Это действие вам недоступно."]


async def test_the_escalation_has_the_managers_buttons_not_the_salespersons_snooze(tg: Tg) -> None:
    await tg.employee(MANAGER, role="manager", name="Мария")
    nina = await tg.employee(OTHER, name="Нина")
    seller, client = await _seller_with_work(tg)
    async with tg.db.ctx() as ctx:
        task = await activities.plan(
            ctx,
            actor=Actor.of_user(seller),
            title="Перезвонить: Фёдорова",
            kind="callback",
            due_at=tg.db.clock.now() - timedelta(hours=1),
            contact_id=client.id,
        )
        await reminders.escalate_overdue_callbacks(ctx)
    await tg.deliver()
    [escalation] = to(tg.fake, MANAGER)
    assert "Олег не перезвонил(а) клиенту вовремя" in (escalation.text or "")
    boss = tg.user(MANAGER)
    offered = captions(escalation, boss)
    assert "🔔 Напомнить продавцу" in offered and not any("15" in c for c in offered)

    notice = answers(await boss.tap(escalation, "Напомнить продавцу"))
    assert notice == ["Напоминание отправлено: Олег."]
    await tg.deliver()
    nudge = to(tg.fake, SELLER)[-1]
    assert "Руководитель просит перезвонить клиенту сейчас. Кто просит: Мария." in (
        nudge.text or ""
    )
    assert (await stored(tg.db, Activity, task.id)).owner_id == seller.id

    picked = sent(await boss.tap(escalation, "Передать другому"))[0]
    await boss.tap(picked, "Нина")
    assert (await stored(tg.db, Activity, task.id)).owner_id == nina.id
    await tg.deliver()
    assert "Вам передан перезвон клиенту. Кто передал: Мария." in (
        to(tg.fake, OTHER)[-1].text or ""
    )
    assert "Перезвон передан другому сотруднику: Нина." in (to(tg.fake, SELLER)[-1].text or "")

    await boss.tap(escalation, "Взять себе")
    taken = await stored(tg.db, Activity, task.id)
    assert taken.owner_id != nina.id and taken.owner_id is not None
    assert "15" in " ".join(captions(escalation, boss))  # now the manager's own reminder


@pytest.mark.parametrize(
    ("locale", "to_new", "to_old"),
    [
        ("ru", "Теперь это ваш клиент: Фёдорова Ирина. Кто передал: Мария.", "передан"),
        ("en", "Фёдорова Ирина is your client now. Handed over by Мария.", "handed over to"),
    ],
)
async def test_handing_a_contact_over_tells_the_old_and_the_new_owner(
    tg: Tg, locale: str, to_new: str, to_old: str
) -> None:
    await tg.employee(MANAGER, role="manager", name="Мария")
    nina = await tg.employee(OTHER, name="Нина", locale=locale)
    seller, client = await _seller_with_work(tg)
    async with tg.db.ctx() as ctx:
        await contacts_locale(ctx, seller.id, locale)
    boss = tg.user(MANAGER)
    await boss.press(OwnerCb(id=client.id, user_id=nina.id).pack())
    await tg.deliver()
    assert to_new in (to(tg.fake, OTHER)[-1].text or "")
    told_old = to(tg.fake, SELLER)[-1].text or ""
    assert to_old in told_old and "Нина" in told_old
    assert to(tg.fake, MANAGER) == [] or all(
        "Теперь это ваш" not in (c.text or "") for c in to(tg.fake, MANAGER)
    )


async def contacts_locale(ctx: Ctx, user_id: int, locale: str) -> None:
    user = await ctx.session.get(User, user_id)
    assert user is not None
    user.locale = locale
    await ctx.session.commit()


@pytest.mark.parametrize(
    ("locale", "command", "made", "joined"),
    [
        (
            "ru",
            "/invite продавец",
            "действует до вс, 29 ноября, 12:00",
            "В команде новый человек: Лев, роль: продавец.",
        ),
        ("en", "/invite manager", "valid until", "New on the team: Лев, role: manager."),
    ],
)
async def test_an_invite_by_role_name_says_until_when_and_admins_are_told_who_joined(
    tg: Tg, locale: str, command: str, made: str, joined: str
) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна", locale=locale)
    admin = tg.user(ADMIN, language_code=locale)
    invite = texts_of(await admin.say(command))[0]
    assert made in invite and "ограниченное" not in invite and "limited" not in invite
    code = invite.split("/start ")[1].split("<")[0].strip()
    newcomer = tg.user(SELLER, first_name="Лев", language_code=locale)
    await newcomer.say(f"/start {code}")
    await tg.deliver()
    assert joined in (to(tg.fake, ADMIN)[-1].text or "")


@pytest.mark.parametrize(
    ("locale", "listed"),
    [("ru", "продавец (sales), руководитель (manager), администратор (admin)"), ("en", "sales")],
)
async def test_an_unknown_role_name_gets_the_valid_ones(tg: Tg, locale: str, listed: str) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна", locale=locale)
    admin = tg.user(ADMIN, language_code=locale)
    [reply] = texts_of(await admin.say("/invite начальник"))
    assert "начальник" in reply and listed in reply


async def test_menus_and_help_follow_the_role(tg: Tg) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна")
    await tg.employee(SELLER, name="Олег")
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=tg.fake.url), tg.deps, bot=tg.bot)
    await runtime.set_commands()
    menus = {
        scope_key(c.params.get("scope")): {item["command"] for item in c.params["commands"]}
        for c in tg.fake.sent("setMyCommands")
    }
    managing = {"team", "invite", "report", "digest"}
    assert not managing & menus[str(SELLER)]
    assert managing <= menus[str(ADMIN)]
    assert not managing & menus["all_private_chats"]

    seller_help = texts_of(await tg.user(SELLER).say("/help"))[0]
    admin_help = texts_of(await tg.user(ADMIN).say("/help"))[0]
    assert "/report" not in seller_help and "/team" not in seller_help
    assert "/team" in admin_help and "/invite" in admin_help and "/report" in admin_help


async def test_a_wrong_extension_is_asked_again_and_the_next_try_maps_it(tg: Tg) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна")
    vera = await tg.employee(SELLER, name="Вера")
    admin = tg.user(ADMIN)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Вера")
    [prompt] = sent(await admin.tap(team, "Привязать номер"))
    assert "Отмена" in " ".join(captions(prompt, admin))
    [again] = texts_of(await admin.say("10 1!"))
    assert "Пришлите внутренний номер" in again
    assert "Номера привязаны: Вера" in texts_of(await admin.say("205"))[0]
    async with tg.db.sessions() as session:
        stored_vera = await session.get(User, vera.id)
        assert stored_vera is not None
        await session.refresh(stored_vera, ["extensions"])
        assert stored_vera.extension_list == ["205"]


async def test_with_a_second_admin_one_may_step_down_after_reading_what_they_lose(tg: Tg) -> None:
    anna = await tg.employee(ADMIN, role="admin", name="Анна")
    await tg.employee(OTHER, role="admin", name="Борис")
    admin = tg.user(ADMIN)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Анна")
    await admin.tap(team, "руководитель")
    assert "Вы меняете свою роль: администратор → руководитель" in (admin.current(team).text or "")
    calls = await admin.tap(team, "Да, подтверждаю")
    assert (await stored(tg.db, User, anna.id)).role == "manager"
    assert captions(team, admin) == []  # no admin buttons left for a manager
    [menu] = [c for c in calls if c.method == "setMyCommands"]
    names = {item["command"] for item in menu.params["commands"]}
    assert "team" in names and "invite" not in names
    assert "Анна" in (sent(await admin.say("/team"))[0].text or "")  # managers still see /team
