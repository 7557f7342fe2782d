"""Rendering outbox notifications: every kind, escaping, limits, and "nothing to send"."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import BotDeps
from bot.notifications import Rendered, render
from core.activities import service as activities
from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.greetings import service as greetings
from core.outbox.models import Notification
from core.users import service as users
from core.users.models import User
from tests.factories import make_user
from tests.fakes.clock import FakeClock

TG = 9401


@pytest.fixture
async def seller(ctx: Ctx) -> User:
    return await make_user(ctx, "Пётр", tg=TG)


@pytest.fixture
def deps(sessions: object, config: CoreConfig, clock: FakeClock) -> BotDeps:
    return BotDeps(sessions=sessions, config=config, clock=clock)  # type: ignore[arg-type]


def note(
    kind: str, payload: dict[str, object], user_id: int | None = None, chat_id: int | None = None
) -> Notification:
    return Notification(
        id=1, kind=kind, payload=payload, user_id=user_id, chat_id=chat_id, dedupe_key=kind
    )


async def make_contact(
    ctx: Ctx, owner: User, name: str = "Анна <VIP> & Co", phone: str = "+79161234567"
) -> Contact:
    return await contacts.create_contact(ctx, actor=Actor.of_user(owner), name=name, phones=[phone])


async def rendered(session: AsyncSession, deps: BotDeps, n: Notification) -> Rendered:
    result = await render(session, deps, n)
    assert result is not None
    return result


async def test_a_digest_is_a_document_with_an_escaped_caption(
    session: AsyncSession, deps: BotDeps, seller: User
) -> None:
    payload = {
        "filename": "digest-2026-11.xlsx",
        "content_b64": base64.b64encode(b"PK\x03\x04 workbook").decode(),
        "caption": "Итоги <ноября> " + "x" * 2000,
    }
    result = await rendered(session, deps, note("digest", payload, user_id=seller.id))
    assert (result.chat_id, result.document, result.filename) == (
        TG,
        b"PK\x03\x04 workbook",
        "digest-2026-11.xlsx",
    )
    assert result.text.startswith("Итоги &lt;ноября&gt;") and len(result.text) <= 1024
    bad = dict(payload, content_b64="not base64!!")
    assert await render(session, deps, note("report", bad, user_id=seller.id)) is None


async def test_a_greeting_goes_to_the_clients_chat_escaped_and_within_limits(
    session: AsyncSession, deps: BotDeps
) -> None:
    result = await rendered(
        session, deps, note("greeting", {"text": "С днём рождения, <Анна>!"}, chat_id=777)
    )
    assert (result.chat_id, result.text) == (777, "С днём рождения, &lt;Анна&gt;!")
    huge = await rendered(session, deps, note("greeting", {"text": "слово " * 2000}, chat_id=777))
    assert len(huge.text) <= 4096
    assert await render(session, deps, note("greeting", {"text": "  "}, chat_id=777)) is None


async def test_greet_today_lists_live_contacts_with_ready_texts(
    ctx: Ctx, session: AsyncSession, deps: BotDeps, seller: User
) -> None:
    anna = await make_contact(ctx, seller)
    gone = await make_contact(ctx, seller, "Удалённый", "+79160000000")
    await contacts.delete_contact(ctx, actor=Actor.of_user(seller), contact_id=gone.id)
    items = [
        {"contact_id": anna.id, "occasion": "birthday", "text": "Поздравляем <Анну>!"},
        {"contact_id": gone.id, "occasion": "birthday", "text": "—"},
    ]
    result = await rendered(session, deps, note("greet_today", {"items": items}, user_id=seller.id))
    assert "Анна &lt;VIP&gt; &amp; Co" in result.text and "Поздравляем &lt;Анну&gt;!" in result.text
    assert "Удалённый" not in result.text
    assert result.reply_markup is not None and len(result.reply_markup.inline_keyboard) == 1


async def test_nothing_is_rendered_for_a_gone_user_or_an_unknown_kind(
    ctx: Ctx, session: AsyncSession, deps: BotDeps, seller: User
) -> None:
    admin = await make_user(ctx, "A", "admin")
    activity = await activities.plan(
        ctx,
        actor=Actor.of_user(seller),
        title="Звонок",
        due_at=ctx.clock.now() + timedelta(hours=1),
    )
    reminder = note("reminder", {"activity_id": activity.id, "late": True}, user_id=seller.id)
    result = await rendered(session, deps, reminder)
    assert "Просрочено" in result.text and "Звонок" in result.text

    await users.deactivate(ctx, actor=Actor.of_user(admin), user_id=seller.id)
    assert await render(session, deps, reminder) is None
    assert await render(session, deps, note("reminder", {"activity_id": 1}, user_id=424242)) is None
    assert await render(session, deps, note("mystery", {}, chat_id=1)) is None
    assert await render(session, deps, note("post_call", {"call_id": 999}, chat_id=1)) is None


async def test_callback_overdue_and_escalation_say_what_happened(
    ctx: Ctx, session: AsyncSession, deps: BotDeps, seller: User
) -> None:
    manager = await make_user(ctx, "Мария", "manager", TG + 1)
    anna = await make_contact(ctx, seller)
    activity = await activities.plan(
        ctx,
        actor=Actor.of_user(seller),
        title="Перезвонить: Анна",
        kind="callback",
        due_at=ctx.clock.now() - timedelta(minutes=5),
        contact_id=anna.id,
    )
    overdue = await rendered(
        session, deps, note("callback_overdue", {"activity_id": activity.id}, user_id=seller.id)
    )
    assert overdue.text.startswith("⚠️ Перезвон просрочен!")
    escalation = await rendered(
        session,
        deps,
        note(
            "callback_escalation",
            {"activity_id": activity.id, "owner_id": seller.id},
            user_id=manager.id,
        ),
    )
    assert escalation.chat_id == TG + 1
    assert (
        "Пётр не перезвонил(а)" in escalation.text and 'href="tel:+79161234567"' in escalation.text
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", ["день рождения", "Новый год", "День знаний", "праздник"]),
        ("en", ["birthday", "New Year", "День знаний", "holiday"]),
    ],
)
async def test_greet_today_names_the_occasion_in_the_owners_language(
    ctx: Ctx, session: AsyncSession, deps: BotDeps, locale: str, expected: list[str]
) -> None:
    owner = await make_user(ctx, "Ольга", tg=TG, locale=locale)
    people = [await make_contact(ctx, owner, f"Клиент {n}", f"+7916000000{n}") for n in range(4)]
    occasions = [
        ("birthday", None),
        ("new_year", None),
        ("holiday_09-01", "День знаний"),
        ("holiday_10-05", None),
    ]
    items = [
        {"contact_id": c.id, "occasion": code, "title": title, "text": "—"}
        for c, (code, title) in zip(people, occasions, strict=True)
    ]
    result = await rendered(session, deps, note("greet_today", {"items": items}, user_id=owner.id))
    lines = [line for line in result.text.splitlines() if line.startswith("🎉")]
    assert [line.split(" · ", 1)[1] for line in lines] == expected
    assert "holiday_" not in result.text and "new_year" not in result.text


async def test_greetings_job_lists_are_rendered_with_localized_occasions(
    ctx: Ctx, session: AsyncSession, deps: BotDeps, seller: User, clock: FakeClock
) -> None:
    await contacts.create_contact(
        ctx,
        actor=Actor.of_user(seller),
        name="Анна",
        phones=["+79161234567"],
        birthday=date(1990, 9, 1),
        timezone="Europe/Moscow",
    )
    clock.set(datetime(2027, 9, 1, 8, 0, tzinfo=UTC))  # 11:00 in Moscow
    options = greetings.GreetingOptions(holidays=greetings.parse_holidays("09-01=День знаний"))
    assert await greetings.send_due(ctx, options=options) == 2
    lists = list(
        await session.scalars(select(Notification).where(Notification.kind == "greet_today"))
    )
    texts = [(await rendered(session, deps, n)).text for n in lists]
    joined = "\n".join(texts)
    assert "Анна</b> · день рождения" in joined and "Анна</b> · День знаний" in joined
    assert "birthday" not in joined and "holiday_" not in joined
