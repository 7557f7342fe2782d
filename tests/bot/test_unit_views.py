"""View helpers: HTML-safe clipping, escaping, phone links, callback data within 64 bytes."""

from __future__ import annotations

import re

import pytest

from bot.callbacks import (
    ActivityCb,
    CallCb,
    ContactCb,
    DealCb,
    EditCb,
    NewContactCb,
    OwnerCb,
    PlanCb,
    SearchCb,
    TeamCb,
)
from bot.views.format import clip, esc, phone_link, pretty_phone

BIG = 2**63 - 1


@pytest.mark.parametrize(
    "text",
    [
        "<b>" + "x" * 5000 + "</b>",
        "<code>" + "&lt;" * 2000 + "</code>",
        "строка\n" * 1000,
        '<a href="tel:+7">' + "😀" * 5000 + "</a>",
        "<b>a</b><i>" + "й" * 6000,
    ],
)
def test_clip_keeps_html_valid_and_within_the_limit(text: str) -> None:
    clipped = clip(text)
    assert len(clipped) <= 4096
    assert clipped.endswith(("…", "</b>", "</code>", "</a>", "</i>"))
    opened = re.findall(r"<(b|i|code|a)\b", clipped)
    closed = re.findall(r"</(b|i|code|a)>", clipped)
    assert sorted(opened) == sorted(closed)
    assert not re.search(r"&[a-z]*…", clipped)


def test_short_text_is_untouched_and_user_data_is_escaped() -> None:
    assert clip("<b>ok</b>") == "<b>ok</b>"
    assert esc("<script>&") == "&lt;script&gt;&amp;"


def test_phone_links() -> None:
    assert pretty_phone("+79161234567") == "+7 916 123-45-67"
    assert phone_link("+79161234567") == '<a href="tel:+79161234567">+7 916 123-45-67</a>'
    assert pretty_phone("garbage") == "garbage"


def test_callback_data_fits_64_bytes_with_the_largest_ids() -> None:
    packed = [
        ContactCb(action="calls", id=BIG, page=BIG).pack(),
        SearchCb(page=BIG).pack(),
        NewContactCb(phone="999999999999999").pack(),
        EditCb(id=BIG, field="company").pack(),
        OwnerCb(id=BIG, user_id=BIG).pack(),
        ActivityCb(action="snooze", id=BIG, minutes=-1).pack(),
        PlanCb(minutes=-1).pack(),
        CallCb(action="out", id=BIG, outcome="wrong_number").pack(),
        DealCb(action="stage", id=BIG, stage="negotiation").pack(),
        TeamCb(action="role", user_id=BIG, role="manager").pack(),
    ]
    assert all(len(data.encode()) <= 64 for data in packed), packed


def test_search_results_say_when_the_count_is_capped() -> None:
    from bot.i18n import texts
    from bot.views.contacts import search_results
    from core.contacts.models import Contact

    contact = Contact(id=1, name="Анна", phones=[])
    screen = search_results(texts("ru"), "ан", [contact], 10_000, 0, None, capped=True)
    assert screen.text.startswith("Найдено больше 10\u00a0000 контактов по «ан»")
    exact = search_results(texts("ru"), "ан", [contact], 1, 0, None)
    assert exact.text.startswith("Найдено 1 контакт по «ан»")
