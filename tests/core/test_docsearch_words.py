"""Lemmas, not stems: the word forms a Russian speaker types meet the document's words."""

from __future__ import annotations

import pytest

from core.documents import words
from core.documents.search import parse, snippet


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("договоры поставок", "договор поставка"),
        ("Договор поставки", "договор поставка"),
        ("счёт счета счетов", "счет счет счет"),
        ("ЁЛКА ёлки", "елка елка"),
        ("Invoice INVOICES", "invoice invoices"),  # Latin: lower-cased, not stemmed
        ("Договор_№17-2025.pdf", "договор 17 2025 pdf"),
    ],
)
def test_lemmas(typed: str, expected: str) -> None:
    assert words.normalise([typed]) == expected


def test_normalise_caps_the_words() -> None:
    assert words.normalise(["один два три четыре"], limit=2) == "один два"


def test_query_phrases_and_words() -> None:
    terms = parse('"акт выполненных работ" поставок "счёт"')
    assert terms.phrases == (("акт", "выполнить", "работа"),)
    assert terms.words == ("поставка", "счет")
    assert not parse('"" ,.;')


def test_snippet_marks_word_forms_in_the_original_text() -> None:
    text = "Стороны заключили настоящий договор. " * 10 + "Срок поставки товаров — 10 дней."
    cut = snippet(text, {"поставка", "товар"}, width=60)
    assert cut.text.startswith("…") and "поставки товаров" in cut.text
    marked = [cut.text[a:b] for a, b in cut.marks]
    assert marked == ["поставки", "товаров"]
    assert cut.html().count("<b>") == 2
    assert snippet("", {"x"}).text == ""
    assert snippet("короткий текст", set()).text == "короткий текст"
