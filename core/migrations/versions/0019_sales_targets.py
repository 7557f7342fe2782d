"""monthly sales targets per salesperson (issue 19)

Revision ID: 0019
Revises: 0014

- `sales_targets`: one figure (won_amount in minor units, deals_won, calls_out) a
  salesperson is to reach in a calendar month (`month`: its first day), set by a manager;
  the digest shows plan against actual.

New table only.
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime
from core.migrations.helpers import ForeignKey, create_table, id_column

revision: str = '0019'
down_revision: str | None = '0014'


def upgrade() -> None:
    create_table(
        'sales_targets',
        id_column(),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('target', sa.BigInteger(), nullable=False),
        sa.Column('set_by_user_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        foreign_keys=[
            ForeignKey('user_id', 'users.id', 'CASCADE'),
            ForeignKey('set_by_user_id', 'users.id', 'SET NULL'),
        ],
        unique=('user_id', 'month', 'metric'),
    )
    op.create_index('ix_sales_targets_user_id', 'sales_targets', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sales_targets_user_id', table_name='sales_targets')
    op.drop_table('sales_targets')
