"""Every provider adapter by name, and which secrets switch it on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("zadarma", ZADARMA, (("ZADARMA_SECRET",),)),
        Provider("novofon", NOVOFON, (("NOVOFON_SECRET",),)),
        Provider("mango", MANGO, (("MANGO_API_KEY", "MANGO_API_SALT"),)),
        Provider("itoolabs", ITOOLABS, (("ITOOLABS_TOKEN",),)),
        Provider("twilio", twilio, (("TWILIO_AUTH_TOKEN",),)),
        Provider("generic", generic, (("GENERIC_TOKEN",),)),
        Provider("3cx", threecx, (("THREECX_TOKEN",), ("GENERIC_TOKEN",))),
    )
}
