"""LibreOffice, headless, for the tests that check how a file opens or prints there; they are
skipped where it is not installed (`apt-get install libreoffice-calc`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is not installed"
)


def convert(source: Path, to: str, *, timeout: float, infilter: str | None = None) -> Path:
    """`source` converted by LibreOffice to `to` (pdf, xlsx) beside it, opened with `infilter`
    when given, in a profile of its own in the same folder; returns the new file."""
    folder = source.parent
    done = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            *([f"--infilter={infilter}"] if infilter else []),
            "--convert-to",
            to,
            "--outdir",
            str(folder),
            str(source),
        ],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return source.with_suffix(f".{to}")
