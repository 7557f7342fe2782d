"""documents on cards: files, their bytes once per hash, extracted text (issue 18)

Revision ID: 0012
Revises: 0011

- `document_blobs`: a file's bytes, once per SHA-256, in the backend the row names
  (`dir`: DOCUMENTS_DIR; `db`: `document_chunks`, for several instances on PostgreSQL).
- `documents`: one file on a contact and/or a deal (or neither: the import's "Unsorted"),
  who attached it, from where, its detected type, Telegram's file reference, the state of
  its text extraction; idempotency and import keys make retries and reruns add no copies.
- `document_texts`: the extracted text and its words in normal form (the full-text input).

New tables only.
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from core.migrations.helpers import ForeignKey, Index, Indexes, create_table, id_column

revision: str = '0012'
down_revision: str | None = '0011'

DOCUMENT_INDEXES = Indexes(
    'documents',
    Index('ix_documents_contact', ['contact_id', 'created_at']),
    Index('ix_documents_deal', ['deal_id', 'created_at']),
    Index('ix_documents_extract', ['extract_status']),
    Index('ix_documents_sha256', ['sha256']),
    Index('uq_documents_idempotency', ['idempotency_key'], unique=True, where='idempotency_key IS NOT NULL'),
    Index('uq_documents_import_key', ['import_key'], unique=True, where='import_key IS NOT NULL'),
)


def upgrade() -> None:
    create_table('document_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('storage', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    primary_key=('sha256',),
    )
    create_table('document_chunks',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    foreign_keys=[ForeignKey('sha256', 'document_blobs.sha256', 'CASCADE')],
    primary_key=('sha256', 'seq'),
    )
    create_table('documents',
    id_column(),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=True),
    sa.Column('mime_type', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('telegram_file_id', sa.String(length=255), nullable=True),
    sa.Column('telegram_file_unique_id', sa.String(length=64), nullable=True),
    sa.Column('chat_message_id', sa.Integer(), nullable=True),
    sa.Column('extract_status', sa.String(length=16), nullable=False),
    sa.Column('extract_error', sa.Text(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('import_key', sa.String(length=500), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    foreign_keys=[
        ForeignKey('chat_message_id', 'chat_messages.id', 'SET NULL'),
        ForeignKey('contact_id', 'contacts.id', 'SET NULL'),
        ForeignKey('deal_id', 'deals.id', 'SET NULL'),
        ForeignKey('sha256', 'document_blobs.sha256'),
        ForeignKey('uploaded_by_id', 'users.id', 'SET NULL'),
    ],
    )
    DOCUMENT_INDEXES.create()
    create_table('document_texts',
    sa.Column('document_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=True),
    sa.Column('extracted_at', UTCDateTime(), nullable=False),
    foreign_keys=[ForeignKey('document_id', 'documents.id', 'CASCADE')],
    primary_key=('document_id',),
    )


def downgrade() -> None:
    op.drop_table('document_texts')
    DOCUMENT_INDEXES.drop()
    op.drop_table('documents')
    op.drop_table('document_chunks')
    op.drop_table('document_blobs')
