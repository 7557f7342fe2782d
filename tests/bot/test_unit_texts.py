"""Locale files: every key the code uses exists in both languages; Russian plurals are right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fluent.syntax import FluentParser, ast

from bot.dispatcher import command_menus
from bot.i18n import LOCALE_DIR, LOCALES, pick_locale, texts
from bot.views.calls import PROMPT_OUTCOMES
from bot.views.contacts import EDITABLE_FIELDS
from core.models.users import ROLES
from core.models.work import ACTIVITY_KINDS
from core.services.calls import OUTCOMES

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
KEY = re.compile(r'\bt\(\s*"([a-z0-9_-]+)"')


def keys_of(locale: str) -> set[str]:
    parser = FluentParser()
    keys: set[str] = set()
    for path in (LOCALE_DIR / locale).glob("*.ftl"):
        resource = parser.parse(path.read_text(encoding="utf-8"))
        junk = [entry for entry in resource.body if isinstance(entry, ast.Junk)]
        assert not junk, f"{path}: {junk[0].content[:80]}"
        keys |= {e.id.name for e in resource.body if isinstance(e, ast.Message)}
    return keys


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in BOT_DIR.rglob("*.py"):
        found |= {
            k
            for k in KEY.findall(path.read_text(encoding="utf-8"))
            if not k.endswith("-") and k != "key"
        }
    found |= {f"role-{r}" for r in ROLES}
    found |= {f"status-{s}" for s in ("planned", "done", "canceled")}
    found |= {f"call-status-{s}" for s in ("ringing", "answered", "missed", "busy", "failed")}
    found |= {f"outcome-{o}" for o in OUTCOMES}
    found |= {f"field-{f}" for f in EDITABLE_FIELDS} | {f"ask-field-{f}" for f in EDITABLE_FIELDS}
    found |= {"kb-today", "kb-new-contact", "kb-my-deals", "lang-name", "ask-lost-reason"}
    return found


def test_both_languages_have_the_same_keys_and_every_used_key() -> None:
    ru, en = keys_of("ru"), keys_of("en")
    assert ru == en
    assert used_keys() - ru == set()
    assert set(PROMPT_OUTCOMES) <= set(OUTCOMES)
    assert ACTIVITY_KINDS


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "Найдено 1 контакт"),
        (2, "Найдено 2 контакта"),
        (4, "Найдено 4 контакта"),
        (5, "Найдено 5 контактов"),
        (11, "Найдено 11 контактов"),
        (12, "Найдено 12 контактов"),
        (21, "Найдено 21 контакт"),
        (22, "Найдено 22 контакта"),
        (25, "Найдено 25 контактов"),
        (111, "Найдено 111 контактов"),
        (1001, "Найдено 1\u00a0001 контакт"),
    ],
)
def test_russian_plurals(count: int, expected: str) -> None:
    assert texts("ru")("search-found", count=count, query="q", page=1).startswith(expected)


def test_english_plurals() -> None:
    en = texts("en")
    assert en("search-found", count=1, query="q", page=1).startswith("Found 1 contact for")
    assert en("search-found", count=3, query="q", page=1).startswith("Found 3 contacts for")
    assert en("missed-times", count=1) == "Called once"


def test_language_from_telegram_code_and_unknown_keys() -> None:
    assert pick_locale("en-US") == "en"
    assert pick_locale("ru") == "ru"
    assert pick_locale("de") == "ru"
    assert pick_locale(None, default="en") == "en"
    assert texts("de").locale == "ru"
    assert texts("ru")("no-such-key") == "no-such-key"


def test_command_menus_per_language_fit_telegram_rules() -> None:
    menus = command_menus()
    assert set(menus) == set(LOCALES)
    for commands in menus.values():
        assert [c.command for c in commands] == [c.command for c in menus["ru"]]
        for command in commands:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", command.command)
            assert 1 <= len(command.description) <= 256
    assert menus["ru"][0].description == "Дела на сегодня"
    assert menus["en"][0].description == "Today's tasks"
