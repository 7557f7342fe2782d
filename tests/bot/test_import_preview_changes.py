"""The bot's import preview names, briefly, which contacts would change and how."""

from __future__ import annotations

from bot.i18n import texts
from bot.views.reports import import_notice


def test_the_preview_lists_the_changed_fields_of_the_first_contacts() -> None:
    payload = {
        "filename": "contacts.xlsx",
        "policy": "overwrite",
        "job_id": 7,
        "total": 6,
        "new": 0,
        "updated": 2,
        "duplicate": 0,
        "rejected": 0,
        "unchanged": 4,
        "changes": [[2, 11, ["name", "timezone"]], [5, 14, ["phones"]]],
    }
    screen = import_notice(texts("ru"), "import_preview", payload)
    assert screen is not None
    assert "Без изменений (всё уже так): 4" in screen.text
    assert "• строка 2, контакт #11: ФИО, часовой пояс" in screen.text
    assert "• строка 5, контакт #14: телефоны" in screen.text
    english = import_notice(texts("en"), "import_preview", payload)
    assert english is not None and "• row 5, contact #14: phones" in english.text
