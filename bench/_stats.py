"""Percentiles of latency samples, as bench/bot.py and bench/chats.py print them."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The `q` quantile (0 to 1) of the values by nearest rank; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
