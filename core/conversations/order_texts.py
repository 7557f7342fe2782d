"""Words to clients about their orders, by locale (core composes them; the bot only sends).

Why here and not in bot/locales: like core/greetings/texts.py, these are words to
clients that core stores as finished text in the chat message and the outbox row, so the
text is data (and on the contact's timeline) before any adapter sees it. Both languages
carry the same keys and placeholders; tests/core/test_orders_core.py checks it.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "status_changed": "Заказ «{title}»: {status}.",
        "status_changed_amount": "Заказ «{title}» на {amount}: {status}.",
    },
    "en": {
        "status_changed": "Order “{title}”: {status}.",
        "status_changed_amount": "Order “{title}” for {amount}: {status}.",
    },
}


def text(locale: str | None, key: str, **values: str) -> str:
    """The client's text in their language (Russian when unknown)."""
    table = TEXTS.get((locale or "ru")[:2], TEXTS["ru"])
    return table[key].format(**values)
