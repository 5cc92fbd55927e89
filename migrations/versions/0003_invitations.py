"""Client onboarding: identity checks, client invitations, verified email on accounts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('identity_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_identity_checks_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_identity_checks_client_id_clients')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_identity_checks_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_checks')),
    sa.UniqueConstraint('public_id', name=op.f('uq_identity_checks_public_id'))
    )
    with op.batch_alter_table('identity_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_checks_client_id'), ['client_id'], unique=False)

    op.create_table('client_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('identity_check_id', sa.Integer(), nullable=False),
    sa.Column('delivery', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hmac', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('dob_failures', sa.Integer(), nullable=False),
    sa.Column('email_failures', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('binding_hash', sa.String(length=64), nullable=True),
    sa.Column('email_code_hmac', sa.String(length=64), nullable=True),
    sa.Column('email_code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_code_attempts', sa.Integer(), nullable=False),
    sa.Column('email_link_hash', sa.String(length=64), nullable=True),
    sa.Column('privacy_version', sa.String(length=16), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_client_invitations_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_invitations_client_id_clients')),
    sa.ForeignKeyConstraint(['identity_check_id'], ['identity_checks.id'], name=op.f('fk_client_invitations_identity_check_id_identity_checks')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['staff_users.id'], name=op.f('fk_client_invitations_issued_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_invitations')),
    sa.UniqueConstraint('code_hmac', name=op.f('uq_client_invitations_code_hmac')),
    sa.UniqueConstraint('email_link_hash', name=op.f('uq_client_invitations_email_link_hash')),
    sa.UniqueConstraint('public_id', name=op.f('uq_client_invitations_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_client_invitations_token_hash'))
    )
    with op.batch_alter_table('client_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_client_invitations_client', ['client_id', 'status'], unique=False)

    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('privacy_version', sa.String(length=16), nullable=True))



def downgrade():
    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.drop_column('privacy_version')
        batch_op.drop_column('email_verified_at')

    with op.batch_alter_table('client_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_client_invitations_client')

    op.drop_table('client_invitations')
    with op.batch_alter_table('identity_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_checks_client_id'))

    op.drop_table('identity_checks')
