"""Text and time types for REST inputs: one rule for every field, the same on every database.

- No control characters: NUL and the other C0 codes (and DEL) are refused with a 422 naming
  the field; multi-line text keeps tab and newlines. PostgreSQL cannot store NUL and SQLite's
  full-text query chokes on it, so the rule lives here, before either sees the value.
- Every text has a length limit: its column's, or 10,000 characters for TEXT columns.
- A name must show something: only spaces, zero-width or format characters is no name.
- A time must lie in years 1900..2200 once converted to UTC (year 1 at +14:00 is no time).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import MaxLen
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR are text
# Categories that draw nothing: controls, format (zero-width, BOM, bidi marks), separators,
# unassigned and surrogates; combining marks alone draw nothing either.
_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
LONG_TEXT = 10_000  # notes, summaries, results: TEXT columns, but a note is not a book


def _single_line(value: str) -> str:
    if _CONTROL_IN_LINE.search(value):
        raise ValueError("must not contain control characters (NUL, tab, newline, ESC…)")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("must not contain control characters (NUL, ESC…)")
    return value


def _visible(value: str) -> str:
    if not any(unicodedata.category(char) not in _INVISIBLE for char in value):
        raise ValueError("must contain a visible character")
    return value


def _in_range(value: datetime) -> datetime:
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("is out of range (years 1900 to 2200)") from exc
    if not EARLIEST <= moment < LATEST:
        raise ValueError("is out of range (years 1900 to 2200)")
    return moment


def _plus_from_query(value: Any) -> Any:
    # An unencoded '+' in a query string arrives as a space: "...T10:00:00 03:00".
    if isinstance(value, str):
        return re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    return value


Line = Annotated[str, AfterValidator(_single_line)]
Text = Annotated[str, MaxLen(LONG_TEXT), AfterValidator(_multi_line)]
Visible = AfterValidator(_visible)

# Names and titles (column sizes): something visible, on one line.
Name = Annotated[Line, MaxLen(300), Visible]
Title = Annotated[Line, MaxLen(500), Visible]
DealTitle = Annotated[Line, MaxLen(300), Visible]
# Short single-line values, by column size.
Email = Annotated[Line, MaxLen(320)]
Phone = Annotated[Line, MaxLen(64)]
Tag = Annotated[Line, MaxLen(50)]
ZoneName = Annotated[Line, MaxLen(64)]
Inn = Annotated[Line, MaxLen(20)]
Website = Annotated[Line, MaxLen(300)]
Code = Annotated[Line, MaxLen(32)]
Outcome = Annotated[Line, MaxLen(64)]
Currency = Annotated[Line, MaxLen(3)]
ExternalId = Annotated[Line, MaxLen(128)]
SearchQuery = Annotated[Line, MaxLen(200)]

Time = Annotated[AwareDatetime, AfterValidator(_in_range)]
QueryTime = Annotated[AwareDatetime, BeforeValidator(_plus_from_query), AfterValidator(_in_range)]
