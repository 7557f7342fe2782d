"""Words in normal form: the full-text index's input and its queries on both databases.

Russian word forms match by lemma, not by stem: Snowball (PostgreSQL's `russian`
configuration, SQLite has none) gives "поставк" for "поставки" but "поставок" for
"поставок", so "договоры поставок" would miss "Договор поставки". pymorphy3 gives
"поставка" for both. A word is lower-cased, ё is read as е, and a Russian word becomes its
most probable lemma; other words (Latin, numbers) stay as they are, lower-cased. The index
then uses the databases' plain tokenisers (`simple`, FTS5 `unicode61`) over these lemmas.

A lemma costs about 80 µs uncached; the cache makes a repeated word a dictionary lookup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

# Letters and digits; an underscore, a dot or a dash splits ("Договор_поставки.pdf").
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")
MAX_WORD = 64  # longer runs are noise (base64, hashes): kept, cut, not lemmatised
CACHE_SIZE = 200_000


@functools.cache
def _morph() -> Any:
    import pymorphy3  # loaded once per process: its dictionaries take ~0.3 s and ~15 MB

    return pymorphy3.MorphAnalyzer(lang="ru")


def warm_up() -> None:
    """Load the dictionaries now (a child process does, before its first file)."""
    _morph()


@functools.lru_cache(maxsize=CACHE_SIZE)
def lemma(word: str) -> str:
    """The normal form of one lower-cased token (ё already read as е)."""
    if len(word) > MAX_WORD:
        return word[:MAX_WORD]
    if not _CYRILLIC.search(word):
        return word
    parses = _morph().parse(word)
    if not parses:
        return word
    return str(parses[0].normal_form).replace("ё", "е")


def tokens(text: str) -> Iterator[str]:
    """The tokens of a text, lower-cased, ё read as е (no lemmas)."""
    for match in _TOKEN.finditer(text.lower().replace("ё", "е")):
        yield match.group(0)


def lemmas(text: str) -> list[str]:
    """The lemmas of a text's words, in order (phrases stay adjacent)."""
    return [lemma(token) for token in tokens(text)]


def normalise(parts: Iterable[str], *, limit: int | None = None) -> str:
    """The `words` column: the lemmas of all parts, space-separated, at most `limit` words."""
    out: list[str] = []
    for part in parts:
        for token in tokens(part):
            out.append(lemma(token))
            if limit is not None and len(out) >= limit:
                return " ".join(out)
    return " ".join(out)


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lemma) of each word of an original text, for highlighting."""
    for match in _TOKEN.finditer(text):
        yield match.start(), match.end(), lemma(match.group(0).lower().replace("ё", "е"))
