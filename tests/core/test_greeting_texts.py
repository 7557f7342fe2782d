"""Greeting texts for clients: both languages, every occasion, the same placeholders."""

from __future__ import annotations

import re
import string

import pytest

from core.greetings.texts import BIRTHDAY, DEFAULT_HOLIDAYS, TEXTS, greeting_text

OCCASIONS = {BIRTHDAY, "holiday", "holiday_untitled", *(code for _, code in DEFAULT_HOLIDAYS)}


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_both_languages_have_every_occasion_with_the_same_placeholders() -> None:
    assert set(TEXTS) == {"ru", "en"}
    assert set(TEXTS["ru"]) == set(TEXTS["en"]) == OCCASIONS
    for occasion in OCCASIONS:
        assert _fields(TEXTS["ru"][occasion]) == _fields(TEXTS["en"][occasion]), occasion
        assert "name" in _fields(TEXTS["ru"][occasion])


@pytest.mark.parametrize(("locale", "foreign"), [("ru", "[A-Za-z]"), ("en", "[А-Яа-яЁё]")])
def test_each_language_is_only_itself(locale: str, foreign: str) -> None:
    for occasion in OCCASIONS:
        text = greeting_text(locale, occasion, name="X", title="Y")
        assert not re.search(foreign, text.replace("X", "").replace("Y", "")), text
