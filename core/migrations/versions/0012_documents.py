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

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('storage', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_document_blobs'))
    )
    op.create_table('document_chunks',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['document_blobs.sha256'], name=op.f('fk_document_chunks_sha256_document_blobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'seq', name=op.f('pk_document_chunks'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['chat_message_id'], ['chat_messages.id'], name=op.f('fk_documents_chat_message_id_chat_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_documents_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_documents_deal_id_deals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sha256'], ['document_blobs.sha256'], name=op.f('fk_documents_sha256_document_blobs')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_documents_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_contact', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_documents_deal', ['deal_id', 'created_at'], unique=False)
        batch_op.create_index('ix_documents_extract', ['extract_status'], unique=False)
        batch_op.create_index('ix_documents_sha256', ['sha256'], unique=False)
        batch_op.create_index('uq_documents_idempotency', ['idempotency_key'], unique=True, sqlite_where=sa.text('idempotency_key IS NOT NULL'), postgresql_where=sa.text('idempotency_key IS NOT NULL'))
        batch_op.create_index('uq_documents_import_key', ['import_key'], unique=True, sqlite_where=sa.text('import_key IS NOT NULL'), postgresql_where=sa.text('import_key IS NOT NULL'))

    op.create_table('document_texts',
    sa.Column('document_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=True),
    sa.Column('extracted_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_texts_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_texts'))
    )


def downgrade() -> None:
    op.drop_table('document_texts')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('uq_documents_import_key', sqlite_where=sa.text('import_key IS NOT NULL'), postgresql_where=sa.text('import_key IS NOT NULL'))
        batch_op.drop_index('uq_documents_idempotency', sqlite_where=sa.text('idempotency_key IS NOT NULL'), postgresql_where=sa.text('idempotency_key IS NOT NULL'))
        batch_op.drop_index('ix_documents_sha256')
        batch_op.drop_index('ix_documents_extract')
        batch_op.drop_index('ix_documents_deal')
        batch_op.drop_index('ix_documents_contact')

    op.drop_table('documents')
    op.drop_table('document_chunks')
    op.drop_table('document_blobs')
