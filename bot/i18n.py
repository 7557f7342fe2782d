"""Bot texts from Fluent files (bot/locales/<lang>/bot.ftl) with CLDR plural rules."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource

LOCALES = ("ru", "en")
LOCALE_DIR = Path(__file__).parent / "locales"
log = logging.getLogger(__name__)


class Texts:
    """One language's texts: `t("key", name=...)` formats a message."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._bundle = FluentBundle([locale], use_isolating=False)
        for path in sorted((LOCALE_DIR / locale).glob("*.ftl")):
            self._bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))

    def has(self, key: str) -> bool:
        return self._bundle.has_message(key)

    def __call__(self, key: str, **args: Any) -> str:
        if not self._bundle.has_message(key):
            log.warning("missing text %s in %s", key, self.locale)
            return key
        message = self._bundle.get_message(key)
        if message.value is None:
            return key
        text, errors = self._bundle.format_pattern(message.value, args)
        if errors:
            log.warning("text %s in %s: %s", key, self.locale, errors)
        return str(text)


@functools.cache
def texts(locale: str) -> Texts:
    """The texts of a supported language (Russian for anything else)."""
    return Texts(locale if locale in LOCALES else "ru")


def pick_locale(language_code: str | None, default: str = "ru") -> str:
    """A supported language from Telegram's `language_code` ("en-US" -> "en")."""
    code = (language_code or "").split("-")[0].lower()
    return code if code in LOCALES else default
