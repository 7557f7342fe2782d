"""Split Telegram HTML text into messages that fit, each one valid HTML on its own."""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
# Tags, entities, newlines, runs of spaces, and words (long words are cut into 100-char pieces).
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\n| +|[^<&\n ]{1,100}|[<&]")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z-]+)")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), of the raw HTML: an upper bound of the
    visible length, which is what the limits apply to."""
    return len(text.encode("utf-16-le")) // 2


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of at most `limit` units, cut at a line break when one is in the second half of a
    part, else between words; tags open at a cut are closed and reopened in the next part."""
    if telegram_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    stack: list[str] = []  # open tags, as written, outermost first
    last_break: tuple[int, list[str]] | None = None  # token index of a "\n", stack there
    for token in _TOKEN.findall(text):
        cost = telegram_length(token)
        closing = sum(telegram_length(_closer(tag)) for tag in stack)
        if size + cost + closing > limit and current:
            if token != "\n" and last_break is not None and last_break[0] * 2 >= len(current):
                index, open_there = last_break
                parts.append(_close("".join(current[:index]), open_there))
                rest = current[index + 1 :]
                current = [*open_there, *rest]
            else:
                parts.append(_close("".join(current), stack))
                current = list(stack)
            size = sum(telegram_length(t) for t in current)
            last_break = None
            if token in ("\n", " ") or token.isspace():
                continue  # no part starts with the break it was cut at
        if token == "\n":
            last_break = (len(current), list(stack))
        current.append(token)
        size += cost
        _track(stack, token)
    if current and "".join(current).strip():
        parts.append(_close("".join(current), stack))
    return [part for part in parts if _visible(part).strip()]


def _track(stack: list[str], token: str) -> None:
    match = _TAG.match(token) if token.startswith("<") else None
    if match is None or token.endswith("/>"):
        return
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        stack.append(token)
        return
    for position in range(len(stack) - 1, -1, -1):
        if _name(stack[position]) == name:
            del stack[position]
            return


def _name(tag: str) -> str:
    match = _TAG.match(tag)
    return match.group(2).lower() if match else ""


def _closer(tag: str) -> str:
    return f"</{_name(tag)}>"


def _close(html: str, stack: list[str]) -> str:
    return html.rstrip() + "".join(_closer(tag) for tag in reversed(stack))


def _visible(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)
