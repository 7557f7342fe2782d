"""`perezvon run` as deployed: a real process on a free port, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def perezvon_run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m app.cli run` on a fresh SQLite file; yields its URL and the process."""
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PEREZVON_")
    }
    environment |= {
        "PEREZVON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "PEREZVON_GENERIC_TOKEN": "run-token",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--port", str(port), *args],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def test_run_says_what_it_runs_and_skips_and_has_no_access_log_by_default(
    tmp_path: Path,
) -> None:
    with perezvon_run(tmp_path) as (url, process):
        assert _get(url + "/webhooks/generic/lookup?phone=79161234567&token=run-token") == 200
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert "Application startup complete" in err
    assert (
        "running: webhooks, scheduler\n"
        "skipped: bot (set PEREZVON_TELEGRAM_TOKEN, a token from @BotFather)\n" in out
    )
    assert "/webhooks/generic/lookup" not in out + err


def test_the_access_log_when_enabled_masks_secrets(tmp_path: Path) -> None:
    with perezvon_run(tmp_path, env={"PEREZVON_ACCESS_LOG": "true"}) as (url, process):
        assert _get(url + "/webhooks/generic/lookup?phone=79161234567&token=run-token") == 200
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert "/webhooks/generic/lookup?phone=79161234567&token=***" in out
    assert "run-token" not in out + err
