"""Locale files: every key the code uses exists in both languages, every key is used; plurals.

The walk over the keys (issue 21, Tests):
1. Both languages have the same keys, and every file parses without junk.
2. Every key the code names exists: `t("key")` calls, and any string literal in bot/ or core/
   that equals a key (`t("a" if x else "b")`, a job's `caption_key`).
3. No key is unused: each is such a literal or belongs to a dynamic family below — keys
   the code builds as prefix + value (`t("role-" + role)`); each family lists its values
   from the domain's own constants, and its prefix must appear in bot/ code.
4. Every error code a core service raises (`code="..."`) has its `err-<code>` text.
"""

from __future__ import annotations

import ast as pyast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fluent.syntax import FluentParser, ast

from bot import client_chats
from bot.dispatcher import command_menus
from bot.i18n import LOCALE_DIR, LOCALES, pick_locale, texts
from bot.menus import MENUS
from bot.periods import REPORT_PERIODS
from bot.views.calls import PROMPT_OUTCOMES
from bot.views.contacts import EDITABLE_FIELDS
from bot.views.messages import MESSAGE_KINDS
from bot.views.reports import CHANGED_FIELDS
from core.activities.models import ACTIVITY_KINDS
from core.calls.service import OUTCOMES
from core.greetings.texts import BIRTHDAY, DEFAULT_HOLIDAYS
from core.imports.service import POLICIES
from core.reports.digests import PERIODS
from core.targets.service import METRICS
from core.users.models import ROLES

ROOT = Path(__file__).resolve().parents[2]
BOT_DIR = ROOT / "bot"
CORE_DIR = ROOT / "core"
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


def _trees(*roots: Path) -> Iterator[pyast.AST]:
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            yield pyast.parse(path.read_text(encoding="utf-8"), str(path))


def string_literals(*roots: Path) -> set[str]:
    """Every string constant (and f-string head) in the code under `roots`."""
    found: set[str] = set()
    for tree in _trees(*roots):
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def error_codes() -> set[str]:
    """The `code="..."` of every domain error raised in core."""
    codes: set[str] = set()
    for tree in _trees(CORE_DIR):
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, pyast.Constant):
                        codes.add(str(keyword.value.value))
    return codes


def invalid_fields() -> set[str]:
    """Fields of InvalidInput raised in core: the bot may explain each by `invalid-<field>`."""
    fields: set[str] = set()
    for tree in _trees(CORE_DIR):
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Call) and getattr(node.func, "id", None) == "InvalidInput":
                for keyword in node.keywords:
                    if keyword.arg == "field" and isinstance(keyword.value, pyast.Constant):
                        fields.add(str(keyword.value.value))
    return fields | {"phone"}  # phones[<i>] is folded into "phone" by the middleware


# Keys the code builds as prefix + value: (prefix, the values it may append).
DYNAMIC_FAMILIES: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("role-", ROLES),
    ("client-kind-", client_chats.KIND_LABELS),
    ("status-", ("planned", "done", "canceled")),
    ("call-status-", ("ringing", "answered", "missed", "busy", "failed")),
    ("outcome-", OUTCOMES),
    ("field-", tuple(EDITABLE_FIELDS)),
    ("ask-field-", tuple(EDITABLE_FIELDS)),
    ("weekday-", tuple(range(1, 8))),
    ("month-of-", tuple(range(1, 13))),
    ("deal-", ("won", "lost")),
    ("digest-", PERIODS),
    ("report-", REPORT_PERIODS),
    ("policy-", POLICIES),
    ("import-field-", CHANGED_FIELDS),
    ("occasion-", (BIRTHDAY, "holiday", *(code for _, code in DEFAULT_HOLIDAYS))),
    ("menu-", tuple({name for names in MENUS.values() for name in names})),
    ("menu-role-", tuple({name for names in MENUS.values() for name in names})),
    ("invalid-", tuple(invalid_fields())),
    ("err-", tuple(error_codes())),
    ("targets-", METRICS),
    ("targets-word-", METRICS),
    ("tl-channel-", ("bot", "business")),
    ("tl-kind-", MESSAGE_KINDS),
)


def family_keys() -> set[str]:
    return {f"{prefix}{value}" for prefix, values in DYNAMIC_FAMILIES for value in values}


def test_both_languages_have_the_same_keys_and_every_used_key() -> None:
    ru, en = keys_of("ru"), keys_of("en")
    assert ru == en
    assert used_keys() - ru == set()
    assert set(PROMPT_OUTCOMES) <= set(OUTCOMES)
    assert ACTIVITY_KINDS


def test_every_error_code_of_core_has_its_text_in_both_languages() -> None:
    codes = error_codes()
    assert {"invite-used", "deal-closed", "extension-taken", "phone-taken"} <= codes
    for code in codes:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code), code
    for locale in LOCALES:
        assert {f"err-{code}" for code in codes} - keys_of(locale) == set(), locale


def test_no_locale_key_is_unused() -> None:
    # app/ reads a key too: the callback task's title comes from the locale files there.
    literals = string_literals(BOT_DIR, CORE_DIR, ROOT / "app")
    unused = keys_of("ru") - literals - used_keys() - family_keys()
    assert unused == set(), "unused keys (or add a family to DYNAMIC_FAMILIES)"


def test_every_dynamic_family_is_built_somewhere_in_the_bot() -> None:
    literals = string_literals(BOT_DIR)
    for prefix, values in DYNAMIC_FAMILIES:
        assert prefix in literals, f"{prefix} is not built in bot/: drop the family"
        assert values, prefix


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
    assert en("missed-repeat", count=1, time="09:52") == "🔁 Missed 1 time, the last at 09:52"
    assert en("missed-repeat", count=2, time="09:52").startswith("🔁 Missed 2 times")
    ru = texts("ru")
    assert ru("missed-repeat", count=3, time="9:52").startswith("🔁 Пропущено 3 раза")


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
