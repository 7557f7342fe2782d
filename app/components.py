"""What `perezvon run` starts: a small registry of components.

A component has a `name` (what `--components` calls it) and:

- `configured(settings) -> str | None`: None when it can run with these settings, else the
  reason, one line naming the `PEREZVON_` setting to set (e.g. "set PEREZVON_TELEGRAM_TOKEN");
- `routers(container) -> Sequence[APIRouter]`: HTTP routes it adds to the one app (the bot's
  `/telegram/webhook`), usually none;
- `prepare(container)`: claim what must be exclusive before the server starts (the SQLite
  scheduler lock), raising `CannotRun` with one line;
- `serves_http(settings) -> bool`: whether it needs the HTTP server (the webhooks; the bot in
  webhook mode);
- `async start(container)` / `async stop()`: run beside the HTTP server, in its event loop,
  inside the app's lifespan (started in registry order, stopped in reverse); without an
  HTTP server, in a plain event loop until SIGINT/SIGTERM;
- `readiness() -> str | None`: "ok" or the state that makes `/readyz` answer 503 (the bot:
  "connecting", "stopped"); None when it has nothing to report.

The HTTP app (REST API, health, /docs) is served when a chosen component needs it, when
`--http` asks for it, and always without `--components`; `--components bot` or `scheduler`
alone bind no port, so they run beside an instance that serves. `perezvon run` with no
`--components` runs every registered component that is configured and says which it
skipped and why; `--components a,b` runs exactly those, and a name that is unknown or
not configured stops start-up with one line (exit 2).

To add one (the bot, the scheduler): write a class with these members (subclass `Component`
for no-op defaults), append an instance to `REGISTRY` below. Only app/ wires adapters
together, so the class lives in app/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from app.settings import Settings
    from app.wiring import Container


class CannotRun(Exception):
    """A component asked for by name cannot run: one line, exit 2."""


class Component:
    """Base with no-op members; a component overrides what it needs."""

    name = ""

    def configured(self, settings: Settings) -> str | None:
        return None

    def routers(self, container: Container) -> Sequence[APIRouter]:
        return ()

    def serves_http(self, settings: Settings) -> bool:
        return False

    def prepare(self, container: Container) -> None:
        """Claim what must be exclusive before the server starts; CannotRun (one line) if
        something else holds it."""
        return None

    async def start(self, container: Container) -> None:
        return None

    async def stop(self) -> None:
        return None

    def readiness(self) -> str | None:
        """ "ok", or the state that keeps this process from being ready; None: not reported."""
        return None


class Webhooks(Component):
    """PBX webhooks and the inbox processor: part of the HTTP app, always available.

    A provider whose secret is not set answers 404, so there is nothing to configure first.
    """

    name = "webhooks"

    def serves_http(self, settings: Settings) -> bool:
        return True


class _BuiltOnDemand(Component):
    """A component that builds the one doing the work when first needed (its imports load only
    then) and hands it stop and readiness."""

    def __init__(self) -> None:
        self._built: Component | None = None

    async def stop(self) -> None:
        if self._built is not None:
            await self._built.stop()
            self._built = None

    def readiness(self) -> str | None:
        """The built one's (the scheduler: "ok" once its jobs are scheduled, "starting" before);
        None before it is built."""
        return self._built.readiness() if self._built is not None else None


class Scheduler(_BuiltOnDemand):
    """Reminders, greetings, digests and housekeeping (app/scheduler_component.py)."""

    name = "scheduler"

    def prepare(self, container: Container) -> None:
        """On SQLite one scheduler per database: a second one stops start-up with one line."""
        from app.scheduler_component import SchedulerComponent, SchedulerError

        running = SchedulerComponent()
        try:
            running.make(container).claim_database()
        except SchedulerError as exc:
            raise CannotRun(str(exc)) from exc
        self._built = running

    async def start(self, container: Container) -> None:
        if self._built is None:
            self.prepare(container)
        assert self._built is not None
        await self._built.start(container)


class Bot(_BuiltOnDemand):
    """The Telegram bot and its outbox sender (app/bot_component.py)."""

    name = "bot"

    def configured(self, settings: Settings) -> str | None:
        # Settings only: `run` and `doctor` ask every component, and aiogram loads only when
        # the bot is built.
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
        if not token:
            return "set PEREZVON_TELEGRAM_TOKEN, a token from @BotFather"
        if settings.telegram_mode == "webhook" and not settings.public_url:
            return "PEREZVON_TELEGRAM_MODE=webhook needs PEREZVON_PUBLIC_URL"
        return None

    def serves_http(self, settings: Settings) -> bool:
        return settings.telegram_mode == "webhook"  # Telegram POSTs to /telegram/webhook

    def _build(self, container: Container) -> Component:
        if self._built is None:
            from app.bot_component import BotComponent

            self._built = BotComponent(container)
        return self._built

    def routers(self, container: Container) -> Sequence[APIRouter]:
        return self._build(container).routers(container)

    async def start(self, container: Container) -> None:
        await self._build(container).start(container)


REGISTRY: list[Component] = [Webhooks(), Scheduler(), Bot()]


def known_names() -> tuple[str, ...]:
    return tuple(c.name for c in REGISTRY)


def select(
    settings: Settings, requested: Sequence[str] | None
) -> tuple[list[Component], list[tuple[str, str]]]:
    """The components to run and the (name, reason) pairs skipped; CannotRun if asked for one
    that cannot run."""
    by_name = {c.name: c for c in REGISTRY}
    if requested is None:
        chosen, skipped = [], []
        for component in REGISTRY:
            reason = component.configured(settings)
            if reason is None:
                chosen.append(component)
            else:
                skipped.append((component.name, reason))
        return chosen, skipped
    chosen = []
    for name in dict.fromkeys(requested):
        found = by_name.get(name)
        if found is None:
            raise CannotRun(f"unknown component {name!r}; use {','.join(known_names())}")
        reason = found.configured(settings)
        if reason is not None:
            raise CannotRun(f"component {name} cannot run: {reason}")
        chosen.append(found)
    return chosen, []
