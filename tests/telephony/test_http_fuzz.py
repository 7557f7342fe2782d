"""Random, mutated and validly signed garbage at every provider endpoint: never a 5xx.

Signed requests with random fields get past authentication, so they also exercise accept,
the look-up reply, the inbox and the processor: a stored row must be applied or set aside
as unparseable, never fail with an exception.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.models import TelephonyEvent
from telephony_webhooks.providers.base import RawRequest
from tests.fakes import pbx_signers as pbx_fake
from tests.fakes import twilio_signer as other_fake
from tests.telephony.conftest import Pbx

EXAMPLES = 70

WORDS = [
    # event names and states of every protocol
    "NOTIFY_START", "NOTIFY_INTERNAL", "NOTIFY_ANSWER", "NOTIFY_END", "NOTIFY_OUT_START",
    "NOTIFY_OUT_END", "NOTIFY_RECORD", "NOTIFY_IVR", "event", "history", "contact", "rating",
    "INCOMING", "OUTGOING", "ACCEPTED", "COMPLETED", "CANCELLED", "TRANSFERRED", "Success",
    "missed", "Busy", "start", "ringing", "answer", "hangup", "end", "record", "Appeared",
    "Connected", "Disconnected", "OnHold", "Completed", "completed", "in-progress", "no-answer",
    "busy", "canceled", "queued", "inbound", "outbound-dial", "outbound-api", "Inbound", "Missed",
    "Outbound", "Notanswered", "in", "out", "internal", "answered", "cancel", "callback_leg1",
    # ids, numbers, extensions
    "c1", "c2", "101", "102", "g_1@t", "client:101", "sip:101@pbx", "+79161234567",
    "89161234567", "74951234567", "+74950000000", "anonymous", "+", "0", "-1", "",
    # times and durations, well-formed and not
    "2026-11-26 12:00:00", "2026-02-30 25:61:61", "20261126T090000Z", "20261126090000",
    "99991231235959", "1795683600", "1795683600.5", "9999999999999", "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00", "95", "1e309", "nan", "01:02:03", "99:99:99:99", "²",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=24),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
)
LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "",
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "text/plain; charset=utf-8",
            "application/json; charset=koi8-r",
        ]
    ),
    LATIN1,
)
FIELDS = {
    "zadarma": [
        "event", "pbx_call_id", "caller_id", "called_did", "call_start", "internal",
        "destination", "duration", "disposition", "is_recorded", "call_id_with_rec",
        "calltype", "last_internal", "zd_echo",
    ],
    "itoolabs": [
        "cmd", "type", "callid", "phone", "user", "ext", "diversion", "direction", "start",
        "duration", "status", "link",
    ],
    "twilio": [
        "CallSid", "ParentCallSid", "CallStatus", "Direction", "From", "To", "Timestamp",
        "SequenceNumber", "CallDuration", "DialCallStatus", "DialCallDuration", "DialCallSid",
        "RecordingSid", "RecordingStatus", "RecordingUrl", "RecordingStartTime",
    ],
    "generic": [
        "event", "call_id", "linkedid", "uniqueid", "event_id", "direction", "from", "to", "did",
        "extension", "dstchannel", "status", "dialstatus", "disposition", "duration", "billsec",
        "recording", "timestamp", "started_at", "answered_at", "ended_at",
    ],
    "3cx": [
        "CallType", "Number", "Agent", "CallStartTimeUTC", "CallEstablishedTimeUTC",
        "CallEndTimeUTC", "DurationSeconds", "Duration", "RecordingUrl", "QueueExtension",
    ],
    "mango": [
        "entry_id", "call_id", "seq", "call_state", "location", "timestamp", "from", "to",
        "disconnect_reason", "call_direction", "create_time", "forward_time", "talk_time",
        "end_time", "line_number", "recording_id", "recording_state", "completion_code",
        "extension",
    ],
}  # fmt: skip
PATHS = {
    "mango": [
        "events/call", "events/summary", "events/recording", "events/record/added", "ping",
        "events/sms", "",
    ],
    "twilio": ["status", "recording", "dial-action", "unknown", "status/extra"],
}  # fmt: skip


def fields_for(provider: str) -> st.SearchStrategy[dict[str, str]]:
    names = st.one_of(st.sampled_from(FIELDS[provider]), st.text(min_size=1, max_size=12))
    return st.dictionaries(names, VALUES, max_size=10)


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**13), 10**13), st.floats(), VALUES
)
MANGO_PAYLOAD = st.dictionaries(
    st.sampled_from(FIELDS["mango"]),
    st.recursive(
        JSON_LEAVES,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["number", "extension", "line_number"]), inner)
        ),
        max_leaves=6,
    ),
    max_size=12,
)


@st.composite
def signed(draw: st.DrawFn, provider: str) -> tuple[RawRequest, str]:
    """A request that passes authentication with random content."""
    if provider in ("zadarma", "novofon"):
        if draw(st.booleans()):
            return pbx_fake.zadarma_echo(draw(VALUES), provider=provider), provider
        fields = draw(fields_for("zadarma"))
        return pbx_fake.zadarma_request(fields, provider=provider), provider
    if provider == "mango":
        payload = draw(MANGO_PAYLOAD)
        return pbx_fake.mango_request(draw(st.sampled_from(PATHS["mango"])), payload), provider
    if provider == "itoolabs":
        fields = draw(fields_for("itoolabs"))
        return pbx_fake.itoolabs_request(fields, as_json=draw(st.booleans())), provider
    if provider == "twilio":
        path = draw(st.sampled_from(PATHS["twilio"]))
        return other_fake.twilio_request(path, draw(fields_for("twilio"))), provider
    if provider == "generic":
        if draw(st.booleans()):
            lookup = other_fake.generic_lookup(
                draw(VALUES), text=draw(st.booleans()), token_in_query=draw(st.booleans())
            )
            return lookup, provider
        fields = draw(fields_for("generic"))
        return other_fake.generic_event(fields, as_json=draw(st.booleans())), provider
    if draw(st.booleans()):
        return other_fake.threecx_lookup(draw(VALUES)), provider
    fields = draw(fields_for("3cx"))
    return other_fake.threecx_journal(fields, as_json=draw(st.booleans())), provider


def mutate(body: bytes, data: st.DataObject) -> bytes:
    if not body:
        return data.draw(st.binary(max_size=64))
    position = data.draw(st.integers(0, len(body) - 1))
    how = data.draw(st.sampled_from(["flip", "truncate", "insert", "duplicate"]))
    if how == "flip":
        return body[:position] + bytes([body[position] ^ 0xFF]) + body[position + 1 :]
    if how == "truncate":
        return body[:position]
    if how == "insert":
        return body[:position] + data.draw(st.binary(min_size=1, max_size=16)) + body[position:]
    return body + b"&" + body


async def send_any(pbx: Pbx, provider: str, data: st.DataObject) -> int:
    request, route = data.draw(signed(provider), label="signed request")
    how = data.draw(st.sampled_from(["as signed", "mutated body", "other headers", "raw"]))
    if how == "as signed":
        return (await pbx.send(request, route)).status_code
    headers = dict(request.headers)
    content_type = request.content_type
    body = request.body
    if how == "mutated body":
        body = mutate(body, data)
    elif how == "other headers":
        content_type = data.draw(CONTENT_TYPES, label="content type")
        extra = data.draw(st.dictionaries(st.sampled_from(
            ["signature", "x-twilio-signature", "x-perezvon-token", "authorization",
             "content-length", "transfer-encoding", "x-perezvon-received-at"]
        ), LATIN1, max_size=3), label="headers")  # fmt: skip
        headers.update(extra)
        headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
    else:
        body = data.draw(st.binary(max_size=256), label="raw body")
        content_type = data.draw(CONTENT_TYPES, label="content type")
    suffix = data.draw(st.sampled_from(["", "/", "/events/call", "/x/../status", "?%ff=%fe"]))
    base = f"/webhooks/{route}" + (f"/{request.path}" if request.path else "")
    method = request.method if data.draw(st.booleans()) else data.draw(
        st.sampled_from(["GET", "POST", "PUT"])
    )  # fmt: skip
    response = await pbx.client.request(
        method,
        base + suffix,
        content=body or None,
        headers={**headers, **({"content-type": content_type} if content_type else {})},
        params=dict(request.query) or None,
    )
    return response.status_code


@pytest.mark.parametrize("provider", ["zadarma", "novofon", "mango", "itoolabs", "twilio",
                                      "generic", "3cx"])  # fmt: skip
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_request_makes_the_app_answer_5xx_or_the_processor_fail(
    pbx: Pbx, provider: str, data: st.DataObject
) -> None:
    status = await send_any(pbx, provider, data)
    event(f"HTTP {status}")  # --hypothesis-show-statistics shows how deep the fuzz got
    assert status < 500
    await pbx.processor.drain()
    rows = await pbx.load(TelephonyEvent, TelephonyEvent.processed_at.is_(None))
    failed = await pbx.load(
        TelephonyEvent,
        TelephonyEvent.error.is_not(None),
        TelephonyEvent.error.not_like("unparseable:%"),
    )
    assert not rows and not failed, [(r.event_type, r.error, r.body[:200]) for r in rows + failed]
