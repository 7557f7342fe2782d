"""Core errors reach a user in their own words: by code, never the English detail (issue 21 §7).

Through the fake Bot API: a used invite (/start), a closed deal's stage button, an extension
that belongs to someone else (/team), each in Russian and English; and the generic fallback
for an error without a code.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.callbacks import DealCb
from bot.i18n import texts
from bot.middlewares import error_text
from core.activities import service as activities
from core.contacts import service as contacts
from core.context import Actor
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.users import service as users
from core.users.models import Invite
from tests.bot.conftest import Tg
from tests.bot.updates import answers, sent, texts_of

ADMIN, SELLER, NEWCOMER, LATECOMER = 7501, 7502, 7503, 7504
# Three Latin letters in a row: an English word (or a raw code) inside a Russian reply.
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def russian_only(text: str) -> bool:
    return LATIN_WORD.search(text) is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ru", "уже использовано"), ("en", "has been used already")],
)
async def test_a_used_invite_is_refused_in_the_users_language(
    tg: Tg, locale: str, expected: str
) -> None:
    admin = await tg.employee(ADMIN, role="admin", name="Анна")
    async with tg.db.ctx() as ctx:
        invite = await users.create_invite(ctx, actor=Actor.of_user(admin), role="sales")
        code = invite.code
    await tg.user(NEWCOMER).say(f"/start {code}")
    [reply] = texts_of(await tg.user(LATECOMER, language_code=locale).say(f"/start {code}"))
    assert expected in reply
    assert "invite code" not in reply and "Конфликт" not in reply
    if locale == "ru":
        assert russian_only(reply), reply
    async with tg.db.sessions() as session:
        stored = (await session.scalars(select(Invite))).one()
        assert stored.used_at is not None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ru", "Сделка уже закрыта"), ("en", "The deal is closed")],
)
async def test_a_closed_deals_stage_button_says_why_in_the_users_language(
    tg: Tg, locale: str, expected: str
) -> None:
    seller = await tg.employee(SELLER, name="Пётр", locale=locale)
    async with tg.db.ctx() as ctx:
        actor = Actor.of_user(seller)
        anna = await contacts.create_contact(ctx, actor=actor, name="Анна", phones=["+79161234567"])
        deal = await deals.create(
            ctx, actor=actor, title="Ремонт", contact_id=anna.id, stage="lost", lost_reason="Дорого"
        )
        deal_id = deal.id
    moved = await tg.user(SELLER).press(DealCb(action="stage", id=deal_id, stage="proposal").pack())
    [notice] = answers(moved)
    assert notice.startswith(expected)
    if locale == "ru":
        assert russian_only(notice), notice


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ru", "Номер 101 уже закреплён"), ("en", "Extension 101 belongs to someone else")],
)
async def test_an_extension_of_someone_else_is_refused_in_words_and_asked_again(
    tg: Tg, locale: str, expected: str
) -> None:
    await tg.employee(ADMIN, role="admin", name="Анна", locale=locale)
    await tg.employee(SELLER, name="Вера", extensions=("101",))
    await tg.employee(NEWCOMER, name="Лев")
    admin = tg.user(ADMIN)
    team = sent(await admin.say("/team"))[0]
    await admin.tap(team, "Лев")
    await admin.tap(team, texts(locale)("btn-extension"))
    [again] = texts_of(await admin.say("101"))
    assert expected in again
    assert "belongs to user" not in again
    if locale == "ru":
        assert russian_only(again.split("\n")[0]), again


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_an_error_without_a_code_never_shows_its_english_message(locale: str) -> None:
    t = texts(locale)
    secret = "internal detail xyz"
    for error in (
        Conflict(secret),
        InvalidInput(secret, field="no_such_field"),
        InvalidInput(secret),
        NotFound(secret),
        PermissionDenied(secret),
        InvalidInput(secret, code="no-such-code"),
    ):
        shown = error_text(t, error)
        assert secret not in shown and shown.strip()
        assert not shown.startswith(("err-", "error-"))
        if locale == "ru":
            assert russian_only(shown), shown


def test_a_coded_errors_parameters_are_escaped_for_html() -> None:
    error = Conflict("x", code="company-exists", args={"name": "<b>ООО</b>"})
    assert "&lt;b&gt;ООО&lt;/b&gt;" in error_text(texts("ru"), error)


@pytest.mark.parametrize(("locale", "expected"), [("ru", "Не найдено"), ("en", "Not found")])
async def test_planning_on_a_contact_one_may_not_see_says_not_found_not_its_id(
    tg: Tg, locale: str, expected: str
) -> None:
    owner = await tg.employee(SELLER)
    other = await tg.employee(NEWCOMER, name="Лев")
    async with tg.db.ctx() as ctx:
        anna = await contacts.create_contact(
            ctx, actor=Actor.of_user(owner), name="Анна", phones=["+79161234567"]
        )
        with pytest.raises(InvalidInput) as caught:
            await activities.plan(
                ctx, actor=Actor.of_user(other), title="Перезвонить", contact_id=anna.id
            )
    shown = error_text(texts(locale), caught.value)
    assert shown.startswith(expected)
    assert f"contact {anna.id}" not in shown


def test_a_buttons_notice_is_plain_text_so_parameters_stay_unescaped() -> None:
    error = Conflict("x", code="company-exists", args={"name": "Рога & Копыта"})
    assert "«Рога & Копыта»" in error_text(texts("ru"), error, html=False)
    assert "«Рога &amp; Копыта»" in error_text(texts("ru"), error)
