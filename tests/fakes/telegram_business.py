"""Telegram Business updates as Telegram sends them: a salesperson's account and its chats.

`BusinessAccount` is one Telegram Business account connected to the bot: `connection()` is the
`business_connection` update (switched on or off), `says()` / `hears()` a message the account
sends to or receives from a client in a private chat, `edits()` and `deletes()` the later
updates of those messages. The dicts go to the dispatcher (`feed`) or to the fake server
(`push_update`) unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count
from typing import Any

_ids = count(500)


def person(user_id: int, first_name: str, last_name: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        found["last_name"] = last_name
    return found


def private_chat(client: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": client["id"], "type": "private", "first_name": client["first_name"]}
    if client.get("last_name"):
        chat["last_name"] = client["last_name"]
    return chat


@dataclass
class BusinessAccount:
    """A salesperson's (or a stranger's) Telegram Business account connected to the bot."""

    user_id: int
    first_name: str = "Пётр"
    connection_id: str = field(default_factory=lambda: f"bc-{next(_ids)}")

    @property
    def user(self) -> dict[str, Any]:
        return person(self.user_id, self.first_name)

    def connection_object(
        self, *, enabled: bool = True, user_id: int | None = None
    ) -> dict[str, Any]:
        return {
            "id": self.connection_id,
            "user": person(user_id or self.user_id, self.first_name),
            "user_chat_id": user_id or self.user_id,
            "date": int(time.time()),
            "is_enabled": enabled,
            "rights": {"can_reply": True, "can_read_messages": True},
        }

    def connection(self, *, enabled: bool = True, user_id: int | None = None) -> dict[str, Any]:
        """The `business_connection` update (`user_id`: claim the id for another account)."""
        return {"business_connection": self.connection_object(enabled=enabled, user_id=user_id)}

    def message(
        self,
        client: dict[str, Any],
        text: str | None,
        *,
        sender: dict[str, Any],
        message_id: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or next(_ids),
            "date": int(time.time()),
            "chat": private_chat(client),
            "from": sender,
            "business_connection_id": self.connection_id,
            **extra,
        }
        if text is not None:
            message["text"] = text
        return message

    def hears(self, client: dict[str, Any], text: str | None, **extra: Any) -> dict[str, Any]:
        """The client writes to the salesperson."""
        return {"business_message": self.message(client, text, sender=client, **extra)}

    def says(self, client: dict[str, Any], text: str | None, **extra: Any) -> dict[str, Any]:
        """The salesperson writes to the client."""
        return {"business_message": self.message(client, text, sender=self.user, **extra)}

    def edits(
        self, update: dict[str, Any], text: str, *, edit_date: int | None = None
    ) -> dict[str, Any]:
        """The `edited_business_message` of a message sent before, now reading `text`."""
        message = dict(update["business_message"])
        message.update(text=text, edit_date=edit_date or int(time.time()))
        return {"edited_business_message": message}

    def deletes(self, client: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
        """The `deleted_business_messages` of messages sent before in the client's chat."""
        return {
            "deleted_business_messages": {
                "business_connection_id": self.connection_id,
                "chat": private_chat(client),
                "message_ids": [u["business_message"]["message_id"] for u in updates],
            }
        }
