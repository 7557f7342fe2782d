"""Telegram Business screens: the new-chat notice, the connection notices and /business."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton

from bot.callbacks import BusinessCb, ContactCb
from bot.i18n import Texts
from bot.views.format import Screen, button_text, esc, markup
from core.contacts.models import Contact
from core.conversations.business_chats import BusinessChat
from core.conversations.models import BusinessConnection, Conversation

STATUS_KEYS = {
    "active": "business-status-active",
    "disabled": "business-status-disabled",
    "refused": "business-status-refused",
}


def new_chat(t: Texts, conversation: Conversation, contact: Contact) -> Screen:
    """A chat logged for the first time: the client, [Don't log this chat] and the card."""
    text = t(
        "business-chat-excluded" if conversation.excluded else "business-new-chat",
        client=esc(contact.name),
    )
    return Screen(text, markup([[_toggle(t, conversation, "n"), _card(t, contact)]]))


def toggled(t: Texts, conversation: Conversation, contact: Contact) -> Screen:
    """The notice after its button: what changed, and the way back."""
    key = "business-chat-excluded" if conversation.excluded else "business-chat-included"
    rows = [[_toggle(t, conversation, "n")]]
    if not conversation.excluded:
        rows[0].append(_card(t, contact))
    return Screen(t(key, client=esc(contact.name)), markup(rows))


def chats(
    t: Texts, connection: BusinessConnection | None, items: list[BusinessChat], bot: str
) -> Screen:
    """/business: the connection's state (or how to connect) and the chats with toggles."""
    if connection is None:
        return Screen(t("business-how-to", bot=esc(bot)))
    lines = [t(STATUS_KEYS.get(connection.status, "business-status-disabled"))]
    if connection.status != "active":
        lines.append(t("business-how-to", bot=esc(bot)))
    if not items:
        lines.append(t("business-chats-none"))
        return Screen("\n\n".join(lines))
    lines.append(t("business-chats-head"))
    rows = []
    for item in items:
        mark = "🚫" if item.conversation.excluded else "✅"
        action = "on" if item.conversation.excluded else "off"
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"{mark} {button_text(item.contact.name)}",
                    callback_data=BusinessCb(
                        action=action, id=item.conversation.id, view="l"
                    ).pack(),
                )
            ]
        )
    return Screen("\n\n".join(lines), markup(rows))


def _toggle(t: Texts, conversation: Conversation, view: str) -> InlineKeyboardButton:
    excluded = conversation.excluded
    return InlineKeyboardButton(
        text=t("btn-business-include" if excluded else "btn-business-exclude"),
        callback_data=BusinessCb(
            action="on" if excluded else "off", id=conversation.id, view=view
        ).pack(),
    )


def _card(t: Texts, contact: Contact) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("btn-card"), callback_data=ContactCb(action="open", id=contact.id).pack()
    )
