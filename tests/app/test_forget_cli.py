"""`perezvon contacts forget ID`: a client's messages, notes, files and the contact itself are
erased; the team's calls and deals stay unlinked; one audit line without personal data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import cli_contacts
from core.calls.models import Call
from core.contacts.models import Contact, ContactPhone
from core.context import Actor
from core.conversations.client_messages import send_to_contact
from core.conversations.models import ChatMessage, Conversation, MessageRelay
from core.deals import service as deals
from core.deals.models import Deal
from core.documents.models import Document, DocumentBlob, DocumentChunk
from core.models.audit import AuditLog
from core.notes import service as notes
from core.notes.models import Note
from core.outbox.models import Notification
from core.users import service as users
from tests.app.conftest import cli, threaded
from tests.conftest import Db
from tests.fakes.clock import FakeClock
from tests.orders_helpers import make_client

SECRET = "паспорт 4510 123456"


run = cli(cli_contacts)
in_thread = threaded(run)


def blob(session: AsyncSession, sha: str, clock: FakeClock) -> None:
    session.add(DocumentBlob(sha256=sha, size_bytes=3, storage="db", created_at=clock.now()))
    session.add(DocumentChunk(sha256=sha, seq=0, data=b"abc"))


def document(contact_id: int, sha: str, clock: FakeClock, name: str) -> Document:
    now = clock.now()
    return Document(
        contact_id=contact_id,
        source="bot",
        file_name=name,
        mime_type="application/pdf",
        kind="pdf",
        size_bytes=3,
        sha256=sha,
        created_at=now,
        updated_at=now,
    )


async def a_client_with_history(db: Db) -> tuple[int, int]:
    """Мария (messages, notes, files, a call, a deal) and Олег, who shares one file with her."""
    maria = await make_client(db, owner_id=None)
    oleg = await make_client(db, name="Олег", phone="+79160000002", telegram_id=880002)
    async with db.ctx() as ctx:
        system = Actor.system("test")
        seller = await users.create_user(
            ctx, actor=system, name="Анна", role="sales", telegram_user_id=5001
        )
        note = await notes.add_note(ctx, actor=system, contact_id=maria.id, text=SECRET)
        await notes.edit_note(ctx, actor=system, note_id=note.id, text=SECRET + " (уточнено)")
        conversation = await ctx.session.scalar(
            select(Conversation).where(Conversation.contact_id == maria.id)
        )
        assert conversation is not None
        ctx.session.add(
            ChatMessage(
                conversation_id=conversation.id,
                contact_id=maria.id,
                channel="bot",
                direction="in",
                text="Мой " + SECRET,
                status="received",
                sent_at=db.clock.now(),
                created_at=db.clock.now(),
                extra={},
                history=[],
            )
        )
        message, _new = await send_to_contact(
            ctx, actor=system, contact_id=maria.id, text="Спасибо, Мария", idempotency_key="k1"
        )
        ctx.session.add(
            MessageRelay(
                message_id=message.id,
                conversation_id=conversation.id,
                user_id=seller.id,
                staff_chat_id=5001,
                staff_message_id=77,
                created_at=db.clock.now(),
            )
        )
        blob(ctx.session, "a" * 64, db.clock)
        blob(ctx.session, "b" * 64, db.clock)
        await ctx.session.flush()
        ctx.session.add_all(
            [
                document(maria.id, "a" * 64, db.clock, "pasport.pdf"),
                document(maria.id, "b" * 64, db.clock, "dogovor.pdf"),
                document(oleg.id, "b" * 64, db.clock, "dogovor-kopiya.pdf"),
            ]
        )
        ctx.session.add(
            Call(
                provider="generic",
                provider_call_id="c1",
                direction="in",
                status="answered",
                client_e164="+79161112233",
                contact_id=maria.id,
                summary="Мария просила " + SECRET,
                started_at=db.clock.now(),
                created_at=db.clock.now(),
                updated_at=db.clock.now(),
            )
        )
        await ctx.session.commit()
        await deals.create(ctx, actor=system, title="Заказ 9", contact_id=maria.id)
    return maria.id, oleg.id


async def count(session: AsyncSession, model: type, *where: object) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


async def test_forget_erases_messages_notes_files_and_the_contact_and_keeps_an_audit_line(
    db: Db, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    maria_id, oleg_id = await a_client_with_history(db)

    assert await in_thread("contacts", "forget", str(maria_id)) == 0
    preview = capsys.readouterr().out.strip()
    assert preview == (
        f"contact {maria_id} would be erased with 2 messages, 1 conversation, 1 note, "
        "2 documents, 1 blob, 1 notification; run again with --yes to erase it"
    )
    async with db.sessions() as session:
        assert await count(session, ChatMessage, ChatMessage.contact_id == maria_id) == 2

    assert await in_thread("contacts", "forget", str(maria_id), "--yes") == 0
    assert capsys.readouterr().out.strip().startswith(f"contact {maria_id} erased with 2 messages")

    async with db.sessions() as session:
        assert await session.get(Contact, maria_id) is None
        assert await count(session, ContactPhone, ContactPhone.contact_id == maria_id) == 0
        assert await count(session, ChatMessage) == 0
        assert await count(session, MessageRelay) == 0
        assert await count(session, Conversation, Conversation.contact_id == maria_id) == 0
        assert await count(session, Note) == 0
        assert await count(session, Notification, Notification.chat_id == 880001) == 0
        # Her files go; the bytes she shared with Олег stay for him.
        files = list(await session.scalars(select(Document.file_name)))
        assert files == ["dogovor-kopiya.pdf"]
        assert list(await session.scalars(select(DocumentBlob.sha256))) == ["b" * 64]
        assert await count(session, DocumentChunk) == 1
        # The team's call and deal stay, unlinked, with no words of hers.
        call = (await session.scalars(select(Call))).one()
        assert (call.contact_id, call.summary) == (None, None)
        deal = (await session.scalars(select(Deal))).one()
        assert deal.contact_id is None and deal.title == "Заказ 9"
        assert await session.get(Contact, oleg_id) is not None
        audit = list(await session.scalars(select(AuditLog).order_by(AuditLog.id)))
    everything = json.dumps([a.changes for a in audit], ensure_ascii=False)
    assert "паспорт" not in everything and "Соколова" not in everything
    forgotten = [a for a in audit if a.action == "forget"]
    assert len(forgotten) == 1
    assert (forgotten[0].entity, forgotten[0].entity_id, forgotten[0].actor_label) == (
        "contact",
        maria_id,
        "cli",
    )
    assert forgotten[0].changes["messages"] == 2 and forgotten[0].changes["documents"] == 2


async def test_forget_names_an_unknown_contact_in_one_line(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await in_thread("contacts", "forget", "424242", "--yes") == 1
    assert capsys.readouterr().err.strip() == "error: contact 424242 not found"
    with pytest.raises(SystemExit):
        await in_thread("contacts", "forget", "Мария")
