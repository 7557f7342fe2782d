"""Phone lookup and contact search latency on a freshly seeded database (prints figures).

    python bench/lookup.py --db sqlite --sizes 100000
    python bench/lookup.py --db both --sizes 100000,1000000 --queries 2000

For each database and size: create a throwaway database, migrate it, seed it with
`app.demo.seed`, then time, through the real services and a fresh session per operation
(as an HTTP request or a Telegram update would have):

- a bare primary-key fetch (the floor: pool checkout + one indexed row),
- `core.contacts.service.lookup_phone` with numbers written the ways PBXs and people
  write them, hits and misses mixed,
- `core.contacts.service.search` with what salespeople type: part of a surname, a
  company word, part of a phone, part of an e-mail.

With `--reuse`, the database is kept between runs instead: created if missing, migrated
to head, seeded only up to the size it lacks (seeding 1M contacts takes minutes).

Not a test: it prints a table and flags the targets (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

# Run as a plain script from a checkout: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # type: ignore[import-untyped]
from _common import (  # bench/ is on sys.path as the script's folder
    add_pg_admin_dsn,
    throwaway_postgres,
)
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import demo
from core.config import CoreConfig
from core.contacts.models import Contact, ContactPhone
from core.contacts.service import lookup_phone, search
from core.context import Actor, Ctx
from core.db import create_engine, session_factory
from core.migrate import upgrade

LOOKUP_P99_MS = 5.0
SEARCH_P95_MS = 100.0
TARGET_SIZE = 1_000_000
# Mobile codes the seeder never hands out (app.demo.MOBILE_CODES skips 930-949) but that
# are valid numbers: guaranteed misses that still go through the whole lookup path.
MISS_CODES = tuple(range(931, 940))


@dataclass
class Result:
    db: str
    size: int
    operation: str
    samples: list[float]  # milliseconds

    def pct(self, p: float) -> float:
        data = sorted(self.samples)
        return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]


# --- query mixes -----------------------------------------------------------------------


def phone_formats(e164: str, rng: random.Random) -> str:
    """The same number the way a PBX, a person or a spreadsheet would pass it."""
    code, sub = e164[2:5], e164[5:]
    return rng.choice(
        (
            e164,
            e164[1:],  # what most PBXs send: digits with the country code, no '+'
            f"8{code}{sub}",
            f"8 ({code}) {sub[:3]}-{sub[3:5]}-{sub[5:]}",
            f"+7 {code} {sub[:3]} {sub[3:5]} {sub[5:]}",
            f"+7 ({code}) {sub}",
        )
    )


def search_queries(rng: random.Random, phones: list[str], count: int) -> list[tuple[str, str]]:
    """(category, query) pairs: what a salesperson types into the bot's search."""
    queries: list[tuple[str, str]] = []
    for n in range(count):
        kind = ("surname", "company", "phone part", "email part")[n % 4]
        if kind == "surname":
            surname = rng.choice(demo.SURNAMES).casefold()
            q = surname[: rng.randrange(4, max(5, len(surname)))]
        elif kind == "company":
            q = rng.choice(
                (*demo.COMPANY_WORDS, *demo.COMPANY_HEADS, *demo.COMPANY_TAILS)
            ).casefold()
        elif kind == "phone part":
            e164 = rng.choice(phones)
            q = f"{e164[2:5]} {e164[5:7]}"  # "916 12"
        else:
            q = demo.translit(rng.choice(demo.SURNAMES))
        queries.append((kind, q))
    return queries


# --- measuring -------------------------------------------------------------------------


async def timed(
    sessions: async_sessionmaker[AsyncSession],
    op: Callable[[AsyncSession], Awaitable[object]],
) -> float:
    """One operation in its own session, as the edges run them; milliseconds."""
    started = time.perf_counter()
    async with sessions() as session:
        await op(session)
    return (time.perf_counter() - started) * 1000


async def sample_phones(engine: AsyncEngine, count: int, rng: random.Random) -> list[str]:
    """Random live numbers, fetched by random ids so 1M rows never sit in memory."""
    async with engine.connect() as conn:
        top = int(await conn.scalar(select(func.max(ContactPhone.id))) or 0)
        ids = [rng.randrange(1, top + 1) for _ in range(count)]
        rows = await conn.execute(
            select(ContactPhone.e164).where(ContactPhone.id.in_(ids), ContactPhone.is_live)
        )
        found = list(rows.scalars())
    return [rng.choice(found) for _ in range(count)]


async def measure(db: str, size: int, url: str, queries: int, searches: int) -> list[Result]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    config = CoreConfig()
    actor = Actor.system("bench")
    rng = random.Random(42)
    results: list[Result] = []
    try:
        started = time.perf_counter()

        def progress(done: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            line = f"  seeding {db} {done:,}/{size:,} ({rate:,.0f} contacts/s)"
            if sys.stdout.isatty():
                print(f"\r{line}", end="", flush=True)
            elif done == size or done % 100_000 == 0:
                # Redirected to a file: a line per 100k instead of one per batch.
                print(line, flush=True)

        async with engine.connect() as conn:
            existing = int(await conn.scalar(select(func.count()).select_from(Contact)) or 0)
        if existing < size:
            report = await demo.seed(engine, contacts=size - existing, seed=1, progress=progress)
            print(
                f"\r  seeded {db} {size - existing:,} contacts in {report.seconds:.1f} s "
                f"({report.rows:,} rows: {report.phones:,} phones, {report.calls:,} calls, "
                f"{report.activities:,} activities, {report.deals:,} deals, "
                f"{report.notes:,} notes)"
            )
            if existing == 0:
                results.append(Result(db, size, "seed (s, total)", [report.seconds * 1000]))
            async with engine.begin() as conn:
                # Fresh bulk-loaded tables have no planner statistics yet; a live one has.
                await conn.execute(text("ANALYZE"))
        else:
            print(f"  reusing {existing:,} contacts already there")

        hits = await sample_phones(engine, queries, rng)
        top_contact = size
        phone_mix: list[tuple[bool, str]] = []
        for n in range(queries):
            if rng.random() < 0.7:
                phone_mix.append((True, phone_formats(hits[n], rng)))
            else:
                miss = f"+7{rng.choice(MISS_CODES)}{rng.randrange(10**7):07d}"
                phone_mix.append((False, phone_formats(miss, rng)))
        search_mix = search_queries(rng, hits, searches)

        # Warm the pool, the statement caches and the page cache a little first.
        async def ping(session: AsyncSession) -> object:
            return await session.execute(text("SELECT 1"))

        for _ in range(50):
            await timed(sessions, ping)

        pk: list[float] = []
        for _ in range(queries):
            contact_id = rng.randrange(1, top_contact + 1)

            async def fetch(session: AsyncSession, contact_id: int = contact_id) -> object:
                result = await session.execute(
                    text("SELECT * FROM contacts WHERE id = :id"), {"id": contact_id}
                )
                return result.first()

            pk.append(await timed(sessions, fetch))
        results.append(Result(db, size, "pk fetch (baseline)", pk))

        found: list[float] = []
        missed: list[float] = []
        wrong = 0
        for is_hit, phone in phone_mix:
            answer: list[object] = []

            async def lookup(
                session: AsyncSession, phone: str = phone, answer: list[object] = answer
            ) -> object:
                owner = await lookup_phone(Ctx.of(session, config), phone=phone)
                answer.append(owner)
                return owner

            ms = await timed(sessions, lookup)
            (found if is_hit else missed).append(ms)
            if (answer[0] is not None) != is_hit:
                wrong += 1
        if wrong:
            print(f"  WARNING: {wrong} lookups answered a hit/miss the wrong way")
        results.append(Result(db, size, "lookup_phone (all)", found + missed))
        results.append(Result(db, size, "lookup_phone hit", found))
        results.append(Result(db, size, "lookup_phone miss", missed))

        by_kind: dict[str, list[float]] = {}
        for kind, q in search_mix:

            async def find(session: AsyncSession, q: str = q) -> object:
                return await search(Ctx.of(session, config), actor=actor, q=q, limit=20, offset=0)

            by_kind.setdefault(kind, []).append(await timed(sessions, find))
        results.append(Result(db, size, "search (all)", [ms for v in by_kind.values() for ms in v]))
        for kind, samples in by_kind.items():
            results.append(Result(db, size, f"search: {kind}", samples))
    finally:
        await engine.dispose()
    return results


# --- throwaway databases ---------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="perezvon-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


def _pg_admin(admin_dsn: str, sql: str, *args: object) -> object:
    """Run one statement on the admin database; returns the first value (fetchval)."""
    admin = make_url(admin_dsn)

    async def run() -> object:
        conn = await asyncpg.connect(
            user=admin.username,
            password=admin.password,
            host=admin.host,
            port=admin.port,
            database=admin.database or "postgres",
        )
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


@contextmanager
def kept_database(template: str, size: int, admin_dsn: str) -> Iterator[str]:
    """`--reuse`: a SQLite path or a PostgreSQL DSN (`{size}` filled in) that is kept."""
    target = template.replace("{size}", str(size))
    if not target.startswith("postgres"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        yield f"sqlite+aiosqlite:///{Path(target).resolve()}"
        return
    url = make_url(target).set(drivername="postgresql+asyncpg")
    if not _pg_admin(admin_dsn, "SELECT 1 FROM pg_database WHERE datname = $1", url.database):
        _pg_admin(admin_dsn, f'CREATE DATABASE "{url.database}"')
    yield url.render_as_string(hide_password=False)


def _reuse_for(db: str, templates: list[str]) -> str | None:
    for template in templates:
        if template.startswith("postgres") == (db == "postgres"):
            return template
    return None


def postgres_database(admin_dsn: str, size: int) -> AbstractContextManager[str]:
    """A database created for this run and dropped after it, whatever happens."""
    return throwaway_postgres(admin_dsn, f"perezvon_bench_{os.getpid()}_{size}")


# --- report ----------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    header = (
        f"{'db':<9}{'size':>10}  {'operation':<22}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}"
        f"{'p99 ms':>10}{'p50/pk':>8}  target"
    )
    print()
    print(header)
    print("-" * (len(header) + 22))
    baseline: dict[tuple[str, int], float] = {}
    for r in results:
        if r.operation.startswith("pk fetch"):
            baseline[(r.db, r.size)] = r.pct(50)
    for r in results:
        if r.operation.startswith("seed"):
            print(
                f"{r.db:<9}{r.size:>10,}  {'seed (seconds)':<22}{'':>6}{r.samples[0] / 1000:>10.1f}"
            )
            continue
        base = baseline.get((r.db, r.size))
        ratio = f"{r.pct(50) / base:>7.1f}x" if base else f"{'':>8}"
        target = ""
        if r.operation == "lookup_phone (all)":
            ok = r.pct(99) < LOOKUP_P99_MS
            target = f"p99 < {LOOKUP_P99_MS:g} ms: {'ok' if ok else 'MISSED'}"
        elif r.operation == "search (all)":
            ok = r.pct(95) < SEARCH_P95_MS
            target = f"p95 < {SEARCH_P95_MS:g} ms: {'ok' if ok else 'MISSED'}"
        if target and r.size != TARGET_SIZE:
            target += f" (target set at {TARGET_SIZE:,})"
        print(
            f"{r.db:<9}{r.size:>10,}  {r.operation:<22}{len(r.samples):>6}"
            f"{r.pct(50):>10.2f}{r.pct(95):>10.2f}{r.pct(99):>10.2f}{ratio}  {target}"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--sizes", default="100000", help="comma list of contact counts")
    parser.add_argument("--queries", type=int, default=2000, help="pk fetches and lookups")
    parser.add_argument(
        "--searches", type=int, default=200, help="search calls (each scans on SQLite)"
    )
    add_pg_admin_dsn(parser, "where to CREATE/DROP the throwaway database")
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="PATH|DSN",
        help="keep the database here instead of a throwaway one: a SQLite file path or a "
        "postgresql:// DSN, '{size}' replaced by the size; once per database (repeatable)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)

    results: list[Result] = []
    for db in dbs:
        for size in sizes:
            print(f"{db}, {size:,} contacts")
            reuse = _reuse_for(db, args.reuse)
            holder = (
                kept_database(reuse, size, args.pg_admin_dsn)
                if reuse
                else sqlite_database()
                if db == "sqlite"
                else postgres_database(args.pg_admin_dsn, size)
            )
            with holder as url:
                started = time.perf_counter()
                upgrade(url)  # blocking; runs its own event loop, so outside ours
                print(f"  migrated in {time.perf_counter() - started:.1f} s")
                results += asyncio.run(measure(db, size, url, args.queries, args.searches))
            print_table([r for r in results if r.db == db and r.size == size])
    if len(results) > 0 and (len(dbs) > 1 or len(sizes) > 1):
        print("All runs:")
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
