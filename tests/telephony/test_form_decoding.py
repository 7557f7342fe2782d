"""The webhook form decoder reads a body exactly as the standard library's parse_qsl does."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from telephony_webhooks.providers.base import decode_urlencoded

# What a form body is made of, with the characters that mean something weighted up.
form_text = st.text(alphabet=st.sampled_from("ab=&%+2F41 иж\x00;") | st.characters(), max_size=60)


@given(form_text)
def test_any_text_decodes_as_parse_qsl_does(text: str) -> None:
    assert decode_urlencoded(text) == dict(parse_qsl(text, keep_blank_values=True))


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=6))
def test_encoded_fields_come_back(fields: dict[str, str]) -> None:
    body = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields.items())
    assert decode_urlencoded(body) == fields


def test_zadarma_body() -> None:
    body = "event=NOTIFY_START&call_start=2024-03-05+14%3A30%3A00&caller_id=%2B79161234567&x&="
    assert decode_urlencoded(body) == {
        "event": "NOTIFY_START",
        "call_start": "2024-03-05 14:30:00",
        "caller_id": "+79161234567",
        "x": "",
        "": "",
    }
