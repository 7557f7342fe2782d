"""Monthly targets as the bot shows them: a line per salesperson, their figures in a row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.i18n import Texts
from bot.views.format import esc
from core.targets.service import MONEY, Target


def month_label(month: date) -> str:
    return f"{month:%m.%Y}"


def number(value: Decimal, metric: str) -> str:
    """500000 -> «500 000»; kopecks only when there are some."""
    whole = value == value.to_integral_value()
    text = f"{value:,.0f}" if whole or metric != MONEY else f"{value:,.2f}"
    return text.replace(",", "\u00a0")


def targets(t: Texts, month: date, found: list[Target]) -> str:
    """The month's targets, or a line saying there are none (and how to set them)."""
    if not found:
        return t("targets-none", month=month_label(month)) + "\n" + t("targets-usage")
    lines = [t("targets-title", month=month_label(month))]
    people: dict[int, list[Target]] = {}
    for target in found:
        people.setdefault(target.user_id, []).append(target)
    for rows in people.values():
        items = ", ".join(
            t(f"targets-{row.metric}", value=number(row.value, row.metric)) for row in rows
        )
        lines.append(t("targets-person", name=esc(rows[0].name), items=items))
    return "\n".join(lines)
