"""Phone numbers: one normalization used at every entry point (API, bot, webhooks, import)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from core.errors import InvalidInput

_EXTENSION_SPLIT = re.compile(
    r"\s*(?:,|;|#|\*|(?<![a-z])ext\.?|(?<![a-z])x\.?|доб\.?|добавочный|вн\.?)\s*(\d{1,6})\s*$",
    re.IGNORECASE,
)
_ALLOWED = re.compile(r"^[\d\s()+\-./]+$")
_SHORT_INTERNAL = re.compile(r"^\d{2,5}$")


@dataclass(frozen=True)
class Phone:
    """A normalized phone: `e164` is the key; `extension` set for an internal or added number."""

    e164: str | None
    extension: str | None
    raw: str

    @property
    def is_internal(self) -> bool:
        return self.e164 is None and self.extension is not None


def normalize(raw: str, *, region: str = "RU") -> Phone:
    """Parse a phone written any way people write it; raise InvalidInput with the reason."""
    result = _normalized(raw, region)
    if isinstance(result, InvalidInput):
        raise InvalidInput(result.message, field=result.field)
    return result


# Parsing with phonenumbers costs ~0.1 ms; the same numbers come back all day (every event of a
# call, every look-up while it rings), and a Phone is immutable, so results are kept.
@functools.lru_cache(maxsize=8192)
def _normalized(raw: str, region: str) -> Phone | InvalidInput:
    try:
        return _normalize(raw, region)
    except InvalidInput as exc:
        return exc


def _normalize(raw: str, region: str) -> Phone:
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("phone is empty", field="phone")
    if len(text) > 64:
        raise InvalidInput("phone is too long", field="phone")
    extension: str | None = None
    match = _EXTENSION_SPLIT.search(text)
    if match and len(re.sub(r"\D", "", text[: match.start()])) >= 6:
        extension = match.group(1)
        text = text[: match.start()]
    if not _ALLOWED.match(text):
        raise InvalidInput(
            f"phone {raw!r} has characters that are not part of a number", field="phone"
        )
    digits = re.sub(r"\D", "", text)
    if _SHORT_INTERNAL.match(digits) and not text.lstrip().startswith("+"):
        return Phone(e164=None, extension=digits, raw=raw)
    candidate = _national_fixups(text, digits, region)
    number = _parse_valid(candidate, region)
    if number is None and candidate.startswith("+"):
        # A '+' in front of a national number has been seen from PBXs (e.g. '+8912…').
        number = _parse_valid(_national_fixups(digits, digits, region), region)
    if number is None:
        raise InvalidInput(f"phone {raw!r} is not a valid number", field="phone")
    if number.extension and extension is None:
        extension = number.extension
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Phone(e164=e164, extension=extension, raw=raw)


def _national_fixups(text: str, digits: str, region: str) -> str:
    if text.lstrip().startswith("+"):
        return "+" + digits
    if digits.startswith("00") and len(digits) > 11:
        return "+" + digits[2:]  # the international prefix most of the world dials
    if region in {"RU", "KZ"}:
        if len(digits) == 11 and digits[0] in "78":
            return "+7" + digits[1:]
        if len(digits) == 10 and digits[0] in "3489":
            return "+7" + digits
    if len(digits) > 11 and not digits.startswith("0"):
        # Digits with the country code but no '+': what most PBXs send.
        return "+" + digits
    return digits


def _parse_valid(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def try_normalize(raw: str | None, *, region: str = "RU") -> Phone | None:
    """Like normalize, but None for anything that is not a number (sip:, client:, anonymous…)."""
    if raw is None:
        return None
    try:
        return normalize(raw, region=region)
    except InvalidInput:
        return None


def search_digits(query: str, *, region: str = "RU") -> str | None:
    """Digits to look for inside stored E.164 numbers when a user types part of a phone."""
    digits = re.sub(r"\D", "", query)
    if len(digits) < 3 or len(digits) * 2 < len(re.sub(r"\s", "", query)):
        return None
    full = try_normalize(query, region=region)
    if full is not None and full.e164 is not None:
        return full.e164.lstrip("+")
    if region in {"RU", "KZ"} and len(digits) >= 2 and digits[0] == "8":
        return "7" + digits[1:]
    return digits
