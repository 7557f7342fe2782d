"""Natural dates as people type them, read in the user's zone (bot.dates over timesense).

Now is Thursday 2026-11-26 12:00 in Moscow. dateparser 1.5 was measured on the same phrases and
misread "завтра в 15" (12:00), "в пятницу в 10" (the 10th), "сегодня в 18" (12:00) and
"послезавтра в 11" (12:00); these pins keep whichever library we use honest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import Ambiguous, NoSuchDate, parse_when

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")


def msk(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("завтра в 15", msk(11, 27, 15)),
        ("Завтра в 15:30", msk(11, 27, 15, 30)),
        ("в пятницу в 10", msk(11, 27, 10)),
        ("пт 10:00", msk(11, 27, 10)),
        ("через 2 часа", msk(11, 26, 14)),
        ("через 30 минут", msk(11, 26, 12, 30)),
        ("25.12 14:30", msk(12, 25, 14, 30)),
        ("01.01.2027 9:00", msk(1, 1, 9, year=2027)),
        ("сегодня в 18", msk(11, 26, 18)),
        ("послезавтра в 11", msk(11, 28, 11)),
        ("tomorrow 3pm", msk(11, 27, 15)),
        ("friday 10am", msk(11, 27, 10)),
        ("in 2 hours", msk(11, 26, 14)),
    ],
)
def test_phrases_people_type_are_read_in_the_users_zone(phrase: str, expected: datetime) -> None:
    when = parse_when(phrase, now=NOW, timezone="Europe/Moscow")
    assert when is not None
    assert when.at == expected
    assert when.at.tzinfo is UTC


def test_the_same_phrase_means_another_instant_in_another_zone() -> None:
    when = parse_when("завтра в 15", now=NOW, timezone="Asia/Novosibirsk")
    assert when is not None and when.at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_a_task_title_is_split_from_the_time() -> None:
    when = parse_when("позвонить Ивану завтра в 15", now=NOW, timezone="Europe/Moscow")
    assert when is not None
    assert (when.title, when.at) == ("позвонить Ивану", msk(11, 27, 15))


@pytest.mark.parametrize(
    "phrase",
    ["абракадабра", "15", "позвонить", "", "   ", "\u200f", "вчера в 10", "я" * 500],
)
def test_unclear_fuzzy_past_or_huge_input_is_not_guessed(phrase: str) -> None:
    assert parse_when(phrase, now=NOW, timezone="Europe/Moscow") is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [*"завтрапятницучерез 0123456789.:вчасtomorowpmin -/+,", "\u200f"]
        ),
        max_size=40,
    )
)
def test_any_text_is_a_moment_in_the_future_or_none(text: str) -> None:
    try:
        when = parse_when(text, now=NOW, timezone="Europe/Moscow")
    except NoSuchDate as refused:
        written = refused.written
        when = None
    else:
        written = ""
    assert written in text
    assert when is None or (when.at > NOW and when.at.tzinfo is UTC)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("в понедельник утром", msk(11, 30, 9)),
        ("послезавтра после обеда", msk(11, 28, 14)),
        ("завтра днём", msk(11, 27, 13)),
        ("к вечеру", msk(11, 26, 17)),
        ("вечером", msk(11, 26, 18)),
        ("на следующей неделе", msk(11, 30, 10)),
        ("в понедельник", msk(11, 30, 10)),
        ("8 декабря", msk(12, 8, 10)),
        ("tomorrow morning", msk(11, 27, 9)),
        ("завтра в 10.30", msk(11, 27, 10, 30)),
    ],
)
def test_parts_of_the_day_and_days_without_a_time_read_as_documented(
    phrase: str, expected: datetime
) -> None:
    when = parse_when(phrase, now=NOW, timezone="Europe/Moscow")
    assert when is not None and when.at == expected


@pytest.mark.parametrize("phrase", ["31.02 10:00", "30.02", "32.12", "25.13 10:00", "29.02.2027"])
def test_a_day_that_is_not_in_the_calendar_is_refused_by_name(phrase: str) -> None:
    with pytest.raises(NoSuchDate) as refused:
        parse_when(phrase, now=NOW, timezone="Europe/Moscow")
    assert refused.value.written == phrase.split()[0]


AFTERNOON = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 14:00 in Moscow


@pytest.mark.parametrize(
    ("phrase", "title"),
    [("в 9", ""), ("позвонить в 9", "позвонить"), ("в 9 часов", ""), ("call at 9", "call")],
)
def test_a_bare_hour_after_noon_is_ambiguous(phrase: str, title: str) -> None:
    found = parse_when(phrase, now=AFTERNOON, timezone="Europe/Moscow")
    assert found == Ambiguous(early=msk(11, 27, 9), late=msk(11, 26, 21), title=title)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("в 9 вечера", msk(11, 26, 21)),
        ("в 9 утра", msk(11, 27, 9)),
        ("завтра в 9", msk(11, 27, 9)),
        ("в 9:00", msk(11, 27, 9)),
        ("в 21", msk(11, 26, 21)),
        ("через 2 часа", msk(11, 26, 16)),
    ],
)
def test_a_told_hour_after_noon_is_read(phrase: str, expected: datetime) -> None:
    found = parse_when(phrase, now=AFTERNOON, timezone="Europe/Moscow")
    assert found is not None and not isinstance(found, Ambiguous)
    assert found.at == expected


def test_a_bare_hour_in_the_morning_is_read_as_it_comes() -> None:
    found = parse_when(
        "в 11", now=datetime(2026, 11, 26, 6, 0, tzinfo=UTC), timezone="Europe/Moscow"
    )
    assert found is not None and not isinstance(found, Ambiguous)
    assert found.at == msk(11, 26, 11)
