"""Run extraction in a child process with time and memory limits, one file at a time.

The child stays up between files (Python and the dictionaries load once); a file that
runs over its time is answered `timeout` and the child is killed with its process group
(Tesseract too); a child that dies (a parser's crash, the memory limit) is answered
`memory` or `crashed`. The next file starts a fresh child. One child per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys

from core.documents.extract import FAILED, Extracted, Limits

START_SECONDS = 30.0


class ExtractorProcess:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def _start(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "core.documents.extract_child",
            str(self.limits.memory_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            limit=64 * 1024 * 1024,
            env=dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONPATH=os.pathsep.join(sys.path)),
        )
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
        if not ready:
            raise RuntimeError("the extraction process did not start")
        return process

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def extract(self, data: bytes, name: str = "") -> Extracted:
        """The file's text, or a failure with its reason; never raises for a bad file."""
        async with self._lock:
            if self._process is None or self._process.returncode is not None:
                self._process = await self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            limits = dataclasses.asdict(self.limits)
            header = {"name": name, "size": len(data), "limits": limits}
            try:
                process.stdin.write(json.dumps(header).encode("utf-8") + b"\n")
                process.stdin.write(data)
                await process.stdin.drain()
                line = await asyncio.wait_for(process.stdout.readline(), self.limits.seconds)
            except TimeoutError:
                await self._kill()
                reason = f"timeout: reading the file took longer than {self.limits.seconds:g} s"
                return Extracted(FAILED, "other", error=reason)
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:
                code = await process.wait()
                self._process = None
                if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT, 1):
                    reason = (
                        "memory: the reader ran out of its "
                        f"{self.limits.memory_mb} MB or crashed (exit {code})"
                    )
                else:
                    reason = f"crashed: the reader stopped (exit {code})"
                return Extracted(FAILED, "other", error=reason)
            payload = json.loads(line)
            return Extracted(**payload)

    async def close(self) -> None:
        async with self._lock:
            process = self._process
            if process is not None and process.stdin is not None:
                process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), 5)
                except TimeoutError:
                    await self._kill()
                self._process = None
