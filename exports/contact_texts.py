"""The contacts spreadsheets' words in Russian and English: sheet names, source values and the
rejected rows' reasons.

1. Sheet names and the source values (`Contact.source` codes) have a label per locale; the
   export writes the label, the import reads a label of either locale (or the code) back.
2. The import's reasons are made in English by core (one text for the API, the CLI and the
   logs); `reason(text, locale)` renders each known shape in the reader's language, the cell
   address in front kept, and leaves an unknown one in English rather than lose it.
"""

from __future__ import annotations

import re

SHEETS = {
    "ru": {"contacts": "Контакты", "rejected": "Отклонённые"},
    "en": {"contacts": "Contacts", "rejected": "Rejected"},
}
SOURCES = {
    "ru": {
        "manual": "вручную",
        "call": "звонок",
        "missed_call": "пропущенный звонок",
        "bot": "бот",
        "api": "API",
        "import": "импорт",
    },
    "en": {
        "manual": "by hand",
        "call": "call",
        "missed_call": "missed call",
        "bot": "bot",
        "api": "API",
        "import": "import",
    },
}
_SOURCE_CODES = {
    label.casefold(): code
    for labels in SOURCES.values()
    for code, label in labels.items()
    for label in (label, code)
}

# English reason -> Russian, each a full-match pattern; groups are carried over.
_RU: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in (
        (r"(.+) is not an email address", r"\1 — не адрес электронной почты"),
        (r"no name and no phone", "нет ни имени, ни телефона"),
        (r"no active user (.+)", r"нет активного сотрудника \1"),
        (
            r"(.+) is an internal extension, not a client's phone",
            r"\1 — внутренний номер, а не телефон клиента",
        ),
        (r"(.+) is not a date \(use DD\.MM\.YYYY\)", r"\1 — не дата (пишите ДД.ММ.ГГГГ)"),
        (r"(.+) is not a date", r"\1 — не дата"),
        (r"phone (.+) is not a valid number", r"телефон \1 — не номер"),
        (
            r"phone (.+) has characters that are not part of a number",
            r"в телефоне \1 есть символы, которых в номере не бывает",
        ),
        (r"phone is empty", "телефон пуст"),
        (r"phone is too long", "телефон слишком длинный"),
        (r"the name is longer than 300 characters", "имя длиннее 300 символов"),
        (
            r"the cell holds ([\d,]+) characters; at most ([\d,]+)",
            r"в ячейке \1 символов; можно \2",
        ),
        (r"(.+) is not a contact ID", r"\1 — не ID контакта"),
        (r"(.+) is not a time zone", r"\1 — не часовой пояс"),
        (r"(.+) is not a source", r"\1 — не источник"),
        (r"no contact with ID (\d+)", r"нет контакта с ID \1"),
        (
            r"(\d+) users are named (.+) \((.+)\): write #ID instead",
            r"сотрудников с именем \2 несколько (\1: \3): напишите #ID",
        ),
        (
            r"the phone (\S+) belongs to another contact #(\d+)",
            r"телефон \1 принадлежит другому контакту #\2",
        ),
        (
            r"the phones belong to different contacts (.+)",
            r"телефоны принадлежат разным контактам: \1",
        ),
        (
            r"(\d+) companies are named (.+) \((.+)\): write the company's ID in its column",
            r"компаний с названием \2 несколько (\1: \3): напишите ID компании в её столбце",
        ),
        (r"(.+) is not a company ID", r"\1 — не ID компании"),
        (r"no company with ID (\d+)", r"нет компании с ID \1"),
        (
            r"the company ID (\d+) is (.+), not (.+): correct one of the two cells",
            r"компания с ID \1 — это \2, а не \3: исправьте одну из двух ячеек",
        ),
        (
            r"duplicate of row (\d+) \(a phone or the ID repeats\)",
            r"повтор строки \1 (тот же телефон или ID)",
        ),
    )
]
_CELL = re.compile(r"([A-Z]+\d+ \([^)]*\): )(.*)", re.S)


def sheet(name: str, locale: str) -> str:
    """A sheet's name in the locale (English for an unknown one)."""
    return SHEETS.get(locale, SHEETS["en"])[name]


def source_label(code: str, locale: str) -> str:
    """A contact's source as the reader says it; an unknown code as it is."""
    return SOURCES.get(locale, SOURCES["en"]).get(code, code)


def source_code(text: str) -> str:
    """The source code a cell names (a label in either language, or the code); else the text,
    for the import to reject by name."""
    return _SOURCE_CODES.get(text.strip().casefold(), text.strip())


def reason(text: str, locale: str) -> str:
    """A rejected row's reasons (`; `-joined, each maybe after a cell address) in the locale."""
    if locale != "ru":
        return text
    return "; ".join(_one(part) for part in text.split("; "))


def _one(part: str) -> str:
    cell = _CELL.fullmatch(part)
    head, body = (cell.group(1), cell.group(2)) if cell else ("", part)
    for pattern, replacement in _RU:
        if pattern.fullmatch(body):
            return head + pattern.sub(replacement, body)
    return part
