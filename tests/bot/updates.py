"""Builders of the updates a Telegram user sends (and of the stickers and polls in them), and a
simulated user that sends them.

`TgUser.say("text")` feeds a message through the dispatcher and returns the Bot API calls the
bot made while handling it; `TgUser.tap(call, "label")` presses a button of a message the bot
sent (read back from the fake server, so edits count); `open_card(id)` opens a contact's card;
replies and shared contacts too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from bot.callbacks import ContactCb
from tests.fakes.telegram_api import Call, FakeTelegram

Feed = Callable[[dict[str, Any]], Awaitable[Any]]
_message_ids = count(10_000)


def tg_user(user_id: int, first_name: str = "Иван", language_code: str = "ru") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "username": f"user{user_id}",
        "language_code": language_code,
    }


def message_update(
    user: dict[str, Any],
    text: str | None = None,
    *,
    chat_type: str = "private",
    chat_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    chat = {"id": chat_id or user["id"], "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = user["first_name"]
    else:
        chat["title"] = "Sales team"
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}


def callback_update(
    user: dict[str, Any], data: str, *, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": str(next(_message_ids)),
        "from": user,
        "chat_instance": "ci",
        "data": data,
    }
    if message is not None:
        query["message"] = message
    return {"callback_query": query}


def sticker(
    file_id: str, unique_id: str, *, size: int = 512, emoji: str | None = None
) -> dict[str, Any]:
    """A regular (static) sticker as Telegram sends it."""
    found: dict[str, Any] = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "type": "regular",
        "width": size,
        "height": size,
        "is_animated": False,
        "is_video": False,
    }
    if emoji is not None:
        found["emoji"] = emoji
    return found


def poll(poll_id: str, question: str, options: dict[str, str]) -> dict[str, Any]:
    """An open anonymous single-answer poll as Telegram sends it, no votes yet (`options`:
    each answer's text and its persistent id)."""
    return {
        "id": poll_id,
        "question": question,
        "options": [
            {"text": text, "voter_count": 0, "persistent_id": persistent_id}
            for text, persistent_id in options.items()
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }


def buttons(markup: Any) -> list[dict[str, Any]]:
    """Every inline button of a reply_markup (as the fake recorded it)."""
    if not isinstance(markup, dict):
        return []
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def button_data(call: Call, label: str) -> str:
    """The callback data of the button whose caption contains `label`."""
    for button in buttons(call.params.get("reply_markup")):
        if label in button["text"]:
            return str(button["callback_data"])
    captions = [b["text"] for b in buttons(call.params.get("reply_markup"))]
    raise AssertionError(f"no button {label!r} in {captions}")


@dataclass
class TgUser:
    """A person in Telegram talking to the bot in a private chat."""

    feed: Feed
    fake: FakeTelegram
    id: int
    first_name: str = "Иван"
    language_code: str = "ru"
    last: list[Call] = field(default_factory=list)

    @property
    def user(self) -> dict[str, Any]:
        return tg_user(self.id, self.first_name, self.language_code)

    async def _run(self, update: dict[str, Any]) -> list[Call]:
        before = len(self.fake.calls)
        await self.feed(update)
        self.last = self.fake.calls[before:]
        return self.last

    async def say(self, text: str, **extra: Any) -> list[Call]:
        return await self._run(message_update(self.user, text, **extra))

    async def send(self, **extra: Any) -> list[Call]:
        """A message without text (sticker, document, contact, …)."""
        return await self._run(message_update(self.user, None, **extra))

    async def reply(self, to: Call, text: str) -> list[Call]:
        """Reply to a message the bot sent (Telegram includes it, with its inline keyboard)."""
        return await self.say(text, reply_to_message=self.bot_message(to))

    async def press(self, data: str, on: Call | None = None) -> list[Call]:
        message = self.bot_message(on) if on is not None else None
        return await self._run(callback_update(self.user, data, message=message))

    async def open_card(self, contact_id: int) -> Call:
        """Open a contact's card, as its button does: the card the bot sent."""
        return sent(await self.press(ContactCb(action="open", id=contact_id).pack()))[0]

    async def tap(self, on: Call, label: str) -> list[Call]:
        """Press the button captioned `label` on a message the bot sent or edited."""
        return await self.press(button_data(self.current(on), label), on)

    def current(self, call: Call) -> Call:
        """The message as it is now (after edits), as a Call-like record."""
        message_id = self.message_id(call)
        stored = self.fake.message(int(call.params["chat_id"]), message_id) or {}
        params = {**call.params, **stored}
        return Call(call.method, params, call.files, call.status, call.at)

    def message_id(self, call: Call) -> int:
        if "message_id" in call.params:
            return int(call.params["message_id"])
        index = next(i for i, c in enumerate(self.fake.calls) if c is call)
        # The fake numbers the messages it accepts (sendMessage, sendDocument) from 1 on.
        return sum(
            1
            for c in self.fake.calls[: index + 1]
            if c.method in ("sendMessage", "sendDocument") and c.status == 200
        )

    def bot_message(self, call: Call) -> dict[str, Any]:
        current = self.current(call)
        message: dict[str, Any] = {
            "message_id": self.message_id(call),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": {"id": self.fake.bot_id, "is_bot": True, "first_name": "Bot"},
            "text": current.params.get("text") or "",
        }
        markup = current.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message


def scope_key(scope: Any) -> str:
    """A command menu's scope (as setMyCommands sent it) as a key: the chat id, or its type."""
    if isinstance(scope, str):
        scope = json.loads(scope)
    if not isinstance(scope, dict):
        return "default"
    return str(scope.get("chat_id") or scope.get("type"))


def texts_of(calls: list[Call], method: str = "sendMessage") -> list[str]:
    return [c.text or "" for c in calls if c.method == method]


def sent(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage" and c.status == 200]


def answers(calls: list[Call]) -> list[str]:
    """Texts of answerCallbackQuery calls (notices)."""
    return [str(c.params.get("text") or "") for c in calls if c.method == "answerCallbackQuery"]
