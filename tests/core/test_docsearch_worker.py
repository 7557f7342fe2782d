"""The extraction job end to end: store a file, the scheduler's job reads it in the child
process and indexes it; bad files get a stored reason and never stop the next one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.documents import search as docsearch
from core.documents import service
from core.documents.extract import Limits
from core.documents.models import Document, DocumentText
from core.documents.search import DocumentQuery
from core.documents.worker import ExtractOptions
from core.jobs.models import BackgroundJob
from scheduler.jobs import JobOptions, Jobs
from tests.conftest import Db
from tests.fakes import documents as fx


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(documents_dir=str(tmp_path / "documents"))


@pytest.fixture
async def contact(ctx: Ctx, system: Actor) -> Contact:
    return await contacts.create_contact(ctx, actor=system, name="Клиент")


@pytest.fixture
def roomy(ctx: Ctx) -> Ctx:
    """`ctx` that takes files of up to 50 MB, for the files built to exhaust the reader."""
    return replace(ctx, config=replace(ctx.config, documents_max_bytes=50 * 1024 * 1024))


async def extract(
    db: Db, *, config: CoreConfig | None = None, limits: Limits | None = None, runs: int = 1
) -> list[int]:
    """Runs the scheduler's extraction job `runs` times, then closes its worker; returns how
    many files each run read."""
    options = JobOptions(documents=ExtractOptions(limits=limits or Limits(seconds=30)))
    jobs = Jobs(sessions=db.sessions, config=config or db.config, clock=db.clock, options=options)
    try:
        return [await jobs.documents() for _ in range(runs)]
    finally:
        await jobs.close()


async def store(ctx: Ctx, system: Actor, data: bytes, name: str, contact_id: int) -> int:
    document = await service.store_document(
        ctx, actor=system, name=name, source="api", data=data, contact_id=contact_id
    )
    return document.id


async def outcome(ctx: Ctx, document_id: int) -> tuple[str, str | None, int | None]:
    ctx.session.expire_all()
    document = await ctx.session.get(Document, document_id)
    assert document is not None
    return document.extract_status, document.extract_error, document.pages


async def test_stored_files_are_read_indexed_and_found(ctx: Ctx, system: Actor, db: Db) -> None:
    contact = await contacts.create_contact(ctx, actor=system, name="ООО Вектор")
    pdf = await store(ctx, system, fx.pdf(["Договор поставки № 17"]), "d.pdf", contact.id)
    eml = await store(ctx, system, fx.eml("Счета", "Высылаем счета за март"), "m.eml", contact.id)
    assert await extract(db, runs=2) == [2, 0]
    assert await outcome(ctx, pdf) == ("done", None, 1)
    assert (await outcome(ctx, eml))[0] == "done"
    found = await docsearch.search(ctx, system, DocumentQuery(q="договоры поставок"))
    assert [hit.document.id for hit in found.items] == [pdf]
    found = await docsearch.search(ctx, system, DocumentQuery(q="счёт"))
    assert [hit.document.id for hit in found.items] == [eml]
    statuses = await ctx.session.scalars(select(BackgroundJob.status))
    assert set(statuses) == {"done"}


async def test_bad_files_get_a_reason_and_the_next_file_is_read(
    ctx: Ctx, system: Actor, db: Db, contact: Contact
) -> None:
    files = {
        "encrypted": (fx.encrypted_pdf(), "secret.pdf"),
        "broken": (b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf"),
        "bomb": (fx.docx_bomb(), "bomb.docx"),
        "liar": (fx.docx(["Акт сверки взаиморасчётов"]), "scan.pdf"),  # a DOCX named .pdf
        "binary": (bytes(range(256)) * 8, "data.bin"),
        "good": (fx.xlsx([["Прайс", "гвозди"]]), "price.xlsx"),
    }
    ids = {
        key: await store(ctx, system, data, name, contact.id) for key, (data, name) in files.items()
    }
    assert await extract(db) == [len(files)]
    status, error, _ = await outcome(ctx, ids["encrypted"])
    assert (status, error) == ("failed", "encrypted: the PDF is password-protected")
    status, error, _ = await outcome(ctx, ids["broken"])
    assert status == "failed" and error is not None and error.startswith("broken: ")
    status, error, _ = await outcome(ctx, ids["bomb"])
    assert status == "failed" and error is not None and error.startswith("zip-bomb: ")
    assert (await outcome(ctx, ids["liar"]))[0] == "done"
    status, error, _ = await outcome(ctx, ids["binary"])
    assert status == "unsupported" and error is not None
    assert (await outcome(ctx, ids["good"]))[0] == "done"
    found = await docsearch.search(ctx, system, DocumentQuery(q="акт взаиморасчёты"))
    assert [hit.document.id for hit in found.items] == [ids["liar"]]
    # A file that was not read is still found by its name.
    found = await docsearch.search(ctx, system, DocumentQuery(q="secret"))
    assert [hit.document.id for hit in found.items] == [ids["encrypted"]]
    texts = await ctx.session.scalar(
        select(DocumentText.words).where(DocumentText.document_id == ids["bomb"])
    )
    assert texts == "bomb docx"


async def test_a_file_over_its_time_is_cut_off_and_the_worker_goes_on(
    roomy: Ctx, system: Actor, db: Db, contact: Contact
) -> None:
    slow = await store(roomy, system, fx.many_pages_pdf(3000), "bomb.pdf", contact.id)
    fine = await store(roomy, system, fx.docx(["после бомбы"]), "after.docx", contact.id)
    limits = Limits(seconds=0.3, max_pages=100_000)
    assert await extract(db, config=roomy.config, limits=limits) == [2]
    status, error, _ = await outcome(roomy, slow)
    assert status == "failed" and error == "timeout: reading the file took longer than 0.3 s"
    assert (await outcome(roomy, fine))[0] == "done"


async def test_a_file_over_its_memory_kills_only_the_child(
    roomy: Ctx, system: Actor, db: Db, contact: Contact
) -> None:
    # 300 MB of text once inflated, allowed by the zip checks here, over the child's memory.
    hog = await store(roomy, system, fx.docx_bomb(300 * 1024 * 1024), "hog.docx", contact.id)
    fine = await store(roomy, system, fx.docx(["после бомбы"]), "after.docx", contact.id)
    limits = Limits(memory_mb=400, max_ratio=10**6, max_unzipped=10**10, seconds=60)
    assert await extract(db, config=roomy.config, limits=limits) == [2]
    status, error, _ = await outcome(roomy, hog)
    assert status == "failed" and error is not None and error.startswith("memory: "), error
    assert (await outcome(roomy, fine))[0] == "done"


async def test_a_job_that_keeps_killing_the_worker_is_given_up(
    ctx: Ctx, system: Actor, db: Db, contact: Contact
) -> None:
    doc = await store(ctx, system, fx.docx(["текст"]), "a.docx", contact.id)
    job = await ctx.session.scalar(select(BackgroundJob))
    assert job is not None
    job.attempts = 3  # three runs died on it; the next claim is the fourth
    await ctx.session.commit()
    assert await extract(db) == [1]
    status, error, _ = await outcome(ctx, doc)
    assert status == "failed" and error is not None and error.startswith("crashed: ")
