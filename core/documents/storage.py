"""Where document bytes live: one copy per SHA-256, behind a small backend interface.

1. Spool: the incoming bytes (bytes, a file object or an async stream) are copied to a
   temporary file while they are hashed and counted; past the size limit the copy stops at
   once (`TooLarge`), so an oversized upload never fills the disk or the memory.
2. Put: a hash already known (a `DocumentBlob` row) stores nothing again; a new one is
   written by the current backend, then its row is added in the caller's unit of work.
3. Read: the backend named on the blob streams it back in chunks (a blob written under
   `dir` stays readable after the setting moves to `db`, and the other way round).
4. Drop: a blob no document refers to any more is deleted (`drop_if_unreferenced`).

Backends (`DOCUMENTS_STORAGE`): `dir` keeps files under DOCUMENTS_DIR as `ab/cd/<sha256>`
(written to a temporary name and renamed, so a reader never sees half a file); `db` keeps
them as `document_chunks` rows of CHUNK_SIZE bytes, inserted and read one at a time, so
every instance sharing PostgreSQL serves every file and none holds a whole file in memory.
An S3-compatible store is one more class with the same four methods (docs/documents.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Ctx
from core.documents.models import Document, DocumentBlob, DocumentChunk
from core.errors import InvalidInput

CHUNK_SIZE = 256 * 1024  # one database row / one read; small enough for any instance
HEAD_SIZE = 64 * 1024  # the first bytes, kept for type detection

Source = bytes | BinaryIO | AsyncIterator[bytes]


class TooLarge(InvalidInput):
    """The file is over DOCUMENTS_MAX_MB; nothing was stored."""

    def __init__(self, limit_bytes: int) -> None:
        megabytes = limit_bytes // (1024 * 1024)
        super().__init__(
            f"the file is larger than the limit of {megabytes} MB (DOCUMENTS_MAX_MB)",
            field="file",
            code="document-too-large",
            args={"limit": megabytes},
        )
        self.limit_bytes = limit_bytes


@dataclass
class Spooled:
    """Bytes copied to a temporary file: their hash, size and first bytes."""

    path: Path
    sha256: str
    size: int
    head: bytes

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Backend(Protocol):
    """One place blobs live. `name` is what `DocumentBlob.storage` records."""

    name: str

    async def has(self, ctx: Ctx, sha256: str) -> bool:
        """Are this blob's bytes present (the row may outlive a lost file)."""
        ...

    async def write(self, ctx: Ctx, sha256: str, spooled: Spooled) -> None:
        """Store the spooled bytes under their hash (idempotent)."""
        ...

    def read(self, ctx: Ctx, sha256: str) -> AsyncIterator[bytes]:
        """The bytes in chunks of at most CHUNK_SIZE."""
        ...

    async def remove(self, ctx: Ctx, sha256: str) -> None:
        """Delete the bytes (a missing blob is not an error)."""
        ...


class DirBackend:
    """Files under a directory: `<root>/ab/cd/<sha256>`."""

    name = "dir"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def has(self, ctx: Ctx, sha256: str) -> bool:
        return await asyncio.to_thread(self.path(sha256).is_file)

    async def write(self, ctx: Ctx, sha256: str, spooled: Spooled) -> None:
        await asyncio.to_thread(self._write, sha256, spooled.path)

    def _write(self, sha256: str, source: Path) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out, source.open("rb") as src:
                while block := src.read(CHUNK_SIZE):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)  # atomic: a reader sees all of it or nothing
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    async def read(self, ctx: Ctx, sha256: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path(sha256).open, "rb")
        try:
            while block := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield block
        finally:
            await asyncio.to_thread(handle.close)

    async def remove(self, ctx: Ctx, sha256: str) -> None:
        await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)


class DbBackend:
    """`document_chunks` rows in the database itself, CHUNK_SIZE bytes each."""

    name = "db"

    async def has(self, ctx: Ctx, sha256: str) -> bool:
        found = await ctx.session.scalar(
            select(exists().where(DocumentChunk.sha256 == sha256, DocumentChunk.seq == 0))
        )
        return bool(found)

    async def write(self, ctx: Ctx, sha256: str, spooled: Spooled) -> None:
        # Called after the blob row is flushed (the chunks' foreign key); a rewrite of lost
        # chunks starts from none.
        await ctx.session.execute(delete(DocumentChunk).where(DocumentChunk.sha256 == sha256))
        handle = await asyncio.to_thread(spooled.path.open, "rb")
        try:
            seq = 0
            while True:
                block = await asyncio.to_thread(handle.read, CHUNK_SIZE)
                if not block and seq > 0:
                    break
                # Core inserts, one chunk at a time: the session keeps no copy of the bytes.
                await ctx.session.execute(
                    insert(DocumentChunk).values(sha256=sha256, seq=seq, data=block)
                )
                seq += 1
                if not block:  # an empty file is one empty chunk
                    break
        finally:
            await asyncio.to_thread(handle.close)

    async def read(self, ctx: Ctx, sha256: str) -> AsyncIterator[bytes]:
        seq = 0
        while True:
            data = await ctx.session.scalar(
                select(DocumentChunk.data).where(
                    DocumentChunk.sha256 == sha256, DocumentChunk.seq == seq
                )
            )
            if data is None:
                return
            if data:
                yield bytes(data)
            seq += 1

    async def remove(self, ctx: Ctx, sha256: str) -> None:
        await ctx.session.execute(delete(DocumentChunk).where(DocumentChunk.sha256 == sha256))


@dataclass(frozen=True)
class Stored:
    """A blob as put: its hash and size, and whether this put wrote it."""

    sha256: str
    size: int
    created: bool


def backend_named(ctx: Ctx, name: str) -> Backend:
    """The backend called `name` (dir|db), configured from ctx.config."""
    if name == "db":
        return DbBackend()
    if name == "dir":
        return DirBackend(Path(ctx.config.documents_dir))
    raise ValueError(f"unknown document storage {name!r} (use dir or db)")


def current_backend(ctx: Ctx) -> Backend:
    """The backend new blobs go to (DOCUMENTS_STORAGE)."""
    return backend_named(ctx, ctx.config.documents_storage)


async def spool(source: Source, *, max_bytes: int) -> Spooled:
    """Copy the source to a temporary file, hashing it; TooLarge past `max_bytes`."""
    digest = hashlib.sha256()
    handle, name = tempfile.mkstemp(prefix="perezvon-doc-")
    path = Path(name)
    size = 0
    head = bytearray()
    try:
        with os.fdopen(handle, "wb") as out:
            async for block in _blocks(source):
                size += len(block)
                if size > max_bytes:
                    raise TooLarge(max_bytes)
                digest.update(block)
                if len(head) < HEAD_SIZE:
                    head += block[: HEAD_SIZE - len(head)]
                await asyncio.to_thread(out.write, block)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return Spooled(path=path, sha256=digest.hexdigest(), size=size, head=bytes(head))


async def _blocks(source: Source) -> AsyncIterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]
    elif hasattr(source, "read"):
        while block := await asyncio.to_thread(source.read, CHUNK_SIZE):
            yield block
    else:
        async for block in source:
            if block:
                yield block


async def put(ctx: Ctx, spooled: Spooled) -> Stored:
    """Keep the spooled bytes once per hash (in the caller's unit of work; not committed)."""
    blob = await ctx.session.get(DocumentBlob, spooled.sha256)
    if blob is not None:
        backend = backend_named(ctx, blob.storage)
        if await backend.has(ctx, blob.sha256):
            return Stored(blob.sha256, blob.size_bytes, created=False)
        await backend.write(ctx, blob.sha256, spooled)  # the row outlived its bytes: heal
        return Stored(blob.sha256, blob.size_bytes, created=False)
    backend = current_backend(ctx)
    row = {
        "sha256": spooled.sha256,
        "size_bytes": spooled.size,
        "storage": backend.name,
        "created_at": ctx.clock.now(),
    }
    # ON CONFLICT DO NOTHING: when another upload of the same bytes wins the race (on
    # PostgreSQL this waits for its commit), theirs is the copy and nothing is written.
    postgres = ctx.session.get_bind().dialect.name == "postgresql"
    insert_fn = pg_insert if postgres else sqlite_insert
    statement = insert_fn(DocumentBlob).values(row).on_conflict_do_nothing()
    result = await ctx.session.execute(statement)
    if not getattr(result, "rowcount", 0):
        return Stored(spooled.sha256, spooled.size, created=False)
    await backend.write(ctx, spooled.sha256, spooled)
    return Stored(spooled.sha256, spooled.size, created=True)


async def present(ctx: Ctx, sha256: str) -> bool:
    """Are the blob's bytes where its row says (a `dir` copy may be lost or not shared)."""
    blob = await ctx.session.get(DocumentBlob, sha256)
    return blob is not None and await backend_named(ctx, blob.storage).has(ctx, sha256)


async def read(ctx: Ctx, sha256: str) -> AsyncIterator[bytes]:
    """The blob's bytes in chunks, from the backend that holds it."""
    blob = await ctx.session.get(DocumentBlob, sha256)
    if blob is None:
        return
    async for block in backend_named(ctx, blob.storage).read(ctx, sha256):
        yield block


async def read_all(ctx: Ctx, sha256: str) -> bytes:
    """The whole blob (for the bot's upload and extraction, bounded by DOCUMENTS_MAX_MB)."""
    return b"".join([block async for block in read(ctx, sha256)])


async def drop_if_unreferenced(ctx: Ctx, sha256: str) -> bool:
    """Delete the blob (row and bytes) when no document refers to it; True when deleted.

    Call after the referring rows are deleted and flushed, in the same unit of work: the
    row goes with the caller's commit; `dir` bytes go at once (a crash before the commit
    leaves a row whose bytes `put` rewrites on the next upload of the same file)."""
    used = await ctx.session.scalar(select(exists().where(Document.sha256 == sha256)))
    if used:
        return False
    blob = await ctx.session.get(DocumentBlob, sha256)
    if blob is None:
        return False
    backend = backend_named(ctx, blob.storage)
    await backend.remove(ctx, sha256)
    await ctx.session.delete(blob)
    await ctx.session.flush()
    return True
