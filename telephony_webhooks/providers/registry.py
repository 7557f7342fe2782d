"""Every provider adapter by name, and which secrets switch it on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.events import CallEvent
from telephony_webhooks.providers import generic, threecx, twilio
from telephony_webhooks.providers.base import (
    Accepted,
    LookupResult,
    ProviderOptions,
    RawRequest,
    Reply,
)
from telephony_webhooks.providers.itoolabs import ITOOLABS
from telephony_webhooks.providers.mango import MANGO
from telephony_webhooks.providers.zadarma import NOVOFON, ZADARMA


class Adapter(Protocol):
    def verify(self, request: RawRequest, secrets: Mapping[str, str]) -> None: ...

    def accept(self, request: RawRequest) -> Accepted: ...

    def parse(self, request: RawRequest, options: ProviderOptions) -> list[CallEvent]: ...

    def reply(
        self,
        request: RawRequest,
        accepted: Accepted,
        lookup: LookupResult | None,
        options: ProviderOptions,
    ) -> Reply: ...


@dataclass(frozen=True)
class Provider:
    name: str
    adapter: Adapter
    # Any one of these groups, fully set, enables the provider.
    secret_groups: tuple[tuple[str, ...], ...]
    # Which request fields a normalized event time comes from, for error messages.
    time_fields: Mapping[str, str] = field(default_factory=dict)

    def enabled(self, secrets: Mapping[str, str]) -> bool:
        for group in self.secret_groups:  # plain loops: this runs on every webhook
            for name in group:
                if not secrets.get(name):
                    break
            else:
                return True
        return False

    def setting_names(self) -> str:
        return " or ".join(" + ".join(f"PEREZVON_{n}" for n in g) for g in self.secret_groups)


TIMES = ("occurred_at", "started_at", "answered_at", "ended_at")
ZADARMA_TIMES = dict.fromkeys(TIMES, "call_start")
ITOOLABS_TIMES = dict.fromkeys(TIMES, "start")
PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("zadarma", ZADARMA, (("ZADARMA_SECRET",),), ZADARMA_TIMES),
        Provider("novofon", NOVOFON, (("NOVOFON_SECRET",),), ZADARMA_TIMES),
        Provider(
            "mango",
            MANGO,
            (("MANGO_API_KEY", "MANGO_API_SALT"),),
            {
                "occurred_at": "timestamp or end_time",
                "started_at": "create_time",
                "answered_at": "talk_time or timestamp",
                "ended_at": "end_time",
            },
        ),
        Provider("itoolabs", ITOOLABS, (("ITOOLABS_TOKEN",),), ITOOLABS_TIMES),
        Provider("twilio", twilio, (("TWILIO_AUTH_TOKEN",),), dict.fromkeys(TIMES, "Timestamp")),
        Provider(
            "generic",
            generic,
            (("GENERIC_TOKEN",),),
            {"occurred_at": "timestamp"} | {name: name for name in TIMES[1:]},
        ),
        Provider(
            "3cx",
            threecx,
            (("THREECX_TOKEN",), ("GENERIC_TOKEN",)),
            dict.fromkeys(TIMES, "CallStartTimeUTC or CallEndTimeUTC"),
        ),
    )
}
