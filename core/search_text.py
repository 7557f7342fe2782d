"""How search compares text: folded the same way when stored and when asked for.

1. `fold`: case folded, and «ё» read as «е» — Russian writes Фёдорова and Федорова for the
   same person, and a salesperson types whichever their keyboard gives.
2. `swap_layout`: text typed with the wrong keyboard layout, read with the other one
   («ghbdtn» is «привет» typed on an English layout; «руддщ» is «hello» on a Russian one).
   Search tries it only when the text as typed finds nothing.
"""

from __future__ import annotations

_EN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./~QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>?"
_RU = "ёйцукенгшщзхъфывапролджэячсмитьбю.ЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,"
_EN_TO_RU = str.maketrans(_EN, _RU)
_RU_TO_EN = str.maketrans(_RU, _EN)


def fold(text: str) -> str:
    """Text as search compares it: case folded, «ё» as «е»."""
    return text.casefold().replace("ё", "е")


def swap_layout(text: str) -> str | None:
    """The text as if typed on the other keyboard layout, or None when that changes nothing
    a person would read (digits, or letters of both alphabets mixed)."""
    has_latin = any("a" <= ch.lower() <= "z" for ch in text)
    has_cyrillic = any("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in text)
    if has_latin == has_cyrillic:
        return None
    swapped = text.translate(_EN_TO_RU if has_latin else _RU_TO_EN)
    return swapped if swapped != text else None
