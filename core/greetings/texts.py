"""Ready greeting texts for clients, by locale and occasion (a salesperson may edit them).

Why here and not in bot/locales: these are words to clients, not the team's interface.
1. core.greetings.service composes them when the scheduler runs (no bot, no Fluent: core
   may not import the bot) and stores the finished text in the outbox row or in the draft
   the owner edits, so the text is data by the time any adapter sees it.
2. Both languages carry the same occasions with the same placeholders ({name}, {title});
   tests/core/test_greeting_texts.py checks it, and tests/bot/test_unit_literals.py allows
   this file's Cyrillic by name for this reason.
"""

from __future__ import annotations

BIRTHDAY = "birthday"

# The Russian default calendar: (MM-DD, occasion code).
DEFAULT_HOLIDAYS: tuple[tuple[str, str], ...] = (
    ("01-01", "new_year"),
    ("02-23", "defender_day"),
    ("03-08", "womens_day"),
    ("05-01", "spring_labour_day"),
    ("05-09", "victory_day"),
    ("06-12", "russia_day"),
    ("11-04", "unity_day"),
)

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        BIRTHDAY: "{name}, с днём рождения! Желаем здоровья, удачи и отличного настроения.",
        "new_year": "{name}, с Новым годом! Спасибо, что вы с нами, — удачи в новом году.",
        "defender_day": "{name}, с Днём защитника Отечества!",
        "womens_day": "{name}, с 8 Марта! Желаем весеннего настроения.",
        "spring_labour_day": "{name}, с праздником Весны и Труда!",
        "victory_day": "{name}, с Днём Победы!",
        "russia_day": "{name}, с Днём России!",
        "unity_day": "{name}, с Днём народного единства!",
        "holiday": "{name}, поздравляем с праздником: {title}!",
        "holiday_untitled": "{name}, поздравляем с праздником!",
    },
    "en": {
        BIRTHDAY: "Happy birthday, {name}! Wishing you health, luck and a great day.",
        "new_year": "Happy New Year, {name}! Thank you for being with us.",
        "defender_day": "{name}, happy Defender of the Fatherland Day!",
        "womens_day": "{name}, happy International Women's Day!",
        "spring_labour_day": "{name}, happy Spring and Labour Day!",
        "victory_day": "{name}, happy Victory Day!",
        "russia_day": "{name}, happy Russia Day!",
        "unity_day": "{name}, happy Unity Day!",
        "holiday": "{name}, happy {title}!",
        "holiday_untitled": "{name}, happy holidays!",
    },
}


def greeting_text(locale: str, occasion: str, *, name: str, title: str | None = None) -> str:
    """The ready text for a client; unknown occasions get the generic holiday text."""
    texts = TEXTS.get(locale, TEXTS["ru"])
    if occasion in texts:
        return texts[occasion].format(name=name, title=title or "")
    if title:
        return texts["holiday"].format(name=name, title=title)
    return texts["holiday_untitled"].format(name=name)
