"""Documents in core: storage once per hash (dir and db), detection, names, access, delete."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import access
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.documents import service, storage
from core.documents.models import Document, DocumentBlob, DocumentChunk
from core.documents.naming import MAX_NAME_BYTES, safe_name
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.jobs.models import BackgroundJob
from core.models.audit import AuditLog
from core.users import service as users

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["dir", "db"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def config(tmp_path: Path, storage_kind: str) -> CoreConfig:
    return CoreConfig(
        documents_dir=str(tmp_path / "documents"),
        documents_storage=storage_kind,  # type: ignore[arg-type]
        documents_max_bytes=1024 * 1024,
    )


async def _people(ctx: Ctx, system: Actor) -> dict[str, Actor]:
    made = {}
    for index, role in enumerate(("sales", "sales", "manager", "admin"), start=1):
        user = await users.create_user(
            ctx, actor=system, name=f"U{index}", role=role, telegram_user_id=index
        )
        made[f"{role}{index}"] = Actor.of_user(user)
    return made


async def _contact(ctx: Ctx, system: Actor, owner: Actor, phone: str) -> int:
    contact = await contacts.create_contact(ctx, actor=system, name="Клиент", phones=[phone])
    await contacts.update_contact(
        ctx, actor=system, contact_id=contact.id, changes={"owner_id": owner.user_id}
    )
    return contact.id


@pytest.fixture
async def people(ctx: Ctx, system: Actor) -> dict[str, Actor]:
    """Two salespeople, a manager and an admin, by role and number: `sales1`, … `admin4`."""
    return await _people(ctx, system)


@pytest.fixture
def me(people: dict[str, Actor]) -> Actor:
    return people["sales1"]


@pytest.fixture
async def my_contact(ctx: Ctx, system: Actor, me: Actor) -> int:
    """The id of a contact of mine (`me`), +79160000001."""
    return await _contact(ctx, system, me, "+79160000001")


async def test_same_bytes_on_two_cards_are_kept_once_and_read_back(
    ctx: Ctx, system: Actor, storage_kind: str, people: dict[str, Actor]
) -> None:
    me = people["sales1"]
    first = await _contact(ctx, system, me, "+79160000001")
    second = await _contact(ctx, system, me, "+79160000002")
    big = PDF + b"x" * (storage.CHUNK_SIZE * 2 + 17)  # three chunks in the database
    a = await service.store_document(
        ctx, actor=me, name="Договор.pdf", source="bot", data=big, contact_id=first
    )
    b = await service.store_document(
        ctx, actor=me, name="copy.pdf", source="api", data=io.BytesIO(big), contact_id=second
    )
    assert a.sha256 == b.sha256 and a.id != b.id
    assert (a.kind, a.mime_type, a.size_bytes) == ("pdf", "application/pdf", len(big))
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentBlob)) == 1
    blob = await ctx.session.get(DocumentBlob, a.sha256)
    assert blob is not None and blob.storage == storage_kind
    chunks = await ctx.session.scalar(select(func.count()).select_from(DocumentChunk))
    assert chunks == (3 if storage_kind == "db" else 0)
    _, body = await service.read_content(ctx, actor=me, document_id=b.id)
    assert body == big
    queued = list(await ctx.session.scalars(select(BackgroundJob.payload)))
    assert {"document_id": a.id} in queued and {"document_id": b.id} in queued


async def test_the_same_file_twice_on_one_card_names_the_first(
    ctx: Ctx, me: Actor, my_contact: int
) -> None:
    first = await service.store_document(
        ctx, actor=me, name="a.pdf", source="bot", data=PDF, contact_id=my_contact
    )
    with pytest.raises(Conflict) as caught:
        await service.store_document(
            ctx, actor=me, name="b.pdf", source="bot", data=PDF, contact_id=my_contact
        )
    assert caught.value.existing_id == first.id and caught.value.code == "document-duplicate"


async def test_idempotency_key_replays_and_refuses_another_file(
    ctx: Ctx, me: Actor, my_contact: int
) -> None:
    async def store(name: str, data: bytes) -> service.StoreOutcome:
        return await service.store(
            ctx,
            actor=me,
            name=name,
            source="api",
            data=data,
            contact_id=my_contact,
            idempotency_key="k1",
        )

    first = await store("a.pdf", PDF)
    again = await store("a.pdf", PDF)
    assert again.replayed and again.document.id == first.document.id
    with pytest.raises(Conflict):
        await store("b.png", PNG)


async def test_too_large_is_refused_and_nothing_is_kept(
    ctx: Ctx, me: Actor, my_contact: int
) -> None:
    small = replace(ctx, config=replace(ctx.config, documents_max_bytes=100))
    with pytest.raises(storage.TooLarge) as caught:
        await service.store_document(
            small, actor=me, name="big.pdf", source="api", data=PDF * 10, contact_id=my_contact
        )
    assert caught.value.code == "document-too-large"
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentBlob)) == 0


async def test_a_lying_extension_is_corrected_from_the_content(
    ctx: Ctx, me: Actor, my_contact: int
) -> None:
    outcome = await service.store(
        ctx, actor=me, name="scan.pdf", source="api", data=PNG, contact_id=my_contact
    )
    doc = outcome.document
    assert (doc.file_name, doc.kind, doc.mime_type) == ("scan.png", "image", "image/png")
    assert outcome.renamed_from == "pdf" and doc.original_name == "scan.pdf"
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    doc = await service.store_document(
        ctx, actor=me, name="договор.txt", source="api", data=docx.getvalue(), contact_id=my_contact
    )
    assert (doc.file_name, doc.kind) == ("договор.docx", "docx")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\scans\\акт.pdf", "акт.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("a\x00b\x07c\n.pdf", "abc.pdf"),
        ("", "document"),
        ("...", "document"),
        ("  отчёт   за   май .xlsx", "отчёт за май.xlsx"),
    ],
)
def test_safe_names(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_a_300_character_name_is_cut_keeping_the_extension() -> None:
    name = safe_name("Я" * 300 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= MAX_NAME_BYTES


async def test_visibility_follows_the_card(
    ctx: Ctx, system: Actor, people: dict[str, Actor]
) -> None:
    me, colleague, manager = people["sales1"], people["sales2"], people["manager3"]
    mine = await _contact(ctx, system, me, "+79160000001")
    theirs = await _contact(ctx, system, colleague, "+79160000002")
    doc = await service.store_document(
        ctx, actor=colleague, name="a.pdf", source="bot", data=PDF, contact_id=theirs
    )
    with pytest.raises(NotFound):
        await service.get_document(ctx, actor=me, document_id=doc.id)
    with pytest.raises(NotFound):
        await service.list_documents(ctx, actor=me, contact_id=theirs)
    with pytest.raises(NotFound):
        await service.store_document(
            ctx, actor=me, name="x.pdf", source="bot", data=PNG, contact_id=theirs
        )
    assert (await service.get_document(ctx, actor=manager, document_id=doc.id)).id == doc.id
    deal = await deals.create(
        ctx, actor=system, title="Поставка", contact_id=mine, owner_id=me.user_id
    )
    on_deal = await service.store_document(
        ctx, actor=me, name="счёт.pdf", source="shop", data=PNG, deal_id=deal.id
    )
    assert on_deal.contact_id == mine  # a deal's document is on its client's card too
    page = await service.list_documents(ctx, actor=me, contact_id=mine)
    assert [d.id for d in page.items] == [on_deal.id] and page.total == 1
    loose = await service.store_document(
        ctx, actor=manager, name="unsorted.pdf", source="import", data=b"%PDF-1.7 x"
    )
    with pytest.raises(NotFound):
        await service.get_document(ctx, actor=me, document_id=loose.id)
    with pytest.raises(PermissionDenied):
        await service.store_document(ctx, actor=me, name="x.pdf", source="bot", data=b"%PDF-1.5")


async def test_delete_is_for_admins_audited_and_drops_unused_bytes(
    ctx: Ctx, system: Actor, storage_kind: str, people: dict[str, Actor]
) -> None:
    me, admin = people["sales1"], people["admin4"]
    first = await _contact(ctx, system, me, "+79160000001")
    second = await _contact(ctx, system, me, "+79160000002")
    a = await service.store_document(
        ctx, actor=me, name="a.pdf", source="bot", data=PDF, contact_id=first
    )
    b = await service.store_document(
        ctx, actor=me, name="a.pdf", source="bot", data=PDF, contact_id=second
    )
    with pytest.raises(PermissionDenied):
        await service.delete_document(ctx, actor=me, document_id=a.id)
    await service.delete_document(ctx, actor=admin, document_id=a.id)
    assert await ctx.session.get(DocumentBlob, b.sha256) is not None  # b still uses it
    removed = await service.delete_documents_of_contact(ctx, actor=admin, contact_id=second)
    await ctx.session.commit()
    assert removed == 1
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentBlob)) == 0
    assert await ctx.session.scalar(select(func.count()).select_from(DocumentChunk)) == 0
    if storage_kind == "dir":
        left = await asyncio.to_thread(lambda: list(Path(ctx.config.documents_dir).rglob("*")))
        assert not [path for path in left if path.is_file()]
    actions = list(
        await ctx.session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "document").order_by(AuditLog.id)
        )
    )
    assert actions == ["create", "create", "delete", "delete"]
    with pytest.raises(NotFound):
        await service.get_document(ctx, actor=admin, document_id=a.id)


async def test_an_empty_name_and_an_empty_file_are_kept(
    ctx: Ctx, me: Actor, my_contact: int
) -> None:
    doc = await service.store_document(
        ctx, actor=me, name=None, source="api", data=b"", contact_id=my_contact
    )
    assert (doc.file_name, doc.size_bytes, doc.kind) == ("document.txt", 0, "text")
    _, body = await service.read_content(ctx, actor=me, document_id=doc.id)
    assert body == b""


async def test_unknown_source_is_refused(ctx: Ctx, system: Actor) -> None:
    with pytest.raises(InvalidInput):
        await service.store_document(ctx, actor=system, name="a", source="fax", data=b"x")


async def test_the_sql_clause_agrees_with_the_predicate(
    ctx: Ctx, system: Actor, people: dict[str, Actor]
) -> None:
    me, colleague = people["sales1"], people["sales2"]
    mine = await _contact(ctx, system, me, "+79160000001")
    theirs = await _contact(ctx, system, colleague, "+79160000002")
    nobodys = await contacts.create_contact(
        ctx, actor=system, name="Ничей", phones=["+79160000003"]
    )
    their_deal = await deals.create(
        ctx, actor=system, title="Чужая", contact_id=mine, owner_id=colleague.user_id
    )
    made = [
        await service.store_document(
            ctx, actor=system, name="1.pdf", source="api", data=PDF, contact_id=mine
        ),
        await service.store_document(
            ctx, actor=system, name="2.pdf", source="api", data=PDF, contact_id=theirs
        ),
        await service.store_document(
            ctx, actor=system, name="3.pdf", source="api", data=PDF, contact_id=nobodys.id
        ),
        await service.store_document(
            ctx, actor=system, name="4.png", source="api", data=PNG, deal_id=their_deal.id
        ),
        await service.store_document(ctx, actor=system, name="5.pdf", source="import", data=PDF),
    ]
    for actor in people.values():
        listed = set(
            await ctx.session.scalars(select(Document.id).where(access.document_clause(ctx, actor)))
        )
        readable = set()
        for document in made:
            try:
                await service.get_document(ctx, actor=actor, document_id=document.id)
                readable.add(document.id)
            except NotFound:
                pass
        assert listed == readable, actor
    sees = {d.id for d in made}
    assert set(
        await ctx.session.scalars(
            select(Document.id).where(access.document_clause(ctx, people["sales1"]))
        )
    ) == sees - {made[1].id, made[4].id}


async def test_a_file_is_never_whole_in_memory_on_its_way_in_or_out(
    ctx: Ctx, system: Actor, my_contact: int
) -> None:
    """8 MB in and out through the backend in use: the peak of new allocations stays a small
    multiple of one chunk (256 KB), not the file."""
    big = ctx.config.documents_max_bytes * 8
    wide = replace(ctx, config=replace(ctx.config, documents_max_bytes=big))
    source = io.BytesIO(b"%PDF-1.4\n" + b"\x01" * (big - 9))
    tracemalloc.start()
    try:
        doc = await service.store_document(
            wide, actor=system, name="big.pdf", source="api", data=source, contact_id=my_contact
        )
        _, chunks = await service.open_content(wide, actor=system, document_id=doc.id)
        read = 0
        async for block in chunks:
            read += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == big
    assert peak < big / 4, f"peak {peak} bytes for a {big}-byte file"


async def test_forgetting_a_contact_removes_the_files_only_they_used(
    ctx: Ctx, system: Actor, storage_kind: str, people: dict[str, Actor]
) -> None:
    """`contacts forget` erases a client's files: their bytes go from the folder (or the
    database) after the commit; a file another card still uses stays; a dry run removes
    nothing."""
    from core.conversations.forget import forget_contact

    admin = people["admin4"]
    mine = await _contact(ctx, system, people["sales1"], "+79160000101")
    other = await _contact(ctx, system, people["sales1"], "+79160000102")
    only = await service.store_document(
        ctx, actor=admin, name="passport.pdf", source="api", data=PDF, contact_id=mine
    )
    shared = await service.store_document(
        ctx, actor=admin, name="price.txt", source="api", data=b"price list", contact_id=mine
    )
    await service.store_document(
        ctx, actor=admin, name="price.txt", source="api", data=b"price list", contact_id=other
    )
    only_sha, shared_sha = only.sha256, shared.sha256
    folder = storage.backend_named(ctx, "dir")
    await forget_contact(ctx, actor=admin, contact_id=mine, dry_run=True)
    assert await storage.read_all(ctx, only_sha) == PDF
    if storage_kind == "dir":
        assert folder.path(only_sha).exists()

    forgotten = await forget_contact(ctx, actor=admin, contact_id=mine)

    assert forgotten.documents == 2 and forgotten.blobs == 1
    assert await ctx.session.get(DocumentBlob, only_sha) is None
    assert await storage.read_all(ctx, shared_sha) == b"price list"
    if storage_kind == "dir":
        assert not folder.path(only_sha).exists()
