"""The `perezvon` process as a newcomer meets it (issue 15, defects 5, 9 and 10): one line
instead of a traceback, no port bound by a component that serves no HTTP, no empty database
left behind, fast start-up, and `users invite` that always prints the code.

These run the real entry point (`python -m app.cli`) in a subprocess: the behaviour is the
process's (what it prints, its exit code, the ports it binds, the files it creates).
"""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("PEREZVON_TEST_DATABASE_URL")
SECRET = "AAHs3cretTokenPart"


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("PEREZVON_")}
    return {**clean, "PYTHONPATH": str(ROOT), **(env or {})}


def perezvon(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _sqlite(tmp_path: Path, name: str = "crm.db") -> dict[str, str]:
    return {"PEREZVON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}"}


# --- defect 5: a malformed bot token ------------------------------------------------------


@pytest.mark.parametrize("token", ["abc", f"bot123456:{SECRET}", f"123456:{SECRET} x"])
def test_a_malformed_token_stops_run_and_doctor_with_one_line_naming_the_setting(
    tmp_path: Path, token: str
) -> None:
    env = {**_sqlite(tmp_path), "PEREZVON_TELEGRAM_TOKEN": token}
    for command in (["run", "--port", str(free_port())], ["doctor"]):
        done = perezvon(tmp_path, *command, env=env)
        line = _one_error_line(done)
        assert done.returncode == 2
        assert line.startswith("error: PEREZVON_TELEGRAM_TOKEN: ")
        assert SECRET not in done.stdout + done.stderr and "abc" not in line


# --- defect 9: database URLs ---------------------------------------------------------------


def test_libpq_sslmode_is_taken_and_a_password_never_printed(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: the line must be about reaching it
    url = f"postgresql://app:pw-s3cret@127.0.0.1:{port}/crm?sslmode=require"
    done = perezvon(tmp_path, "users", "list", env={"PEREZVON_DATABASE_URL": url})
    line = _one_error_line(done)
    assert done.returncode == 1
    assert line.startswith("error: cannot reach the database at postgresql+asyncpg://app:***@")
    assert "s3cret" not in done.stdout + done.stderr


@pytest.mark.skipif(not PG_URL, reason="needs PEREZVON_TEST_DATABASE_URL")
def test_libpq_forms_work_against_postgresql(tmp_path: Path) -> None:
    assert PG_URL is not None
    libpq = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    url = libpq + ("&" if "?" in libpq else "?") + "sslmode=prefer"
    env = {"PEREZVON_DATABASE_URL": url}
    assert perezvon(tmp_path, "db", "upgrade", env=env).returncode == 0
    done = perezvon(tmp_path, "doctor", env=env)
    assert "(ok)" in done.stdout and "ssl=prefer" in done.stdout, done.stdout + done.stderr


def test_doctor_masks_a_password_given_in_the_query(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://app@127.0.0.1:{free_port()}/crm?password=pw-s3cret"
    done = perezvon(tmp_path, "doctor", env={"PEREZVON_DATABASE_URL": url})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "password=***" in done.stdout and "s3cret" not in done.stdout + done.stderr


def test_an_unencoded_at_in_the_password_is_one_line_without_its_tail(tmp_path: Path) -> None:
    url = "postgresql://app:pw-s3c@ret@127.0.0.1/crm"
    done = perezvon(tmp_path, "doctor", env={"PEREZVON_DATABASE_URL": url})
    line = _one_error_line(done)
    assert done.returncode == 2
    assert line.startswith("error: PEREZVON_DATABASE_URL: ") and "%40" in line
    assert "s3c" not in done.stdout + done.stderr and "ret@" not in done.stdout + done.stderr


def test_misspelt_and_unprefixed_names_are_named_by_doctor_and_by_commands(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text(f"TELEGRAM_TOKEN=123456:{SECRET}\n")
    env = {**_sqlite(tmp_path), "PEREZVON_TELEGRAM_TOKN": f"123456:{SECRET}"}
    assert perezvon(tmp_path, "db", "upgrade", env=env).returncode == 0
    doctor = perezvon(tmp_path, "doctor", env=env)
    assert "did you mean PEREZVON_TELEGRAM_TOKEN?" in doctor.stdout
    assert "TELEGRAM_TOKEN (in .env) is ignored" in doctor.stdout
    listing = perezvon(tmp_path, "users", "list", env=env)
    assert listing.returncode == 0
    assert listing.stderr.splitlines() == [
        "warning: PEREZVON_TELEGRAM_TOKN (in the environment) is not a setting and is "
        "ignored; did you mean PEREZVON_TELEGRAM_TOKEN?",
        "warning: TELEGRAM_TOKEN (in .env) is ignored: settings take the prefix, "
        "write PEREZVON_TELEGRAM_TOKEN",
    ]
    assert SECRET not in doctor.stdout + doctor.stderr + listing.stderr


def test_the_access_log_masks_an_api_key_in_the_query(tmp_path: Path) -> None:
    from tests.app.test_run import perezvon_run

    with perezvon_run(tmp_path, env={"PEREZVON_ACCESS_LOG": "true"}) as (url, process):
        request = urllib.request.Request(f"{url}/api/v1/contacts?q=a&access_token=pzv_s3cret")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5)
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert "/api/v1/contacts?q=a&access_token=*** HTTP/1.1" in out
    assert "s3cret" not in out + err


# --- defect 10: components that serve no HTTP ---------------------------------------------


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _started(
    tmp_path: Path, *args: str, env: dict[str, str], ready: str, on_stderr: bool = False
) -> Iterator[subprocess.Popen[str]]:
    """`perezvon run ARGS` until its stdout (or stderr) shows `ready`; SIGTERM after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", *args],
        cwd=tmp_path,
        env=_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stream = process.stderr if on_stderr else process.stdout
        assert stream is not None
        seen = ""
        while ready not in seen:
            line = stream.readline()
            if not line:
                break
            seen += line
        assert ready in seen, seen
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_the_scheduler_alone_binds_no_port_and_a_second_process_serves_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {**_sqlite(tmp_path), "PEREZVON_GENERIC_TOKEN": "t0ken"}
    with _started(
        tmp_path, "--components", "scheduler", "--port", str(port), env=env, ready="running:"
    ) as scheduler:
        assert not _accepts(port)
        with (
            _started(
                tmp_path,
                *("--components", "webhooks", "--port", str(port)),
                env=env,
                ready="Uvicorn running on",
                on_stderr=True,
            ),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer,
        ):
            assert answer.status == 200
        assert scheduler.poll() is None  # still running beside it
        scheduler.terminate()
        _out, err = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0 and "Traceback" not in err


async def _bot_process(
    tmp_path: Path, fake: FakeTelegram, *extra: str
) -> tuple[int, bool, int, str]:
    """Run `--components bot EXTRA` until it polls the fake Telegram; (port, bound, rc, err)."""
    port = free_port()
    env = {
        **_sqlite(tmp_path),
        "PEREZVON_TELEGRAM_TOKEN": TOKEN,
        "PEREZVON_TELEGRAM_API_URL": fake.url,
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "app.cli", "run", "--components", "bot", "--port", str(port)),
        *extra,
        cwd=tmp_path,
        env=_environment(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    fake.polled.clear()
    try:
        # Polling has started at the first getUpdates (its answer comes only after the long
        # poll's 10 s: waiting for that made each run 10 s longer).
        await asyncio.wait_for(fake.polled.wait(), 60)
        if extra:  # the HTTP server starts beside the bot: wait until it listens
            assert process.stderr is not None
            async with asyncio.timeout(30):
                while b"Uvicorn running on" not in await process.stderr.readline():
                    pass
        bound = _accepts(port)
    finally:
        process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    return port, bound, process.returncode or 0, err.decode()


async def test_the_bot_alone_binds_no_port_and_with_http_it_does(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    try:
        _port, bound, code, err = await _bot_process(tmp_path, fake)
        assert not bound and code == 0 and "Traceback" not in err
        fake.calls.clear()
        _port, bound, code, err = await _bot_process(tmp_path, fake, "--http")
        # uvicorn ends by re-raising the SIGTERM it handled: -15 is its clean exit
        assert bound and code in (0, -15) and "Traceback" not in err
    finally:
        await fake.stop()


def test_every_components_command_in_the_readme_says_what_it_binds() -> None:
    """The README's `perezvon run --components …` lines: only bot and scheduler alone are
    said to serve no HTTP, and the code agrees for each (the processes: the tests above)."""
    from app.components import REGISTRY
    from app.settings import Settings

    settings = Settings(telegram_token="1:x")  # type: ignore[arg-type]
    by_name = {c.name: c for c in REGISTRY}
    text = (ROOT / "README.md").read_text()
    lines = [line for line in text.splitlines() if "perezvon run --components" in line]
    assert len(lines) >= 3
    for line in lines:
        names = line.split("--components", 1)[1].split()[0].strip("`,.()").split(",")
        http = "--http" in line or any(by_name[n].serves_http(settings) for n in names)
        says_none = "no HTTP server" in line or "binds no port" in line
        assert not (says_none and http), line
        if names == ["bot"] and "--http" not in line:
            assert says_none, line


# --- defect 10: files and folders ----------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", "contacts", "missing/contacts.xlsx"],
        [
            "report",
            "digest",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            "missing/d.xlsx",
        ],
        ["import", "contacts", "in.csv", "--rejected", "missing/rejected.xlsx"],
    ],
)
def test_writing_into_a_folder_that_does_not_exist_names_the_folder(
    tmp_path: Path, command: list[str]
) -> None:
    env = _sqlite(tmp_path)
    assert perezvon(tmp_path, "db", "upgrade", env=env).returncode == 0
    (tmp_path / "in.csv").write_text("Имя;Телефон\nИван;+7 916 123-45-67\nБез телефона;нет\n")
    done = perezvon(tmp_path, *command, env=env)
    line = _one_error_line(done)
    assert done.returncode == 2
    assert f"the folder {tmp_path / 'missing'} does not exist" in line
    assert "database" not in line


@pytest.mark.parametrize("command", [["users", "list"], ["calls", "list"], ["doctor"]])
def test_a_command_run_where_there_is_no_database_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    done = perezvon(tmp_path, *command)  # the default ./perezvon.db, in an empty folder
    assert done.returncode == 1
    assert not (tmp_path / "perezvon.db").exists()
    said = done.stdout + done.stderr
    assert f"no database at {tmp_path / 'perezvon.db'}" in said
    assert "perezvon db upgrade" in said and "PEREZVON_DATABASE_URL" in said
    if command != ["doctor"]:
        _one_error_line(done)


# --- defect 10: start-up time --------------------------------------------------------------

HEAVY = ("fastapi", "uvicorn", "aiogram", "openpyxl", "alembic", "apscheduler")
PROBE = """
import sys
from app.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED", " ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.parametrize(
    ("command", "also_absent"),
    [
        (["--version"], ("sqlalchemy", "pydantic", "pydantic_settings", "core")),
        (["--help"], ("sqlalchemy", "pydantic", "pydantic_settings", "core")),
        (["calls", "--help"], ("sqlalchemy", "pydantic", "core")),
        (["doctor"], ()),
        (["calls", "list"], ()),
        (["users", "list", "--json"], ()),
    ],
)
def test_fast_commands_load_no_framework(
    tmp_path: Path, command: list[str], also_absent: tuple[str, ...]
) -> None:
    if command[-1] != "--help" and command[0] != "--version":
        assert perezvon(tmp_path, "db", "upgrade", env=_sqlite(tmp_path)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command],
        cwd=tmp_path,
        env=_environment(_sqlite(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    loaded = set(done.stdout.rsplit("LOADED", 1)[1].split())
    assert loaded & {*HEAVY, *also_absent} == set()


# --- defect 10: users invite without Telegram ----------------------------------------------


class _HtmlBadGateway(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *_args: object) -> None:
        return None


@contextmanager
def _html_502() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlBadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _silent() -> Iterator[str]:
    """A port that takes connections (the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        (_silent, "did not answer within 3 s"),
        (_html_502, "answered 502 with a page that is not the Bot API's"),
    ],
)
def test_invite_without_telegram_prints_the_code_and_says_why_there_is_no_link(
    tmp_path: Path, server: object, reason: str
) -> None:
    with server() as api_url:  # type: ignore[operator]
        env = {
            **_sqlite(tmp_path),
            "PEREZVON_TELEGRAM_TOKEN": f"123456:{SECRET}",
            "PEREZVON_TELEGRAM_API_URL": api_url,
        }
        assert perezvon(tmp_path, "db", "upgrade", env=env).returncode == 0
        started = time.monotonic()
        done = perezvon(tmp_path, "users", "invite", "--role", "sales", env=env)
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    code = lines[-1]
    assert f"send the bot: /start {code}" in lines and not any("t.me" in x for x in lines)
    assert done.stderr.splitlines() == [f"no t.me link: Telegram at {api_url} {reason}"]
    assert SECRET not in done.stdout + done.stderr
    assert elapsed < 20  # the wait is bounded (3 s), whatever else the machine is doing


def test_doctor_lists_every_bad_setting_and_what_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    for name in list(os.environ):
        if name.upper().startswith("PEREZVON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEREZVON_LOCALE", "de")
    monkeypatch.setenv("PEREZVON_TELEGRAM_TOKEN", f"bot123456:{SECRET}")
    monkeypatch.setenv("PEREZVON_VISIBILTY", "all")
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "warning: PEREZVON_VISIBILTY (in the environment) is not a setting and is ignored; "
        "did you mean PEREZVON_VISIBILITY?"
    )
    assert [line.split(":")[1].strip() for line in err[1:]] == [
        "PEREZVON_TELEGRAM_TOKEN",
        "PEREZVON_LOCALE",
    ]
    assert SECRET not in "\n".join(err)
