"""Client chat messages as the team sees them on a contact's timeline."""

from __future__ import annotations

from bot.i18n import Texts
from bot.views.format import esc
from core.conversations.models import MESSAGE_KINDS as STORED_KINDS
from core.conversations.models import ChatMessage

MESSAGE_PREVIEW = 300
# Message kinds with a name of their own on the timeline: the stored kinds but text (another
# kind shows as it is stored).
MESSAGE_KINDS = tuple(kind for kind in STORED_KINDS if kind != "text")


def timeline_line(t: Texts, message: ChatMessage, author: str | None, when: str) -> str:
    """💬 when · channel · who → / ←, then the text (or the file's kind), and flags."""
    channel = t("tl-channel-" + ("business" if message.channel == "business" else "bot"))
    if message.direction == "in":
        who = t("tl-message-in")
    else:
        who = t("tl-message-out", author=esc(_author(t, author)))
    head = f"💬 {when} · {channel} · {who}"
    body = (message.text or "").strip()
    if message.kind != "text":
        kind = t("tl-kind-" + message.kind) if message.kind in MESSAGE_KINDS else message.kind
        file = f" {message.file_name}" if message.file_name else ""
        body = f"[{kind}{file}]" + (f" {body}" if body else "")
    short = body if len(body) <= MESSAGE_PREVIEW else body[:MESSAGE_PREVIEW] + "…"
    flags = []
    if message.edited_at is not None:
        flags.append(t("tl-message-edited"))
    if message.deleted_at is not None:
        flags.append(t("tl-message-deleted"))
    if message.direction == "out" and message.status == "failed":
        flags.append(t("tl-message-failed"))
    tail = f" ({', '.join(flags)})" if flags else ""
    return f"{head}{tail}\n{esc(short)}"


# The company's own texts to a client (core.conversations: author_label), by their names.
SYSTEM_AUTHORS = {
    "order_status": "tl-author-order-status",
    "welcome": "tl-author-welcome",
    "auto_reply": "tl-author-auto-reply",
    "flood_notice": "tl-author-flood-notice",
}


def _author(t: Texts, author: str | None) -> str:
    if not author:
        return t("tl-author-bot")
    if author in SYSTEM_AUTHORS:
        return t(SYSTEM_AUTHORS[author])
    if author.startswith("api:"):
        return t("tl-author-api", name=author[4:])
    return author
