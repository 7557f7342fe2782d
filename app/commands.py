"""What each CLI command does, over the container and the core services.

Imports are light at the top (the CLI's start-up time): migrations, FastAPI, uvicorn and the
services load inside the commands that use them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app import cli_output
from app.settings import Settings
from app.wiring import Container
from core.context import Actor, Ctx
from core.db import display_url
from core.errors import NotFound

if TYPE_CHECKING:
    import httpx

    from app.components import Component

log = logging.getLogger("perezvon")
SYSTEM = Actor.system("cli")
ROLE_NOUNS = {"admin": "an admin", "manager": "a manager", "sales": "a salesperson"}


def db_upgrade(settings: Settings) -> int:
    from core import migrate

    applied = migrate.upgrade(settings.database_url)
    where = _safe_url(settings.database_url)
    if applied:
        count = "1 migration" if len(applied) == 1 else f"{len(applied)} migrations"
        print(f"database upgraded to schema {applied[-1]} ({count} applied): {where}")
    else:
        print(f"database is up to date (schema {migrate.head()}): {where}")
    return 0


def run(
    settings: Settings,
    *,
    components: Sequence[str] | None,
    host: str | None,
    port: int | None,
    http: bool = False,
) -> int:
    """Migrate, then run the chosen (or every configured) components: inside the HTTP app's
    lifespan when one of them needs HTTP or `http` asks for it, else in a plain event loop
    (`--components bot` or `scheduler` alone bind no port)."""
    from app.components import select
    from core import migrate

    chosen, skipped = select(settings, components)
    serve_http = http or components is None or any(c.serves_http(settings) for c in chosen)
    migrate.upgrade(settings.database_url)
    container = Container.build(settings)
    for component in chosen:
        component.prepare(container)  # CannotRun: one line, exit 2
    if not serve_http:
        names = ", ".join(c.name for c in chosen)
        print(f"running: {names} (no HTTP server; add --http to serve the API beside it)")
        if host or port:
            print("note: --host/--port are not used: nothing in this process serves HTTP")
        sys.stdout.flush()
        return asyncio.run(_run_without_http(container, chosen))
    import uvicorn

    from app.server import uvicorn_config

    bind_host = host or settings.http_host
    bind_port = port or settings.http_port
    print(f"Perezvon on http://{bind_host}:{bind_port} (API docs at /docs)")
    print(f"running: {', '.join(c.name for c in chosen) or 'the HTTP app only'}")
    for name, reason in skipped:
        print(f"skipped: {name} ({reason})")
    sys.stdout.flush()
    config = uvicorn_config(
        container.http_app(chosen),
        host=bind_host,
        port=bind_port,
        shutdown_seconds=settings.shutdown_timeout_seconds,
        access_log=settings.access_log,
        log_format=settings.log_format,
    )
    uvicorn.Server(config).run()
    return 0


async def _run_without_http(container: Container, chosen: Sequence[Component]) -> int:
    """Start the components, wait for Ctrl+C or SIGTERM, stop them in reverse order."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    started: list[Component] = []
    try:
        for component in chosen:
            await component.start(container)
            started.append(component)
        log.info("started: %s; Ctrl+C stops", ", ".join(c.name for c in started))
        await stopping.wait()
        log.info("stopping")
    finally:
        for component in reversed(started):
            await component.stop()
        await container.dispose()
    return 0


async def users_invite(settings: Settings, *, role: str, name: str | None) -> int:
    """A one-time invite: the `/start <code>` a user sends, always; the t.me link when
    Telegram names the bot within a few seconds, else one line on stderr saying why not."""
    from app.telegram_link import bot_username
    from core.users import service as users

    invite = await Container.run_once(
        settings, lambda ctx: users.create_invite(ctx, actor=SYSTEM, role=role, name=name)
    )
    until = f"{invite.expires_at:%Y-%m-%d %H:%M}"
    print(f"invite for {ROLE_NOUNS.get(role, role)}, valid until {until} UTC")
    print(f"send the bot: /start {invite.code}", flush=True)
    username, reason = await bot_username(settings)
    if username:
        print(f"open: https://t.me/{username}?start={invite.code}")
    else:
        print(f"no t.me link: {reason}", file=sys.stderr)
    print(invite.code)
    return 0


async def users_list(settings: Settings, *, as_json: bool = False) -> int:
    from core.users import service as users

    async def rows(ctx: Ctx) -> list[dict[str, Any]]:
        # Read inside the unit of work: its objects expire when it closes.
        page = await users.list_users(ctx, limit=500)
        return [
            {
                "id": user.id,
                "role": user.role,
                "active": user.active,
                "telegram_user_id": user.telegram_user_id,
                "extensions": list(user.extension_list),
                "name": user.name,
            }
            for user in page.items
        ]

    found = await Container.run_once(settings, rows)
    if as_json:
        print(cli_output.as_json(found, total=len(found)))
        return 0
    columns = ("id", "role", "active", "telegram", "extensions", "name")
    lines = [
        [u["id"], u["role"], "yes" if u["active"] else "no", u["telegram_user_id"], *extra]
        for u in found
        for extra in [(",".join(u["extensions"]) or None, u["name"])]
    ]
    if lines:
        print(cli_output.table(columns, lines))
    print(cli_output.plural(len(found), "user"))
    return 0


async def users_set_extension(
    settings: Settings,
    *,
    telegram_id: int | None,
    user_id: int | None,
    extensions: Sequence[str],
    replace: bool,
) -> int:
    from core.users import service as users

    async def use_case(ctx: Ctx) -> str:
        target = user_id
        if telegram_id is not None:
            user = await users.get_by_telegram_id(ctx, telegram_user_id=telegram_id)
            if user is None:
                raise NotFound(f"no user with Telegram id {telegram_id}")
            target = user.id
        assert target is not None
        updated = await users.set_extensions(
            ctx, actor=SYSTEM, user_id=target, extensions=extensions, replace=replace
        )
        return f"user {updated.id} ({updated.name}): extensions {', '.join(updated.extension_list)}"

    print(await Container.run_once(settings, use_case))
    return 0


async def api_keys_create(settings: Settings, *, name: str, role: str) -> int:
    from core.users import api_keys

    key, plain = await Container.run_once(
        settings, lambda ctx: api_keys.create(ctx, actor=SYSTEM, name=name, role=role)
    )
    print(f"API key {key.id} '{key.name}' ({key.role}); it is shown only now, store it safely:")
    print(plain)
    return 0


async def demo_seed(settings: Settings, *, contacts: int, users: int, seed: int) -> int:
    from tqdm import tqdm

    from app import demo
    from core import migrate

    migrate.upgrade_in_thread(settings.database_url)
    container = Container.build(settings)
    started = time.perf_counter()
    try:
        with tqdm(total=contacts, unit="contacts", desc="seeding") as bar:
            done = 0

            def progress(count: int) -> None:
                nonlocal done
                bar.update(count - done)
                done = count

            report = await demo.seed(
                container.engine, contacts=contacts, users=users, seed=seed, progress=progress
            )
    finally:
        await container.dispose()
    print(_seed_summary(report, time.perf_counter() - started))
    return 0


def _seed_summary(report: Any, seconds: float) -> str:
    """`added 8 users, 1,000 contacts (1,412 phones), … in 2.3 s`."""
    parts = [
        cli_output.plural(report.users, "user"),
        cli_output.plural(report.companies, "company"),
        f"{cli_output.plural(report.contacts, 'contact')} "
        f"({cli_output.plural(report.phones, 'phone')})",
        cli_output.plural(report.calls, "call"),
        cli_output.plural(report.activities, "activity"),
        cli_output.plural(report.deals, "deal"),
        cli_output.plural(report.notes, "note"),
    ]
    return f"demo data: added {', '.join(parts)} in {seconds:.1f} s"


def _safe_url(url: str) -> str:
    """A database/redis URL without its passwords (core.db.display_url)."""
    return display_url(url)


def simulate_call(
    settings: Settings,
    *,
    provider: str,
    client: str,
    extension: str,
    kind: str,
    url: str,
    pause: float = 0.5,
) -> int:
    """Post one signed sample call to a running server, printing each event and its answer."""
    import httpx

    from app.cli import CliError
    from telephony_webhooks.simulate import KINDS, SimulateError, build_call

    chosen = next((k for k in KINDS if k == kind), None)
    if chosen is None:
        raise CliError(f"unknown scenario {kind!r}; use one of {', '.join(KINDS)}")
    base = url.rstrip("/")
    try:
        requests = build_call(
            provider,
            client=client,
            extension=extension,
            kind=chosen,
            secrets=settings.provider_secrets(),
            base_url=(settings.public_url or base).rstrip("/"),
            our_number=next(iter(sorted(settings.core_config().own_numbers)), None),
            timezone=settings.zadarma_timezone or settings.timezone,
        )
    except SimulateError as exc:
        raise CliError(str(exc)) from None
    what = {
        "answered": f"an answered call from {client} to extension {extension}",
        "missed": f"a missed call from {client} to extension {extension}",
        "outbound": f"an outbound call from extension {extension} to {client}",
        "recorded": f"a recorded call from {client} to extension {extension}",
    }[chosen]
    print(f"simulating {what} through {provider} at {base}")
    width = max(len(r.label) for r in requests)
    with httpx.Client(base_url=base, timeout=10.0) as http:
        for number, request in enumerate(requests):
            if number and pause > 0:
                time.sleep(pause)
            try:
                response = http.request(
                    request.method, request.path, headers=request.headers, content=request.body
                )
            except httpx.ConnectError:
                return _fail(f"no Perezvon server is answering at {base} (start: perezvon run)")
            except httpx.TimeoutException:
                return _fail(f"the server at {base} did not answer {request.label} in 10 s")
            except httpx.HTTPError as exc:
                return _fail(f"{request.label}: {type(exc).__name__}: {exc}")
            answer = " ".join(response.text.split())[:120] or "(empty)"
            print(
                f"{request.label:<{width}}  {request.method} {request.path.split('?')[0]}"
                f"  -> {response.status_code} {answer}"
            )
            if response.status_code >= 300:
                return _fail(_explain(provider, request.label, response))
    events = cli_output.plural(len(requests), "event")
    print(
        f"done: {events} accepted; see the call: perezvon calls list (or GET {base}/api/v1/calls)"
    )
    return 0


def _explain(provider: str, label: str, response: httpx.Response) -> str:
    from telephony_webhooks.simulate import required_settings

    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text.strip()[:200]
    status = response.status_code
    if status == 404 and "disabled" in detail:
        return (
            f"{provider} is disabled on the server: set {required_settings(provider)} "
            "there and restart it"
        )
    if status == 404:
        return f"{label}: 404 {detail or 'Not Found'} (is that a Perezvon server?)"
    if status == 401:
        return (
            f"the server refused {label} ({detail}): {required_settings(provider)} "
            "must be the same here and on the server"
        )
    return f"{label}: the server answered {status} {detail}"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
