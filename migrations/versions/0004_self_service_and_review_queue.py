"""Client self-service and the review queue: review items, phones, locations, contact events,
client tasks, record requests; account preferences and a pending sign-in email.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 07:46:51.458873

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_client_tasks_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_tasks_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_client_tasks_created_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_tasks')),
    sa.UniqueConstraint('public_id', name=op.f('uq_client_tasks_public_id'))
    )
    with op.batch_alter_table('client_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_client_tasks_client', ['client_id', 'status'], unique=False)

    op.create_table('contact_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contact_events_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_events'))
    )
    with op.batch_alter_table('contact_events', schema=None) as batch_op:
        batch_op.create_index('ix_contact_events_client', ['client_id', 'created_at'], unique=False)

    op.create_table('record_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('parts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fulfilled_by_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_record_requests_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_record_requests_client_id_clients')),
    sa.ForeignKeyConstraint(['fulfilled_by_id'], ['staff_users.id'], name=op.f('fk_record_requests_fulfilled_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_record_requests_public_id'))
    )
    with op.batch_alter_table('record_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_requests_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_record_requests_queue', ['agency_id', 'status'], unique=False)

    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('payload_encrypted', sa.Text(), nullable=False),
    sa.Column('previous_encrypted', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('submitted_by_account_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('reject_reason', sa.String(length=24), nullable=True),
    sa.Column('reject_note', sa.String(length=500), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_review_items_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_review_items_client_id_clients')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_review_items_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['submitted_by_account_id'], ['client_accounts.id'], name=op.f('fk_review_items_submitted_by_account_id_client_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('public_id', name=op.f('uq_review_items_public_id'))
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index('ix_review_items_client', ['client_id', 'kind', 'status'], unique=False)
        batch_op.create_index('ix_review_items_queue', ['status', 'agency_id', 'created_at'], unique=False)

    op.create_table('client_locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('details_encrypted', sa.Text(), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_item_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_locations_client_id_clients')),
    sa.ForeignKeyConstraint(['review_item_id'], ['review_items.id'], name=op.f('fk_client_locations_review_item_id_review_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_locations')),
    sa.UniqueConstraint('public_id', name=op.f('uq_client_locations_public_id'))
    )
    with op.batch_alter_table('client_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_locations_client_id'), ['client_id'], unique=False)

    op.create_table('client_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('voicemail_ok', sa.Boolean(), nullable=False),
    sa.Column('text_ok', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('review_item_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_phones_client_id_clients')),
    sa.ForeignKeyConstraint(['review_item_id'], ['review_items.id'], name=op.f('fk_client_phones_review_item_id_review_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_phones')),
    sa.UniqueConstraint('public_id', name=op.f('uq_client_phones_public_id'))
    )
    with op.batch_alter_table('client_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_phones_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_notifications', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('pending_email_code_hmac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pending_email_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pending_email_attempts', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferred_contact', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('portal_fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_last_contact_at'), ['last_contact_at'], unique=False)

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_to_clients', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('shown_to_clients')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_last_contact_at'))
        batch_op.drop_column('last_contact_at')
        batch_op.drop_column('portal_fields')
        batch_op.drop_column('preferred_contact')

    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.drop_column('pending_email_attempts')
        batch_op.drop_column('pending_email_expires_at')
        batch_op.drop_column('pending_email_code_hmac')
        batch_op.drop_column('pending_email')
        batch_op.drop_column('email_notifications')

    with op.batch_alter_table('client_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_phones_client_id'))

    op.drop_table('client_phones')
    with op.batch_alter_table('client_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_locations_client_id'))

    op.drop_table('client_locations')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index('ix_review_items_queue')
        batch_op.drop_index('ix_review_items_client')

    op.drop_table('review_items')
    with op.batch_alter_table('record_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_record_requests_queue')
        batch_op.drop_index(batch_op.f('ix_record_requests_client_id'))

    op.drop_table('record_requests')
    with op.batch_alter_table('contact_events', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_events_client')

    op.drop_table('contact_events')
    with op.batch_alter_table('client_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_client_tasks_client')

    op.drop_table('client_tasks')
