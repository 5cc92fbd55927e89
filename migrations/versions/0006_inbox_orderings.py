"""The inbox orderings walk an index (with the id as tie-break), and every conversation has a
last-message time (conversations are only ever created with their first message).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:46:20.943947

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE conversations SET last_message_at = created_at WHERE last_message_at IS NULL"
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.alter_column('last_message_at',
               existing_type=sa.DateTime(timezone=True),
               nullable=False)
        batch_op.drop_index(batch_op.f('ix_conversations_awaiting'))
        batch_op.create_index('ix_conversations_awaiting', ['agency_id', 'awaiting_since', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_conversations_inbox'))
        batch_op.create_index('ix_conversations_inbox', ['agency_id', 'last_message_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_inbox')
        batch_op.create_index(batch_op.f('ix_conversations_inbox'), ['agency_id', 'last_message_at'], unique=False)
        batch_op.drop_index('ix_conversations_awaiting')
        batch_op.create_index(batch_op.f('ix_conversations_awaiting'), ['agency_id', 'awaiting_since'], unique=False)
        batch_op.alter_column('last_message_at',
               existing_type=sa.DateTime(timezone=True),
               nullable=True)
