"""What each CLI command does, over the container and the core services."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from app import cli_output
from app.server import uvicorn_config
from app.settings import Settings
from app.wiring import Container
from core import migrate
from core.context import Actor, Ctx
from core.db import is_sqlite
from core.errors import NotFound
from core.services import api_keys, users

if TYPE_CHECKING:
    import httpx

SYSTEM = Actor.system("cli")
ROLE_NOUNS = {"admin": "an admin", "manager": "a manager", "sales": "a salesperson"}


def db_upgrade(settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print(f"database is up to date: {_safe_url(settings.database_url)}")
    return 0


def run(
    settings: Settings, *, components: Sequence[str] | None, host: str | None, port: int | None
) -> int:
    """Migrate, then serve the HTTP app with the chosen (or every configured) component."""
    import uvicorn

    from app.components import select

    chosen, skipped = select(settings, components)
    migrate.upgrade(settings.database_url)
    container = Container.build(settings)
    for component in chosen:
        component.prepare(container)  # CannotRun: one line, exit 2
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
    )
    uvicorn.Server(config).run()
    return 0


async def users_invite(settings: Settings, *, role: str, name: str | None) -> int:
    container = Container.build(settings)
    try:
        invite = await container.run(
            lambda ctx: users.create_invite(ctx, actor=SYSTEM, role=role, name=name)
        )
    finally:
        await container.dispose()
    until = f"{invite.expires_at:%Y-%m-%d %H:%M}"
    print(f"invite for {ROLE_NOUNS.get(role, role)}, valid until {until} UTC")
    from app.bot_component import bot_username

    if username := await bot_username(settings):
        print(f"open: https://t.me/{username}?start={invite.code}")
    print(f"send the bot: /start {invite.code}")
    print(invite.code)
    return 0


async def users_list(settings: Settings, *, as_json: bool = False) -> int:
    container = Container.build(settings)

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

    try:
        found = await container.run(rows)
    finally:
        await container.dispose()
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
    container = Container.build(settings)

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

    try:
        print(await container.run(use_case))
    finally:
        await container.dispose()
    return 0


async def api_keys_create(settings: Settings, *, name: str, role: str) -> int:
    container = Container.build(settings)
    try:
        key, plain = await container.run(
            lambda ctx: api_keys.create(ctx, actor=SYSTEM, name=name, role=role)
        )
    finally:
        await container.dispose()
    print(f"API key {key.id} '{key.name}' ({key.role}); it is shown only now, store it safely:")
    print(plain)
    return 0


async def demo_seed(settings: Settings, *, contacts: int, users: int, seed: int) -> int:
    from tqdm import tqdm

    from core import demo

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


async def doctor(settings: Settings) -> int:
    """Print what is configured and what is missing; exit 1 if the database is unreachable."""
    problems = 0
    print(f"database      {_safe_url(settings.database_url)}")
    container = Container.build(settings)
    try:
        async with container.engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        print(f"  schema      {version} (ok)")
    except Exception as exc:  # doctor reports every failure instead of raising
        name = type(exc).__name__
        hint = "run `perezvon db upgrade`" if "alembic_version" in str(exc) else str(exc)[:200]
        print(f"  schema      NOT READY: {name}: {hint}")
        problems += 1
    finally:
        await container.dispose()
    if is_sqlite(settings.database_url):
        print("  note        SQLite: fine for one process; use PostgreSQL for several instances")
    print(
        f"region/zone   {settings.default_region} / {settings.timezone}, locale {settings.locale}"
    )
    print(f"visibility    {settings.visibility}; callback SLA {settings.callback_sla_minutes} min")
    print(f"own numbers   {', '.join(sorted(settings.core_config().own_numbers)) or 'none set'}")
    token = "set" if settings.telegram_token else "PEREZVON_TELEGRAM_TOKEN not set"
    print(f"telegram      token {token} ({settings.telegram_mode}, {settings.telegram_api_url})")
    public = settings.public_url or "PEREZVON_PUBLIC_URL not set (needed for Twilio, bot webhook)"
    print(f"public url    {public}")
    for line in _provider_lines(settings.provider_secrets()):
        print(line)
    redis = _safe_url(settings.redis_url) if settings.redis_url else "PEREZVON_REDIS_URL not set"
    print(f"redis         {redis}")
    for line in _component_lines(settings):
        print(line)
    return 1 if problems else 0


def _provider_lines(secrets: Mapping[str, str]) -> list[str]:
    from telephony_webhooks.providers.registry import PROVIDERS

    lines = []
    for name, provider in PROVIDERS.items():
        if not provider.enabled(secrets):
            state = f"disabled (set {provider.setting_names()})"
        else:
            group = next(g for g in provider.secret_groups if all(secrets.get(n) for n in g))
            state = f"enabled (by {' + '.join('PEREZVON_' + n for n in group)})"
        lines.append(f"pbx {name:10}{state}")
    return lines


def _component_lines(settings: Settings) -> list[str]:
    """What `perezvon run` (no --components) will start, and what it will skip and why."""
    from app.components import select

    chosen, skipped = select(settings, None)
    lines = [f"run starts    {', '.join(c.name for c in chosen) or 'the HTTP app only'}"]
    lines += [f"run skips     {name} ({reason})" for name, reason in skipped]
    return lines


def _safe_url(url: str) -> str:
    """A database/redis URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a redis URL make_url can't read: strip credentials by hand
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('@')[-1]}"


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
