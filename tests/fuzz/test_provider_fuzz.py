"""Every provider's accept + process path under generated input: a 200 is applied or parked.

Hypothesis builds correctly signed requests whose field values are drawn from plausible
values, hostile text (NUL, control characters, huge strings), odd numbers and times from
year 1 to 9999. Each request goes over HTTP into the app; then the processor drains the
inbox, the clock moving past every backoff, until nothing is left to retry. Whatever got a
200 must by then be applied or parked with its error: no row is pending for ever, and no
request got a 5xx. Reproduce with figures:

    PEREZVON_FUZZ_EXAMPLES=200 PEREZVON_FUZZ_REPORT=/tmp/fuzz.jsonl pytest tests/fuzz -q
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.models import TelephonyEvent
from telephony_webhooks.providers.base import RawRequest
from tests.fakes.clock import FakeClock
from tests.fakes.pbx_signers import itoolabs_request, mango_request, zadarma_request
from tests.fakes.twilio_signer import generic_event, threecx_journal, twilio_request
from tests.fuzz.budget import EXAMPLES, fuzzing
from tests.fuzz.live import BASE, Live

CALL_IDS = st.sampled_from(["c-1", "c-2", "in_17", "1795683600.1", ""])
HOSTILE = st.sampled_from(
    ["\x00", "a\x00b", "\x1b[2J", "\u200b", "null", "-1", "0", "9" * 40, "x" * 5000, " ", "%00"]
)
TEXT = st.one_of(
    HOSTILE, st.text(max_size=30), st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True)
)
NUMBER = st.one_of(
    st.integers(-(10**15), 10**15).map(str), st.floats(allow_nan=True).map(str), HOSTILE
)
EPOCH = st.integers(-(10**12), 253_402_300_799 + 10).map(str)
ISO = st.datetimes().map(lambda moment: moment.isoformat() + st_zone(moment.microsecond))
TIME = st.one_of(
    st.just("2026-11-26T09:00:00Z"), st.just("1795683600"), EPOCH, ISO, TEXT, st.just("")
)


def st_zone(seed: int) -> str:
    return ("Z", "+14:00", "-14:00", "", "+03:00")[seed % 5]


def _fields(**choices: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the named fields, each from its strategy (a missing field is a case too)."""
    return st.fixed_dictionaries({}, optional=choices)


def _mutated(
    base: dict[str, st.SearchStrategy[Any]], noise: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A plausible event (every base field) with some fields replaced or added by `noise`;
    Hypothesis shrinks towards the plausible event."""
    return st.builds(lambda fields, extra: {**fields, **extra}, st.fixed_dictionaries(base), noise)


PHONES = st.sampled_from(["+79161234567", "89031234567", "79161234567", "74950000000", "101"])
EXTENSIONS = st.sampled_from(["101", "102", "ivanov"])
NEAR_T0 = st.integers(1795683600 - 600, 1795683600 + 3600)

GENERIC = _mutated(
    {
        "event": st.sampled_from(["start", "ringing", "answer", "hangup", "end", "record"]),
        "call_id": CALL_IDS.filter(bool),
        "from": PHONES,
        "extension": EXTENSIONS,
        "timestamp": NEAR_T0,
        "status": st.sampled_from(["answered", "missed", "busy", "NOANSWER"]),
        "recording": st.just("https://pbx.example.com/rec/1.mp3"),
    },
    _fields(
        event=st.sampled_from(["x", "", "END"]),
        call_id=CALL_IDS,
        event_id=TEXT,
        direction=st.sampled_from(["in", "out", "internal", "sideways"]),
        timestamp=TIME,
        started_at=TIME,
        answered_at=TIME,
        ended_at=TIME,
        duration=NUMBER,
        billsec=NUMBER,
        recording=TEXT,
        extension=TEXT,
        dstchannel=TEXT,
        did=TEXT,
        to=TEXT,
        **{"from": TEXT},
    ),
)
THREECX = _mutated(
    {
        "CallType": st.sampled_from(["Inbound", "Outbound", "Missed", "NotAnswered"]),
        "Number": PHONES,
        "Agent": EXTENSIONS,
        "CallStartTimeUTC": st.sampled_from(["20261126090000", "20261126085500"]),
        "Duration": st.sampled_from(["42", "0", "00:01:05"]),
    },
    _fields(
        CallType=st.sampled_from(["Sideways", ""]),
        Number=TEXT,
        Agent=TEXT,
        CallStartTimeUTC=st.one_of(st.just("99991231235959"), TIME),
        CallEndTimeUTC=TIME,
        Duration=NUMBER,
        Name=TEXT,
    ),
)
ZADARMA = _mutated(
    {
        "event": st.sampled_from(
            [
                "NOTIFY_START",
                "NOTIFY_INTERNAL",
                "NOTIFY_ANSWER",
                "NOTIFY_END",
                "NOTIFY_RECORD",
                "NOTIFY_OUT_START",
                "NOTIFY_OUT_END",
            ]
        ),
        "call_start": st.sampled_from(["2026-11-26 12:00:00", "2026-11-26 11:58:00"]),
        "pbx_call_id": st.sampled_from(["in_1", "in_2", "out_3"]),
        "caller_id": PHONES,
        "called_did": st.just("74950000000"),
        "internal": EXTENSIONS,
        "destination": PHONES,
        "duration": st.sampled_from(["30", "0"]),
        "disposition": st.sampled_from(["answered", "busy", "cancel", "no answer"]),
        "status_code": st.just("16"),
        "is_recorded": st.sampled_from(["0", "1"]),
        "call_id_with_rec": st.just("1795683600.1"),
    },
    _fields(
        event=st.sampled_from(["NOTIFY_?", ""]),
        call_start=st.one_of(st.just("9999-12-31 23:59:59"), TIME),
        pbx_call_id=CALL_IDS,
        caller_id=TEXT,
        called_did=TEXT,
        internal=TEXT,
        duration=NUMBER,
        disposition=TEXT,
        status_code=NUMBER,
        call_id_with_rec=TEXT,
    ),
)
MANGO_EPOCH = st.one_of(st.integers(-(10**13), 10**13), EPOCH, TEXT)
MANGO = st.tuples(
    st.sampled_from(["events/call", "events/summary", "events/recording", "events/record/added"]),
    _mutated(
        {
            "entry_id": st.sampled_from(["E1", "E2"]),
            "call_id": st.sampled_from(["L1", "L2"]),
            "seq": st.integers(1, 5),
            "call_state": st.sampled_from(["Appeared", "Connected", "Disconnected", "OnHold"]),
            "timestamp": NEAR_T0,
            "create_time": NEAR_T0,
            "end_time": NEAR_T0,
            "call_direction": st.sampled_from(["1", "2", 0]),
            "recording_id": st.just("R1"),
            "recording_state": st.sampled_from(["Started", "Completed"]),
            "from": st.fixed_dictionaries({"number": PHONES}),
            "to": st.fixed_dictionaries({"extension": EXTENSIONS, "line_number": PHONES}),
        },
        _fields(
            entry_id=CALL_IDS,
            seq=st.one_of(st.integers(), TEXT),
            call_state=TEXT,
            timestamp=MANGO_EPOCH,
            create_time=MANGO_EPOCH,
            forward_time=MANGO_EPOCH,
            talk_time=MANGO_EPOCH,
            end_time=MANGO_EPOCH,
            disconnect_reason=NUMBER,
            recording_id=TEXT,
            completion_code=NUMBER,
            extension=TEXT,
            line_number=TEXT,
            **{"from": _fields(number=TEXT, extension=TEXT), "to": st.one_of(TEXT, st.none())},
        ),
    ),
)
ITOOLABS = _mutated(
    {
        "cmd": st.sampled_from(["event", "history", "rating"]),
        "type": st.sampled_from(["INCOMING", "OUTGOING", "ACCEPTED", "COMPLETED", "in", "out"]),
        "callid": st.sampled_from(["i-1", "i-2"]),
        "phone": PHONES,
        "user": st.sampled_from(["ivanov", "petrov"]),
        "ext": EXTENSIONS,
        "start": st.sampled_from(["20261126T090000Z", "20261126T085500Z"]),
        "duration": st.sampled_from(["30", "0"]),
        "status": st.sampled_from(["Success", "missed", "Busy"]),
        "link": st.just("https://vats.example.com/rec/1.mp3"),
    },
    _fields(
        cmd=st.sampled_from(["contact", "?", ""]),
        type=TEXT,
        callid=CALL_IDS,
        phone=TEXT,
        user=TEXT,
        ext=TEXT,
        start=st.one_of(st.just("99991231T235959Z"), TIME),
        duration=NUMBER,
        status=TEXT,
        link=TEXT,
    ),
)
TWILIO = st.tuples(
    st.sampled_from(["status", "recording", "dial-action"]),
    _mutated(
        {
            "CallSid": st.sampled_from(["CA1", "CA2"]),
            "CallStatus": st.sampled_from(["ringing", "in-progress", "completed", "no-answer"]),
            "Direction": st.sampled_from(["inbound", "outbound-dial"]),
            "From": PHONES,
            "To": st.just("+74950000000"),
            "Timestamp": st.just("Thu, 26 Nov 2026 09:00:00 +0000"),
            "CallDuration": st.sampled_from(["30", "0"]),
            "RecordingSid": st.just("RE1"),
            "RecordingUrl": st.just("https://api.twilio.com/rec/RE1"),
            "RecordingStatus": st.just("completed"),
            "DialCallStatus": st.sampled_from(["completed", "busy", "no-answer"]),
        },
        _fields(
            CallSid=CALL_IDS,
            ParentCallSid=st.sampled_from(["", "CA1"]),
            CallStatus=TEXT,
            From=TEXT,
            To=TEXT,
            Timestamp=TIME,
            CallDuration=NUMBER,
            SequenceNumber=NUMBER,
            DialCallStatus=TEXT,
            DialCallDuration=NUMBER,
            RecordingSid=TEXT,
            RecordingUrl=TEXT,
        ),
    ),
)


def _strings(fields: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in fields.items()}


BUILDERS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], tuple[str, RawRequest]]]] = {
    "generic": (GENERIC, lambda f: ("generic", generic_event(f, as_json=len(f) % 2 == 0))),
    "3cx": (THREECX, lambda f: ("3cx/journal", threecx_journal(_strings(f)))),
    "zadarma": (ZADARMA, lambda f: ("zadarma", zadarma_request(_strings(f)))),
    "novofon": (
        ZADARMA,
        lambda f: ("novofon", zadarma_request(_strings(f), provider="novofon")),
    ),
    "mango": (MANGO, lambda pf: (f"mango/{pf[0]}", mango_request(pf[0], pf[1]))),
    "itoolabs": (ITOOLABS, lambda f: ("itoolabs", itoolabs_request(_strings(f)))),
    "twilio": (
        TWILIO,
        lambda pf: (
            f"twilio/{pf[0]}",
            twilio_request(pf[0], _strings(pf[1]), url=f"{BASE}/webhooks/twilio/{pf[0]}"),
        ),
    ),
}


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    running = Live.start(database_url)
    yield running
    running.stop()


def _send(live: Live, target: str, request: RawRequest) -> int:
    headers = {**request.headers, "content-type": request.content_type or "text/plain"}
    response = live.call(
        live.client.post(f"/webhooks/{target}", content=request.body, headers=headers)
    )
    live.count(response)
    assert response.status_code < 500, (target, request.body[:300], response.text)
    return response.status_code


def _settle_everything(live: Live) -> dict[str, int]:
    """Drain, moving the clock past each backoff, until no row waits; then count rows."""
    clock = live.web.clock
    assert isinstance(clock, FakeClock)
    for _ in range(live.web.inbox_max_attempts + 2):
        live.drain()
        clock.advance(hours=2)

    async def counts() -> dict[str, int]:
        async with live.web.sessions() as session:

            async def count(*where: Any) -> int:
                query = select(func.count()).select_from(TelephonyEvent).where(*where)
                return await session.scalar(query) or 0

            return {
                "stored": await count(),
                "pending": await count(TelephonyEvent.processed_at.is_(None)),
                "parked": await count(TelephonyEvent.error.like("parked%")),
                "unreadable": await count(TelephonyEvent.error.like("unparseable%")),
            }

    return live.call(counts())


@pytest.mark.parametrize("provider", sorted(BUILDERS))
def test_whatever_gets_a_200_is_applied_or_parked(live: Live, provider: str) -> None:
    strategy, build = BUILDERS[provider]
    statuses: list[int] = []

    @given(fields=strategy)
    @fuzzing(EXAMPLES * 4)
    def deliver(fields: Any) -> None:
        target, request = build(fields)
        statuses.append(_send(live, target, request))

    deliver()
    settled = _settle_everything(live)
    live.tally.update({f"rows_{name}": value for name, value in settled.items()})
    live.report(f"provider {provider}")
    assert settled["pending"] == 0, settled
    assert statuses.count(200) >= 1, json.dumps(live.tally)  # the plausible events got in
