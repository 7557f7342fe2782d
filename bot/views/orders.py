"""A client's orders as they see them in the company bot."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Texts
from bot.views.format import clip, esc, money
from core.conversations.orders import ClientOrder


def orders_list(t: Texts, listed: Sequence[ClientOrder]) -> str:
    """📦 title — status · amount, one order a line; or that there are none."""
    if not listed:
        return t("client-orders-none")
    lines = [t("client-orders-title", count=len(listed))]
    for order in listed:
        line = t("client-order-line", title=esc(order.title), status=esc(order.status))
        if order.amount is not None:
            line += " · " + money(order.amount, order.currency, t.locale)
        lines.append(line)
    return clip("\n".join(lines))
