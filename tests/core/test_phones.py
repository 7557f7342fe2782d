"""Phone normalization: one key per number however people, PBXs and imports write it."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.phones import normalize, try_normalize


@pytest.mark.parametrize(
    "raw",
    [
        "89161234567",
        "79161234567",
        "+79161234567",
        "9161234567",
        "8 916 123 45 67",
        "8 (916) 123-45-67",
        "+7 (916) 123-45-67",
        "+7-916-123-45-67",
        "7 916 1234567",
        "  +7 916 123 45 67  ",
        "8.916.123.45.67",
        "+8 916 123 45 67",
    ],
)
def test_every_common_way_to_write_a_russian_mobile_is_one_e164_key(raw: str) -> None:
    phone = normalize(raw)
    assert phone.e164 == "+79161234567"
    assert phone.extension is None
    assert phone.raw == raw


def test_landline_and_toll_free_numbers_get_the_russian_country_code() -> None:
    assert normalize("8 (495) 123-45-67").e164 == "+74951234567"
    assert normalize("812 123 45 67").e164 == "+78121234567"
    assert normalize("8 800 555-35-35").e164 == "+78005553535"


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("8 (916) 123-45-67 доб. 123", "123"),
        ("8 (916) 123-45-67 доб 4", "4"),
        ("+7 916 123 45 67 добавочный 55", "55"),
        ("+7 916 123 45 67 ext 7", "7"),
        ("+7 916 123 45 67 ext. 701", "701"),
        ("+7 916 123 45 67 EXT 701", "701"),
        ("+79161234567#45", "45"),
        ("+79161234567 # 45", "45"),
        ("8-916-123-45-67 x12", "12"),
        ("8-916-123-45-67x12", "12"),
        ("+7 916 123-45-67, 1234", "1234"),
    ],
)
def test_extension_is_split_off_and_the_number_keeps_its_key(raw: str, extension: str) -> None:
    phone = normalize(raw)
    assert (phone.e164, phone.extension) == ("+79161234567", extension)
    assert not phone.is_internal


@pytest.mark.parametrize("raw", ["10", "101", "2001", "55555", " 301 "])
def test_two_to_five_digit_numbers_are_internal_extensions(raw: str) -> None:
    phone = normalize(raw)
    assert phone.e164 is None
    assert phone.extension == raw.strip()
    assert phone.is_internal


@pytest.mark.parametrize("raw", ["1", "+101", "123456"])
def test_numbers_too_short_for_a_phone_and_not_an_extension_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize(raw)
    assert "not a valid number" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Иван Петров", "not part of a number"),
        ("+7 916 ABC 45 67", "not part of a number"),
        ("sip:101@pbx.local", "not part of a number"),
        ("8 916 123", "not a valid number"),
        ("8 916 123 45 67 89 01", "not a valid number"),
        ("+7 " + "9" * 70, "too long"),
    ],
)
def test_invalid_input_is_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize(raw)
    assert reason in caught.value.message
    assert caught.value.field == "phone"


def test_default_region_decides_how_a_national_number_is_read() -> None:
    assert normalize("020 7946 0958", region="GB").e164 == "+442079460958"
    with pytest.raises(InvalidInput):
        normalize("020 7946 0958", region="RU")
    # A number with its country code means the same in any region.
    assert normalize("+44 20 7946 0958", region="RU").e164 == "+442079460958"
    assert normalize("+7 916 123-45-67", region="GB").e164 == "+79161234567"


def test_try_normalize_answers_none_for_what_is_not_a_number() -> None:
    for raw in (None, "", "Anonymous", "client:alice", "sip:a@b.c", "1"):
        assert try_normalize(raw) is None, raw
    phone = try_normalize("8 916 123-45-67")
    assert phone is not None
    assert phone.e164 == "+79161234567"


# --- properties -------------------------------------------------------------------------


def _valid_ru(national: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse("+7" + national))


ru_national = st.one_of(
    st.from_regex(r"\A9[0-9]{9}\Z"),
    st.builds(
        lambda code, rest: code + rest,
        st.sampled_from(["495", "499", "812", "343", "383", "861"]),
        st.from_regex(r"\A[1-9][0-9]{6}\Z"),
    ),
).filter(_valid_ru)


@st.composite
def written_like_people_do(draw: st.DrawFn, national: str) -> str:
    prefix = draw(st.sampled_from(["8", "7", "+7", "+ 7", "", "8 ", "+7 ", "7-"]))
    sep = draw(st.sampled_from([" ", "-", "", ".", " - "]))
    area, rest = national[:3], national[3:]
    if draw(st.booleans()):
        area = f"({area})"
    groups = draw(st.sampled_from([[rest], [rest[:3], rest[3:5], rest[5:]], [rest[:3], rest[3:]]]))
    body = sep.join([area, *groups])
    pad_left = draw(st.sampled_from(["", " ", "  "]))
    pad_right = draw(st.sampled_from(["", " ", "\t"]))
    return f"{pad_left}{prefix}{sep if prefix else ''}{body}{pad_right}"


@settings(max_examples=300, deadline=None)
@given(st.data(), ru_national)
def test_any_formatting_of_a_valid_russian_number_normalizes_to_the_same_e164(
    data: st.DataObject, national: str
) -> None:
    written = data.draw(written_like_people_do(national))
    phone = normalize(written)
    assert phone.e164 == "+7" + national, written
    assert phone.extension is None


number_like_text = st.lists(
    st.sampled_from([*"0123456789 +-()./#*,;x", "ext", "доб.", "вн", "\u00a0", "٣"]),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=100), number_like_text))
def test_random_text_never_raises_anything_but_invalid_input(raw: str) -> None:
    try:
        phone = normalize(raw)
    except InvalidInput as exc:
        reason = exc.message
        assert reason
        return
    assert phone.e164 is not None or phone.extension is not None
    if phone.e164 is not None:
        assert phone.e164.startswith("+")
        assert phone.e164[1:].isdigit()


def test_the_00_international_prefix_reads_as_plus() -> None:
    assert normalize("0019123456789").e164 == "+19123456789"
    assert normalize("00 7 916 123-45-67").e164 == "+79161234567"
