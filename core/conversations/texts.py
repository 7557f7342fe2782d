"""Words the company bot says to clients, in ru and en; an admin may rewrite each one.

Why here and not in bot/locales (as core/greetings/texts.py): these are words to
clients, data an admin edits (`client_texts` table), and core composes the auto-reply and
the flood notice itself. The team's own interface stays in the locale files.
1. `get` returns the admin's text for the key and language if there is one, else the
   built-in one. `set_text` (admins only) stores a new one; an empty text restores the
   built-in one.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from core.common import audit
from core.context import Actor, Ctx
from core.conversations.models import ClientText
from core.errors import InvalidInput, PermissionDenied

WELCOME = "welcome"
AUTO_REPLY = "auto_reply"
FLOOD = "flood"
KEYS = (WELCOME, AUTO_REPLY, FLOOD)
LOCALES = ("ru", "en")
MAX_LENGTH = 1000

DEFAULTS: dict[str, dict[str, str]] = {
    "ru": {
        WELCOME: (
            "Здравствуйте! Напишите ваш вопрос — менеджер ответит здесь. "
            "Чтобы мы быстрее вас узнали, поделитесь номером телефона кнопкой ниже."
        ),
        AUTO_REPLY: (
            "Спасибо за сообщение! Сейчас нерабочее время — менеджер ответит, "
            "как только начнётся рабочий день."
        ),
        FLOOD: (
            "Вы пишете очень часто — пожалуйста, подождите минуту: менеджер увидит "
            "ваши сообщения и ответит."
        ),
    },
    "en": {
        WELCOME: (
            "Hello! Write your question and a manager will answer here. "
            "Share your phone number with the button below so we know who you are."
        ),
        AUTO_REPLY: (
            "Thank you for your message! We are closed now; a manager will answer "
            "as soon as the working day begins."
        ),
        FLOOD: (
            "You are writing very fast; please wait a minute: a manager will see your "
            "messages and answer."
        ),
    },
}


def _locale(locale: str | None) -> str:
    return locale if locale in LOCALES else "ru"


async def get(ctx: Ctx, *, key: str, locale: str | None) -> str:
    """The text for `key` in the client's language: the admin's, else the built-in one."""
    lang = _locale(locale)
    custom = await ctx.session.scalar(
        select(ClientText.text).where(ClientText.key == key, ClientText.locale == lang)
    )
    return custom or DEFAULTS[lang][key]


async def set_text(ctx: Ctx, *, actor: Actor, key: str, locale: str, text: str) -> str:
    """An admin rewrites a client text (empty: back to the built-in one); commits."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin edits the texts to clients", code="admin-only")
    if key not in KEYS:
        raise InvalidInput(f"key must be one of {', '.join(KEYS)}", field="key")
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    clean = text.strip()
    if len(clean) > MAX_LENGTH:
        raise InvalidInput(
            f"the text is longer than {MAX_LENGTH} characters", field="text", code="text-too-long"
        )
    row = await ctx.session.get(ClientText, (key, locale))
    if not clean:
        if row is not None:
            await ctx.session.execute(
                delete(ClientText).where(ClientText.key == key, ClientText.locale == locale)
            )
    elif row is None:
        ctx.session.add(
            ClientText(
                key=key,
                locale=locale,
                text=clean,
                updated_by_id=actor.user_id,
                updated_at=ctx.clock.now(),
            )
        )
    else:
        row.text, row.updated_by_id, row.updated_at = clean, actor.user_id, ctx.clock.now()
    audit(
        ctx,
        actor=actor,
        entity="client_text",
        entity_id=0,
        action="set",
        changes={"key": key, "locale": locale, "text": clean or None},
    )
    await ctx.session.commit()
    return clean or DEFAULTS[locale][key]
