"""The extraction child: reads files from stdin, answers one JSON line each on stdout.

Started by `ExtractorProcess` with its memory limit (RLIMIT_AS, inherited by Tesseract);
the parent kills it when one file takes longer than allowed. Each request is a JSON line
(`{"name", "size", "limits"}`) followed by `size` bytes.
"""

from __future__ import annotations

import json
import resource
import sys

from core.documents.extract import Extracted, Limits, extract_bytes


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        size = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> int:
    _limit_memory(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    from core.documents import words

    words.warm_up()  # load the dictionaries before the first file's clock starts
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b'{"ready": true}\n')
    stdout.flush()
    while True:
        header = stdin.readline()
        if not header:
            return 0
        request = json.loads(header)
        data = stdin.read(int(request["size"]))
        limits = Limits(**request.get("limits", {}))
        try:
            result = extract_bytes(data, str(request.get("name", "")), limits)
        except MemoryError:
            result = Extracted("failed", "other", error="memory: the file needs too much memory")
        del data
        stdout.write(json.dumps(result.as_dict(), ensure_ascii=False).encode("utf-8") + b"\n")
        stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
