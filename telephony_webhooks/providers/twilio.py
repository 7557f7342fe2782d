"""Twilio Voice: status callbacks, recording callbacks and `<Dial action>` callbacks.

Routes: `POST /webhooks/twilio/{status|recording|dial-action}` (the path is one of those).

Why the dial result and not the call status decides "missed": Twilio answers an inbound call
itself to run our TwiML, so the parent call's status callback says `in-progress` and then
`completed` even when no agent picked up. Only the `<Dial action>` request (DialCallStatus)
and the agent legs (`Direction=outbound-dial`) say whether a person answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from core.events import CallEvent, Direction, EndStatus, EventKind
from telephony_webhooks.providers.base import (
    Accepted,
    LookupResult,
    ProviderError,
    ProviderOptions,
    RawRequest,
    Reply,
    bounded_call_key,
    bounded_key,
    known_path,
    received_at,
    same_secret,
)
from telephony_webhooks.providers.generic import (
    EVENT_TYPE_LIMIT,
    clip,
    now,
    seconds,
)

PROVIDER = "twilio"
SECRET_NAME = "TWILIO_AUTH_TOKEN"
SIGNATURE_HEADER = "x-twilio-signature"
PATHS = ("status", "recording", "dial-action")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# A call that never got past Twilio (or an agent leg that did not pick up) ends like this.
_UNANSWERED: dict[str, EndStatus] = {
    "busy": "busy",
    "no-answer": "missed",
    "canceled": "missed",
    "failed": "failed",
}
_DIAL_RESULTS: dict[str, EndStatus] = {
    "completed": "answered",
    "answered": "answered",
    **_UNANSWERED,
}


# --- signature --------------------------------------------------------------------------------


def _signed_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    # Twilio sorts by name, then by value, and drops exact duplicates.
    return "".join(name + value for name, value in sorted(set(pairs)))


def sign_form(
    auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]]
) -> str:
    """The `X-Twilio-Signature` Twilio would send for a form POST of `params` to `url`."""
    pairs = params.items() if isinstance(params, Mapping) else params
    data = url + _signed_pairs(pairs)
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus with the default port added or removed.

    Twilio's own validator tries both because its signing side is inconsistent about ports.
    """
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if port is not None and port == default:
        variants.append(urlunsplit(parts._replace(netloc=prefix + host)))
    elif port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    return variants


def _form_pairs(request: RawRequest) -> list[tuple[str, str]]:
    content_type = request.content_type.lower()
    if "json" in content_type:
        return []  # JSON bodies are covered by bodySHA256 in the URL, not by params
    if request.body and ("urlencoded" in content_type or not content_type):
        try:
            # Pairs, not a dict: repeated names are signed value by value.
            return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise ProviderError(400, "body is not UTF-8") from exc
    return list(request.form.items())


def verify(request: RawRequest, secrets: Mapping[str, str]) -> None:
    """Check `X-Twilio-Signature` against `request.url` (with and without the default port)."""
    auth_token = secrets.get(SECRET_NAME)
    if not auth_token:
        raise ProviderError(404, "twilio is not configured")
    given = request.headers.get(SIGNATURE_HEADER)
    if not given:
        raise ProviderError(401, "X-Twilio-Signature is missing")
    pairs = _form_pairs(request)
    if "json" in request.content_type.lower():
        body_hash = parse_qs(urlsplit(request.url).query).get("bodySHA256", [""])[0]
        if not same_secret(body_hash, hashlib.sha256(request.body).hexdigest()):
            raise ProviderError(401, "bodySHA256 does not match the body")
    for url in _url_variants(request.url):
        if same_secret(given.strip(), sign_form(auth_token, url, pairs)):
            return
    raise ProviderError(401, "X-Twilio-Signature does not match")


# --- accept -----------------------------------------------------------------------------------


def _kind_of(request: RawRequest) -> str:
    return known_path(request, PATHS, "twilio callback")


def _params(request: RawRequest) -> dict[str, str]:
    if request.form:
        return dict(request.form)
    return dict(_form_pairs(request))


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise ProviderError(400, f"field {name!r} is missing")
    return value


def _call_key(params: Mapping[str, str]) -> str:
    # Agent legs carry ParentCallSid: their events belong to the caller's call.
    return bounded_call_key(params.get("ParentCallSid", "").strip() or _required(params, "CallSid"))


def accept(request: RawRequest) -> Accepted:
    """Dedupe: CallSid+SequenceNumber (status), RecordingSid+status, CallSid+DialCallSid (dial)."""
    kind = _kind_of(request)
    params = _params(request)
    call_sid = _required(params, "CallSid")
    if kind == "status":
        status = _required(params, "CallStatus").lower()
        # Number-level status callbacks carry no SequenceNumber; the status is unique there.
        sequence = params.get("SequenceNumber", "").strip() or status
        parts, event_type = [call_sid, sequence], f"status:{status}"
    elif kind == "recording":
        recording_sid = _required(params, "RecordingSid")
        state = params.get("RecordingStatus", "").strip().lower()
        parts, event_type = [recording_sid, state], f"recording:{state}"
    else:
        result = _required(params, "DialCallStatus").lower()
        parts = [call_sid, params.get("DialCallSid", "").strip(), result]
        event_type = f"dial-action:{result}"
    return Accepted(
        dedupe_key=bounded_key(f"{PROVIDER}:{kind}", parts),
        call_key=_call_key(params),
        event_type=event_type[:EVENT_TYPE_LIMIT],
    )


# --- parse ------------------------------------------------------------------------------------


def _time(value: str | None) -> datetime | None:
    """RFC 2822 as Twilio sends it; '-0000' parses naive and means UTC."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _agent(identity: str | None) -> str | None:
    """The login of a Client or SIP endpoint: 'client:alice' → 'alice', 'sip:101@x' → '101'."""
    text = (identity or "").strip()
    for scheme in ("client:", "sip:"):
        if text.lower().startswith(scheme):
            return text[len(scheme) :].split("@", 1)[0].split(";", 1)[0][:64] or None
    return None


def _parties(
    params: Mapping[str, str],
) -> tuple[Direction | None, str | None, str | None, str | None]:
    """(direction, client number, our number, extension) of the whole call, numbers raw."""
    source, target = clip(params.get("From")), clip(params.get("To"))
    if params.get("ParentCallSid", "").strip():
        # An agent leg of <Dial>: its To is whoever was dialled, which is an agent for an
        # inbound call but the client for a softphone's outbound call, so only a Client/SIP
        # identity is trusted as the extension and the parent call says the rest.
        return None, None, None, _agent(target)
    if params.get("Direction", "").strip().lower() == "inbound":
        # Only `client:` identities are surely ours (a Twilio Client softphone calling out);
        # a `sip:` caller may be anyone's PBX, so it stays a raw caller.
        if not (source or "").lower().startswith("client:"):
            return "in", source, target, None
        return "out", target, None, _agent(source)
    # outbound-api: a call we created through the REST API.
    return "out", target, source if _agent(source) is None else None, _agent(source)


def _event(
    params: Mapping[str, str],
    kind: EventKind,
    at: datetime,
    *,
    started_at: datetime | None = None,
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
    status: EndStatus | None = None,
    talk_seconds: int | None = None,
    recording: str | None = None,
    disposition: str | None = None,
) -> CallEvent:
    direction, client, ours, extension = _parties(params)
    return CallEvent(
        provider=PROVIDER,
        provider_call_id=_call_key(params),
        kind=kind,
        occurred_at=at,
        direction=direction,
        client_number=client,
        our_number=ours,
        extension=extension,
        status=status,
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        talk_seconds=talk_seconds,
        recording=recording,
        disposition=disposition,
    )


def _when(request: RawRequest, params: Mapping[str, str], *names: str) -> datetime:
    for name in names:
        moment = _time(params.get(name))
        if moment is not None:
            return moment
    return received_at(request) or now()


def _status_events(request: RawRequest, params: Mapping[str, str]) -> list[CallEvent]:
    status = params.get("CallStatus", "").strip().lower()
    if status in {"", "queued"}:
        return []
    at = _when(request, params, "Timestamp")
    direction = params.get("Direction", "").strip().lower()
    is_leg = bool(params.get("ParentCallSid", "").strip())
    if status in {"initiated", "ringing"}:
        return [_event(params, "ringing", at, started_at=None if is_leg else at)]
    if status == "in-progress":
        if direction == "inbound" and not is_leg:
            return []  # Twilio itself answered to run our TwiML; no person has picked up yet
        return [_event(params, "answered", at, answered_at=at)]
    if is_leg:
        return []  # an agent leg ending says nothing of the call: the dial result does
    talk = seconds(params.get("CallDuration"))
    if status == "completed" and direction == "inbound":
        # The parent's duration includes IVR and ringing: not talk time. The dial result
        # (or a later `final`) says how the call ended.
        return [_event(params, "ended", at, ended_at=at)]
    if status == "completed":
        return [_final(params, at, "answered", talk, status)]
    if status in _UNANSWERED:
        return [_final(params, at, _UNANSWERED[status], 0, status)]
    return []


def _final(
    params: Mapping[str, str], at: datetime, status: EndStatus, talk: int | None, raw: str
) -> CallEvent:
    return _event(
        params,
        "final",
        at,
        ended_at=at,
        status=status,
        talk_seconds=talk if status == "answered" else 0,
        disposition=raw[:64],
    )


def _dial_events(request: RawRequest, params: Mapping[str, str]) -> list[CallEvent]:
    result = params.get("DialCallStatus", "").strip().lower()
    status = _DIAL_RESULTS.get(result)
    if status is None:
        return []
    at = _when(request, params, "Timestamp")
    events = [_final(params, at, status, seconds(params.get("DialCallDuration")), result)]
    recording = clip(params.get("RecordingUrl"), 1024)
    if recording:
        events.append(_event(params, "recording", at, recording=recording))
    return events


def _recording_events(request: RawRequest, params: Mapping[str, str]) -> list[CallEvent]:
    if params.get("RecordingStatus", "completed").strip().lower() != "completed":
        return []  # in-progress/absent/failed: nothing to attach yet
    reference = clip(params.get("RecordingUrl"), 1024) or clip(params.get("RecordingSid"), 1024)
    if reference is None:
        return []
    at = _when(request, params, "Timestamp", "RecordingStartTime")
    return [
        CallEvent(
            provider=PROVIDER,
            provider_call_id=_call_key(params),
            kind="recording",
            occurred_at=at,
            recording=reference,
        )
    ]


def parse(request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
    """CallEvents of one stored Twilio callback (none for states that change nothing)."""
    kind = _kind_of(request)
    params = _params(request)
    _required(params, "CallSid")
    if kind == "status":
        return _status_events(request, params)
    if kind == "recording":
        return _recording_events(request, params)
    return _dial_events(request, params)


def reply(
    request: RawRequest, accepted: Accepted, lookup: LookupResult | None, options: ProviderOptions
) -> Reply:
    """Empty TwiML for `<Dial action>` (the call then hangs up); an empty 200 otherwise."""
    if request.path.strip("/") == "dial-action":
        return Reply(body=EMPTY_TWIML, media_type="text/xml")
    return Reply()
