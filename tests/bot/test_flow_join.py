"""Joining by invite, and who the bot refuses."""

from __future__ import annotations

from sqlalchemy import select

from core.outbox.models import Notification
from core.users.models import Invite, User
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import sending, welcome_of
from tests.bot.updates import sent, texts_of

ADMIN_TG = 5001
NEW_TG = 5002


async def test_admin_invites_and_the_new_teammate_joins_once(tg: Tg) -> None:
    await tg.employee(ADMIN_TG, role="admin", name="Админ")
    admin = tg.user(ADMIN_TG)
    newcomer = tg.user(NEW_TG, first_name="Ольга", language_code="en")

    reply = texts_of(await admin.say("/invite sales"))[0]
    async with tg.db.sessions() as session:
        code = (await session.scalars(select(Invite.code))).one()
    assert f"https://t.me/perezvon_test_bot?start={code}" in reply
    assert f"/start {code}" in reply

    joined = sent(await newcomer.say(f"/start {code}"))
    assert "Welcome, Ольга" in (joined[0].text or "")
    assert joined[0].params["reply_markup"]["keyboard"][0][0]["text"] == "📅 Today"
    async with tg.db.sessions() as session:
        user = (await session.scalars(select(User).where(User.telegram_user_id == NEW_TG))).one()
    assert (user.role, user.locale, user.active) == ("sales", "en", True)

    again = texts_of(await tg.user(5003).say(f"/start {code}"))
    assert "already" in again[0] or "уже" in again[0]


async def test_a_stranger_is_a_client_and_finds_their_telegram_id_at_start(tg: Tg) -> None:
    stranger = tg.user(7777)

    # Anyone not on the team is a client (issue 17): welcomed once (by the outbox: the bot
    # does not answer itself), then heard silently.
    assert texts_of(await stranger.say("привет")) == []
    assert texts_of(await stranger.say("/today")) == []
    queued = await tg.db.rows(Notification, Notification.kind == "client_message")
    assert [n.chat_id for n in queued] == [7777]
    async with sending(tg.bot, tg.deps):
        assert "менеджер ответит" in ((await welcome_of(tg.fake, 7777)).text or "")
    reply = texts_of(await stranger.say("/start"))
    assert len(reply) == 1
    assert "7777" in reply[0]


async def test_the_very_first_user_is_told_how_the_first_admin_is_made(tg: Tg) -> None:
    # Nobody works here yet: there is no administrator to ask (issue 21 §10).
    first = texts_of(await tg.user(7001).say("/start"))
    assert len(first) == 1
    assert "perezvon users invite --role admin" in first[0]
    assert "<code>7001</code>" in first[0]
    assert "администратор" in first[0]
    english = texts_of(await tg.user(7002, language_code="en").say("/start"))
    assert "the first admin is made on the server" in english[0]
    assert "perezvon users invite --role admin" in english[0]

    # Once someone works here, a stranger's /start is the neutral client hello again.
    await tg.employee(ADMIN_TG, role="admin", name="Админ")
    later = texts_of(await tg.user(7003).say("/start"))
    assert len(later) == 1
    assert "perezvon users" not in later[0]
    assert "Напишите ваш вопрос" in later[0]  # the client welcome (issue 17)


async def test_an_invite_opened_by_a_teammate_says_it_changed_nothing(tg: Tg) -> None:
    # Issue 21 §1: a new admin invite opened by a demoted admin only said «С возвращением».
    await tg.employee(ADMIN_TG, role="admin", name="Админ")
    await tg.employee(NEW_TG, role="manager", name="Вера")
    await tg.user(ADMIN_TG).say("/invite admin")
    async with tg.db.sessions() as session:
        code = (await session.scalars(select(Invite.code))).one()

    reply = texts_of(await tg.user(NEW_TG).say(f"/start {code}"))
    assert len(reply) == 1
    assert "Вера, вы уже в команде (роль: руководитель)" in reply[0]
    assert "perezvon users set-role" in reply[0] and "/team" in reply[0]
    async with tg.db.sessions() as session:
        vera = (await session.scalars(select(User).where(User.telegram_user_id == NEW_TG))).one()
        invite = (await session.scalars(select(Invite))).one()
    assert vera.role == "manager"
    assert invite.used_at is None  # still good for the person it was meant for
    hello = texts_of(await tg.user(NEW_TG).say("/start"))
    assert hello == ["С возвращением, Вера! Напишите имя, компанию или телефон для поиска."]


async def test_a_wrong_invite_code_gets_a_friendly_answer(tg: Tg) -> None:
    reply = texts_of(await tg.user(7778).say("/start nosuchcode"))
    assert reply == ["Не найдено или уже недоступно."]


async def test_a_deactivated_teammate_is_refused_from_the_next_update(tg: Tg) -> None:
    await tg.employee(ADMIN_TG, role="admin", name="Админ")
    member = await tg.employee(6001, name="Лев", extensions=("101",))
    admin = tg.user(ADMIN_TG)
    leaver = tg.user(6001)
    assert "не зарегистрированы" not in texts_of(await leaver.say("/today"))[0]

    team = sent(await admin.say("/team"))[0]
    assert "Лев" in (team.text or "") and "101" in (team.text or "")
    person = sent(await admin.tap(team, "Лев"))
    assert not person  # edited in place
    await admin.tap(team, "Отключить")
    await admin.tap(team, "Да, подтверждаю")  # switching someone off asks first

    async with tg.db.sessions() as session:
        stored = await session.get(User, member.id)
        assert stored is not None and stored.active is False
    reply = texts_of(await leaver.say("/today"))
    assert len(reply) == 1 and "Доступ отключён" in reply[0] and "6001" in reply[0]


async def test_admin_maps_an_extension_and_changes_a_role(tg: Tg) -> None:
    await tg.employee(ADMIN_TG, role="admin", name="Админ")
    member = await tg.employee(6002, name="Вера")
    admin = tg.user(ADMIN_TG)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Вера")
    await admin.tap(team, "руководитель")
    await admin.tap(team, "Да, подтверждаю")  # a role change asks first
    await admin.tap(team, "Привязать номер")
    reply = texts_of(await admin.say("205 206"))
    assert "Номера привязаны: Вера" in reply[0]

    async with tg.db.sessions() as session:
        stored = await session.get(User, member.id)
        assert stored is not None
        await session.refresh(stored, ["extensions"])
        assert (stored.role, stored.extension_list) == ("manager", ["205", "206"])


async def test_sales_cannot_open_the_team_or_invite(tg: Tg) -> None:
    await tg.employee(6003)
    seller = tg.user(6003)
    assert texts_of(await seller.say("/team")) == ["Это действие вам недоступно."]
    assert texts_of(await seller.say("/invite admin")) == ["Это действие вам недоступно."]


async def test_group_chats_are_told_the_bot_works_in_private(tg: Tg) -> None:
    await tg.employee(6004)
    member = tg.user(6004)
    reply = texts_of(await member.say("Иванов", chat_type="group", chat_id=-100))
    assert reply == ["Я работаю только в личных сообщениях. Напишите мне в личку."]
