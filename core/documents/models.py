"""Documents on cards: contracts, invoices, scans (issue 18).

A `Document` is one file attached to a contact and/or a deal (or to neither: the "Unsorted"
inbox of an archive import), with who attached it, from where and when. Its bytes are a
`DocumentBlob`, kept once per content hash however many documents share it, in the storage
backend named on the blob: `dir` (files under DOCUMENTS_DIR) or `db` (`DocumentChunk` rows,
streamed in chunks, for several instances sharing PostgreSQL). Text extraction runs in the
background and leaves `DocumentText`; `extract_status` says where it stands and why not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Timestamped, UTCDateTime, partial_index

# pdf|docx|xlsx|csv|odt|text|email|image|other: detected from the bytes, not the name.
DOCUMENT_KINDS = ("pdf", "docx", "xlsx", "csv", "odt", "text", "email", "image", "other")
# pending (queued) | done | failed (kept, with the reason) | unsupported (nothing to read)
EXTRACT_STATUSES = ("pending", "done", "failed", "unsupported")


class DocumentBlob(Base):
    """The bytes of a file, once per SHA-256."""

    __tablename__ = "document_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage: Mapped[str] = mapped_column(String(16))  # dir|db
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentChunk(Base):
    """A piece of a blob kept in the database (storage `db`), in order of `seq`."""

    __tablename__ = "document_chunks"

    sha256: Mapped[str] = mapped_column(
        ForeignKey("document_blobs.sha256", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Document(Timestamped, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_contact", "contact_id", "created_at"),
        Index("ix_documents_deal", "deal_id", "created_at"),
        Index("ix_documents_sha256", "sha256"),
        Index("ix_documents_extract", "extract_status"),
        partial_index(
            "uq_documents_idempotency",
            "idempotency_key",
            where="idempotency_key IS NOT NULL",
            unique=True,
        ),
        # An archive import gives each file one key: a rerun after a kill adds no copy.
        partial_index(
            "uq_documents_import_key", "import_key", where="import_key IS NOT NULL", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # bot|api|import|client_chat|shop — where the file came from.
    source: Mapped[str] = mapped_column(String(16))
    # A safe display and download name (no path separators or control characters, ≤255).
    file_name: Mapped[str] = mapped_column(String(255))
    original_name: Mapped[str | None] = mapped_column(Text)  # as given, for the audit
    mime_type: Mapped[str] = mapped_column(String(128))  # detected from the bytes
    kind: Mapped[str] = mapped_column(String(16))  # DOCUMENT_KINDS
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("document_blobs.sha256"))
    # Telegram's file reference when it came through the bot (sent back without an upload).
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    telegram_file_unique_id: Mapped[str | None] = mapped_column(String(64))
    # The client message it came with (client conversations).
    chat_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="SET NULL")
    )
    extract_status: Mapped[str] = mapped_column(String(16), default="pending")
    extract_error: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    import_key: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DocumentText(Base):
    """What extraction read from a document: the text, and its words in normal form."""

    __tablename__ = "document_texts"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    text: Mapped[str] = mapped_column(Text, default="")  # capped; for snippets
    # The file name's and the text's words as lemmas ("поставок" → "поставка"), the
    # full-text index's input on both databases.
    words: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str | None] = mapped_column(String(32))  # pdf-text|docx|ocr|…
    extracted_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = [
    "DOCUMENT_KINDS",
    "EXTRACT_STATUSES",
    "Document",
    "DocumentBlob",
    "DocumentChunk",
    "DocumentText",
]
