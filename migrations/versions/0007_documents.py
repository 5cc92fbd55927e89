"""Documents in the object store (one row per stored file, random keys, scan and review
states) and document requests as client tasks (category, what, a note).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 09:57:25.996807

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('file_name', sa.String(length=160), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('scan_status', sa.String(length=12), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scan_signature', sa.String(length=120), nullable=True),
    sa.Column('review_status', sa.String(length=12), nullable=False),
    sa.Column('reject_reason', sa.String(length=24), nullable=True),
    sa.Column('reject_note', sa.Text(), nullable=True),
    sa.Column('uploaded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('shown_to_client', sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_documents_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_documents_client_id_clients')),
    sa.ForeignKeyConstraint(['task_id'], ['client_tasks.id'], name=op.f('fk_documents_task_id_client_tasks')),
    sa.ForeignKeyConstraint(['uploaded_by_account_id'], ['client_accounts.id'], name=op.f('fk_documents_uploaded_by_account_id_client_accounts')),
    sa.ForeignKeyConstraint(['uploaded_by_staff_id'], ['staff_users.id'], name=op.f('fk_documents_uploaded_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('client_id', 'idempotency_key', name=op.f('uq_documents_client_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_documents_public_id')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_documents_storage_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_client', ['client_id', 'created_at'], unique=False)
        batch_op.create_index('ix_documents_scan', ['scan_status', 'created_at'], unique=False)

    with op.batch_alter_table('client_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('title', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('client_tasks', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('title')
        batch_op.drop_column('category')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_scan')
        batch_op.drop_index('ix_documents_client')

    op.drop_table('documents')
