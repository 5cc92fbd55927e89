"""Electronic signatures: signable templates and their published versions (never edited),
consent to electronic records, signature requests, signatures and revocations with their
evidence.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 11:26:59.167733

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signable_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('roi_term_days', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_signable_templates_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signable_templates')),
    sa.UniqueConstraint('public_id', name=op.f('uq_signable_templates_public_id'))
    )
    with op.batch_alter_table('signable_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signable_templates_agency_id'), ['agency_id'], unique=False)

    op.create_table('signature_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_signature_requests_agency_id_agencies')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_signature_requests_client_id_clients')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff_users.id'], name=op.f('fk_signature_requests_requested_by_id_staff_users')),
    sa.ForeignKeyConstraint(['template_id'], ['signable_templates.id'], name=op.f('fk_signature_requests_template_id_signable_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_signature_requests_public_id'))
    )
    with op.batch_alter_table('signature_requests', schema=None) as batch_op:
        batch_op.create_index('ix_signature_requests_client', ['client_id', 'status'], unique=False)

    op.create_table('template_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['staff_users.id'], name=op.f('fk_template_versions_published_by_id_staff_users')),
    sa.ForeignKeyConstraint(['template_id'], ['signable_templates.id'], name=op.f('fk_template_versions_template_id_signable_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_versions')),
    sa.UniqueConstraint('template_id', 'version', 'language', name=op.f('uq_template_versions_template_id'))
    )
    op.create_table('esign_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('disclosure_version', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('disclosure_sha256', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['client_accounts.id'], name=op.f('fk_esign_consents_account_id_client_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_esign_consents'))
    )
    with op.batch_alter_table('esign_consents', schema=None) as batch_op:
        batch_op.create_index('ix_esign_consents_account', ['account_id', 'withdrawn_at'], unique=False)

    op.create_table('consent_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('consent_ids', sa.JSON(), nullable=False),
    sa.Column('typed_name', sa.String(length=100), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('authentication', sa.JSON(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('verification_code', sa.String(length=16), nullable=False),
    sa.Column('pdf_document_id', sa.Integer(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['client_accounts.id'], name=op.f('fk_consent_revocations_account_id_client_accounts')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_consent_revocations_client_id_clients')),
    sa.ForeignKeyConstraint(['pdf_document_id'], ['documents.id'], name=op.f('fk_consent_revocations_pdf_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_revocations')),
    sa.UniqueConstraint('public_id', name=op.f('uq_consent_revocations_public_id')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_consent_revocations_verification_code'))
    )
    with op.batch_alter_table('consent_revocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_revocations_client_id'), ['client_id'], unique=False)

    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('esign_consent_id', sa.Integer(), nullable=False),
    sa.Column('typed_name', sa.String(length=100), nullable=False),
    sa.Column('drawn', sa.Text(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('document_text', sa.Text(), nullable=False),
    sa.Column('disclosure_sha256', sa.String(length=64), nullable=False),
    sa.Column('authentication', sa.JSON(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('verification_code', sa.String(length=16), nullable=False),
    sa.Column('pdf_document_id', sa.Integer(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['client_accounts.id'], name=op.f('fk_signatures_account_id_client_accounts')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_signatures_client_id_clients')),
    sa.ForeignKeyConstraint(['esign_consent_id'], ['esign_consents.id'], name=op.f('fk_signatures_esign_consent_id_esign_consents')),
    sa.ForeignKeyConstraint(['pdf_document_id'], ['documents.id'], name=op.f('fk_signatures_pdf_document_id_documents')),
    sa.ForeignKeyConstraint(['request_id'], ['signature_requests.id'], name=op.f('fk_signatures_request_id_signature_requests')),
    sa.ForeignKeyConstraint(['version_id'], ['template_versions.id'], name=op.f('fk_signatures_version_id_template_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
    sa.UniqueConstraint('public_id', name=op.f('uq_signatures_public_id')),
    sa.UniqueConstraint('request_id', name=op.f('uq_signatures_request_id')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_signatures_verification_code'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_client_id'), ['client_id'], unique=False)



def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_client_id'))

    op.drop_table('signatures')
    with op.batch_alter_table('consent_revocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_revocations_client_id'))

    op.drop_table('consent_revocations')
    with op.batch_alter_table('esign_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_esign_consents_account')

    op.drop_table('esign_consents')
    op.drop_table('template_versions')
    with op.batch_alter_table('signature_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_requests_client')

    op.drop_table('signature_requests')
    with op.batch_alter_table('signable_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signable_templates_agency_id'))

    op.drop_table('signable_templates')
