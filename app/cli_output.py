"""CLI output helpers: English plurals, plain tables, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings

IRREGULAR = {"person": "people", "company": "companies", "activity": "activities"}


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def plural(count: int, word: str) -> str:
    """`1 event`, `2 events`, `3 companies`, with thousands separated."""
    many = IRREGULAR.get(word, word + "s")
    return f"{count:,} {word if count == 1 else many}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns (numbers right-aligned) under a header line."""
    cells = [[_cell(v) for v in row] for row in rows]
    raw = rows
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    numeric = [
        bool(raw) and all(isinstance(r[i], int | float) or r[i] is None for r in raw)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), *(line(row) for row in cells)])


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def as_json(items: Sequence[Mapping[str, Any]], **extra: Any) -> str:
    """`{"items": [...], **extra}` with ISO dates, UTF-8 as is."""
    payload = {"items": [{k: _jsonable(v) for k, v in item.items()} for item in items], **extra}
    return json.dumps(payload, ensure_ascii=False, indent=2)


async def run_use_case(settings: Settings, use_case: Any) -> int:
    """Run one use case in a fresh container and print its line; a domain error is one
    `error: …` line on stderr and exit status 1."""
    import sys

    from app.wiring import Container
    from core.errors import DomainError

    try:
        line = await Container.run_once(settings, use_case)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(line)
    return 0
