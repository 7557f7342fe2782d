"""Peak memory and time of importing each hostile workbook, before and after, as a user runs it.

    python bench/hostile_files.py                     # read_contacts, this tree and main
    python bench/hostile_files.py --cli               # also `perezvon import contacts FILE`
    python bench/hostile_files.py --before ''         # this tree only
    python bench/hostile_files.py --only far          # files whose name has "far"
    python bench/hostile_files.py --only none --file clients.xlsx   # a file of your own

Each file of tests/exports/hostile_files.py (far-away cells, a space in T1048576, a declared
range of A1:XFD1048576, 5,000 sheets, 3M shared strings, a 10 MB string, rows out of order,
a billion laughs, a million empty rows, ...) is written to a temporary folder, then parsed
in a fresh child process, once with this tree's code and once with `--before` (a git ref,
default `main`, unpacked with `git archive`): `read_contacts` alone, and with `--cli` the
dry run `python -m app.cli import contacts FILE` on a migrated SQLite database, exactly
as a user types it. The child's peak RSS comes from wait4 (ru_maxrss), its time is wall
time; a child killed by a signal (the old reader aborts with SIGABRT) says so. `--cap-mb`
caps the child's address space (default: none; the old reader then tries its allocation).

Not a test: it prints figures. On a shared machine the times are noisy; the memory is not.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exports import hostile_files  # noqa: E402

READ = """
import sys
from core.errors import InvalidInput
from exports.contacts_import import read_contacts
try:
    table = read_contacts(open(sys.argv[1], "rb").read(), "book.xlsx")
except InvalidInput as exc:
    print("refused:", exc.message)
else:
    print(f"read {len(table.rows)} rows")
"""


@dataclass
class Run:
    seconds: float
    peak_mb: float
    outcome: str


def _child(command: list[str], *, tree: Path, env: dict[str, str], cap_mb: int) -> Run:
    def limit() -> None:
        if cap_mb:
            resource.setrlimit(resource.RLIMIT_AS, (cap_mb << 20, cap_mb << 20))

    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tree,
            env={**os.environ, **env, "PYTHONPATH": str(tree)},
            preexec_fn=limit,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace").strip().splitlines()
    if os.WIFSIGNALED(status):
        outcome = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        outcome += f" ({text[0][:60]})" if text else ""
    else:
        outcome = (text[-1] if text else "") if os.WEXITSTATUS(status) == 0 else ""
        if os.WEXITSTATUS(status) != 0:
            outcome = f"exit {os.WEXITSTATUS(status)}: {(text[-1] if text else '')}"
    return Run(seconds, usage.ru_maxrss / 1024, outcome[:110])


def _build(builder: str, path: Path) -> None:
    """Write a file from a child: a child's peak RSS starts at its parent's (fork, then exec
    keeps the high-water mark), so the parent stays small by never holding a big file."""
    code = f"from tests.exports import hostile_files as h; h.write({builder!r}, {str(path)!r})"
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )  # fmt: skip


def _unpack(ref: str, into: Path) -> Path:
    tree = into / "before"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _database(tree: Path, directory: Path, label: str) -> dict[str, str]:
    env = {
        "PEREZVON_DATABASE_URL": f"sqlite+aiosqlite:///{directory / label}.db",
        "PEREZVON_LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "app.cli", "db", "upgrade"],
        cwd=tree,
        env={**os.environ, **env, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref of the old code ('' for none)")
    parser.add_argument("--cli", action="store_true", help="also run `import contacts FILE`")
    parser.add_argument("--only", default="", help="files whose name contains this")
    parser.add_argument("--cap-mb", type=int, default=0, help="RLIMIT_AS of each child")
    parser.add_argument(
        "--file", type=Path, action="append", default=[], help="also this file (repeatable)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pz_bench_hostile_") as name:
        directory = Path(name)
        trees = {"after": ROOT}
        if args.before:
            trees = {"before": _unpack(args.before, directory), "after": ROOT}
        envs = {
            label: _database(tree, directory, label) if args.cli else {}
            for label, tree in trees.items()
        }
        print(f"{'file':30} {'KB':>6}  {'code':6} {'how':13} {'s':>6} {'peak MB':>8}  outcome")
        builders = {**hostile_files.HOSTILE, **hostile_files.BENCH_ONLY}
        files: list[tuple[str, str | Path]] = [
            (title, build.__name__) for title, (build, _) in builders.items()
        ]
        for title, source in [*files, *((f.name, f.resolve()) for f in args.file)]:
            if args.only not in title:
                continue
            path = source if isinstance(source, Path) else directory / "book.xlsx"
            if isinstance(source, str):
                _build(source, path)
            size = path.stat().st_size / 1024
            for label, tree in trees.items():
                commands = {"read_contacts": [sys.executable, "-c", READ, str(path)]}
                if args.cli:
                    commands["perezvon import"] = [
                        sys.executable, "-m", "app.cli", "import", "contacts", str(path),
                    ]  # fmt: skip
                for how, command in commands.items():
                    run = _child(command, tree=tree, env=envs[label], cap_mb=args.cap_mb)
                    print(
                        f"{title:30} {size:6.0f}  {label:6} {how:13} {run.seconds:6.1f}"
                        f" {run.peak_mb:8.0f}  {run.outcome}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
