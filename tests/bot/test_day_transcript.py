"""A short working day of a Russian-speaking team, end to end through the fake Bot API
(issue 21 asks for "a short transcript of the fixed day").

Ольга is the admin, Мария the manager, Анна and Борис sell. A client of Анна's rings Борис's
extension: Борис sees the card, logs a note and «перезвонить через 30 минут» on it and Анна is
told. Анна plans a call («31.02 10:00» is asked again, «в понедельник утром» is read back with
its weekday), leaves a note dialog with «отмена», answers a missed-call task by a reply (a
note); Мария opens /team; Ольга, the only admin, cannot demote herself; at last Иван writes
to the company bot, his message reaches Анна and her reply reaches him.

Every step is collected as (who, what they sent, what the bot answered); with
PEREZVON_TRANSCRIPT naming a file the day is written there as Markdown
(docs/day-transcript.md is made so).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bot.callbacks import ContactCb
from core.context import Actor
from core.models import Activity, Call, Contact, Note, User
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import reply_to_relay, sending
from tests.bot.updates import answers, sent, texts_of
from tests.factories import make_contact
from tests.fakes.telegram_api import Call as ApiCall

ADMIN, MANAGER, ANNA, BORIS, CLIENT = 7501, 7502, 7503, 7504, 7601


def plain(text: str) -> str:
    """A bot message as a reader sees it: tags dropped, entities unescaped, one line."""
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


@dataclass
class Transcript:
    """What each person did and what the bot answered, in order."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def bot_said(self, made: list[ApiCall], chat: int | None = None) -> str:
        parts: list[str] = []
        for call in made:
            if call.status != 200 or (chat is not None and call.chat_id != chat):
                continue
            if call.method in ("sendMessage", "editMessageText") and call.text:
                parts.append(plain(call.text))
            elif call.method == "answerCallbackQuery" and call.params.get("text"):
                parts.append(f"(всплывает) {call.params['text']}")
        return " ⏎ ".join(parts) or "—"

    def add(self, who: str, did: str, made: list[ApiCall], chat: int | None = None) -> str:
        said = self.bot_said(made, chat)
        self.rows.append((who, did, said))
        return said

    def markdown(self) -> str:
        lines = [
            "# Один рабочий день (транскрипт)",
            "",
            "Сгенерировано тестом `tests/bot/test_day_transcript.py` "
            "(`PEREZVON_TRANSCRIPT=docs/day-transcript.md pytest "
            "tests/bot/test_day_transcript.py`): что каждый сделал и что ответил бот. "
            "Ольга — администратор, Мария — руководитель, Анна и Борис — продавцы, "
            "Иван Петров (Ромашка) — клиент Анны; "
            "время — четверг, 26 ноября 2026, 12:00 по Москве.",
            "",
            "| # | Кто | Что сделал | Что ответил бот |",
            "|---|-----|------------|-----------------|",
        ]
        for n, (who, did, said) in enumerate(self.rows, 1):
            cells = [c.replace("|", "\\|") for c in (who, did, said)]
            lines.append(f"| {n} | {cells[0]} | {cells[1]} | {cells[2]} |")
        return "\n".join(lines) + "\n"


def write_transcript(day: Transcript) -> None:
    """Write the day as Markdown to the file PEREZVON_TRANSCRIPT names (if it names one)."""
    target = os.environ.get("PEREZVON_TRANSCRIPT")
    if target:
        Path(target).write_text(day.markdown(), encoding="utf-8")


def to(made: list[ApiCall], chat: int) -> ApiCall:
    [message] = [c for c in sent(made) if c.chat_id == chat]
    return message


async def test_a_short_working_day_of_the_team(tg: Tg) -> None:
    assert tg.db.config.visibility == "own"
    await tg.employee(ADMIN, role="admin", name="Ольга")
    await tg.employee(MANAGER, role="manager", name="Мария")
    anna_user = await tg.employee(ANNA, name="Анна", extensions=("101",))
    boris_user = await tg.employee(BORIS, name="Борис", extensions=("102",))
    async with tg.db.ctx() as ctx:
        client = await make_contact(
            ctx, actor=Actor.of_user(anna_user), phones=["+79161234567"], company_name="Ромашка"
        )
    assert client.owner_id == anna_user.id
    admin, boss = tg.user(ADMIN), tg.user(MANAGER)
    anna, boris = tg.user(ANNA), tg.user(BORIS)
    day = Transcript()

    # 1. Анна's client rings Борис's extension: the card pops up at Борис's.
    await tg.pbx("d1", "ringing", direction="in", client_number="8 916 123-45-67", extension="102")
    pop = to(await tg.deliver(), BORIS)
    said = day.add("АТС", "звонок +7 916 123-45-67 на внутренний 102 (Борис)", [pop])
    assert "Входящий звонок" in said and "Иван Петров" in said and "Ромашка" in said

    # 2. Борис opens the card of a client who is not his.
    said = day.add("Борис", "жмёт «Карточка»", await boris.tap(pop, "Карточка"))
    assert "Иван Петров" in said

    # 3. The call ends: Борис, who took it, is asked for the outcome.
    await tg.pbx("d1", "answered", extension="102")
    tg.db.clock.advance(seconds=90)
    await tg.pbx("d1", "ended")
    prompt = to(await tg.deliver(), BORIS)
    said = day.add("АТС", "звонок завершён через 1:30", [prompt])
    assert "завершён (1:30)" in said

    # 4. Борис logs a note on Анна's client.
    day.add("Борис", "жмёт «Заметка»", await boris.tap(prompt, "Заметка"))
    made = await boris.say("Просит счёт на 10 штук")
    day.add("Борис", "«Просит счёт на 10 штук»", made)
    assert texts_of(made) == ["📝 Заметка добавлена."]

    # 5. … and the outcome «перезвонить через 30 минут»: the call-back is his.
    asked = await boris.tap(prompt, "Перезвонить")
    assert "Когда?" in day.add("Борис", "жмёт «Перезвонить»", asked)
    made = await boris.say("через 30 минут")
    assert "Запланировано" in day.add("Борис", "«через 30 минут»", made)
    async with tg.db.sessions() as session:
        call = (await session.scalars(select(Call))).one()
        note = (await session.scalars(select(Note))).one()
        planned = (await session.scalars(select(Activity))).one()
    assert call.outcome == "callback"
    assert (note.contact_id, note.author_id) == (client.id, boris_user.id)
    assert (planned.contact_id, planned.owner_id) == (client.id, boris_user.id)

    # 6. Анна, the owner, hears what Борис logged on her client.
    told = to(await tg.deliver(), ANNA)
    said = day.add("Анна", "(получает)", [told])
    assert "Иван Петров" in said and "Просит счёт на 10 штук" in said and "Борис" in said

    # 7. Анна plans a call on the card: a day not in the calendar is asked again.
    card = await anna.open_card(client.id)
    day.add("Анна", "открывает карточку «Иван Петров»", [card])
    day.add("Анна", "жмёт «⏰»", await anna.tap(card, "⏰"))
    made = await anna.say("31.02 10:00")
    day.add("Анна", "«31.02 10:00»", made)
    assert texts_of(made) == [
        "Даты «31.02» нет в календаре. Напишите, например: «25.12 14:30», "
        "«в понедельник утром», «завтра в 15»."
    ]

    # 8. «в понедельник утром» is read back with its weekday.
    made = await anna.say("в понедельник утром")
    said = day.add("Анна", "«в понедельник утром»", made)
    assert "Запланировано" in said and "пн, 30 ноября, 09:00" in said

    # 9. «отмена» ends a note dialog and saves nothing.
    day.add(
        "Анна",
        "жмёт «Заметка» на карточке",
        await anna.press(ContactCb(action="note", id=client.id).pack()),
    )
    made = await anna.say("отмена")
    day.add("Анна", "«отмена»", made)
    assert texts_of(made) == ["Отменено."]
    async with tg.db.sessions() as session:
        assert len(list(await session.scalars(select(Note)))) == 1

    # 10. A missed call at Анна's extension; her reply to the task is a note.
    tg.db.clock.advance(minutes=20)
    await tg.pbx("d2", "ringing", direction="in", client_number="+79161234567", extension="101")
    tg.db.clock.advance(seconds=20)
    await tg.pbx("d2", "ended", status="missed")
    delivered = await tg.deliver()
    task = next(
        c for c in sent(delivered) if c.chat_id == ANNA and "Перезвонить до" in (c.text or "")
    )
    said = day.add("АТС", "пропущенный звонок на внутренний 101 (Анна)", [task])
    assert "Пропущенный звонок" in said and "Перезвонить до" in said
    made = await anna.reply(task, "Перезвонить после обеда")
    day.add("Анна", "отвечает на задачу: «Перезвонить после обеда»", made)
    assert texts_of(made) == ["📝 Заметка добавлена."]
    async with tg.db.sessions() as session:
        notes = list(await session.scalars(select(Note).order_by(Note.id)))
    assert [(n.text, n.contact_id, n.author_id) for n in notes][1:] == [
        ("Перезвонить после обеда", client.id, anna_user.id)
    ]

    # 11. Мария, the manager, opens /team and sees each person's counts.
    made = await boss.say("/team")
    said = day.add("Мария", "/team", made)
    # Анна: Monday's call and the missed call's call-back; Борис: his call-back.
    assert "Анна · продавец · 101 / открыто 2 · просрочено 0 · сегодня 1" in said
    assert "Борис · продавец · 102 / открыто 1 · просрочено 0 · сегодня 1" in said

    # 12. Ольга, the only admin, tries to make herself a manager and is refused.
    team = sent(await admin.say("/team"))[0]
    day.add("Ольга", "/team", [team])
    day.add("Ольга", "жмёт «Ольга»", await admin.tap(team, "Ольга"))
    made = await admin.tap(team, "руководитель")
    said = day.add("Ольга", "жмёт «руководитель»", made)
    assert "не сможете менять роли" in (admin.current(team).text or "")
    made = await admin.tap(team, "Да, подтверждаю")
    said = day.add("Ольга", "жмёт «Да, подтверждаю»", made)
    assert any("единственный активный администратор" in a for a in answers(made))
    async with tg.db.sessions() as session:
        admins = list(await session.scalars(select(User).where(User.role == "admin")))
    assert [a.name for a in admins] == ["Ольга"]

    # 13. Иван writes to the company bot: it reaches Анна, his owner, who answers by reply.
    async with tg.db.sessions() as session:
        stored = await session.get(Contact, client.id)
        assert stored is not None
        stored.telegram_user_id = CLIENT
        await session.commit()
    ivan = tg.user(CLIENT, first_name="Иван")
    async with sending(tg.bot, tg.deps):
        before = len(tg.fake.calls)
        day.add(
            "Иван (клиент)",
            "«Счёт получил, когда доставка?»",
            await ivan.say("Счёт получил, когда доставка?"),
        )
        relayed = await tg.fake.wait_for(
            where=lambda c: c.chat_id == ANNA and tg.fake.calls.index(c) >= before
        )
        said = day.add("Анна", "(получает)", relayed)
        assert "Иван" in said and "когда доставка?" in said
        answer = await reply_to_relay(anna, tg.db, text="Завтра до 12:00")
        assert not sent(answer)  # an answer to the client, not a note
        copied = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == CLIENT)
        assert copied[0].params["from_chat_id"] == ANNA
        day.rows.append(("Анна", "отвечает на него: «Завтра до 12:00»", "— (ответ ушёл клиенту)"))
        day.rows.append(("Иван (клиент)", "(получает)", "Завтра до 12:00"))

    assert len(day.rows) >= 12
    write_transcript(day)
