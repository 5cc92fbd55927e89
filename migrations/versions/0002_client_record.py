"""The client record: organizations, projects, clients, enrollments, care team, consents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('personal_id', sa.String(length=32), nullable=False),
    sa.Column('owning_agency_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=50), nullable=True),
    sa.Column('middle_name', sa.String(length=50), nullable=True),
    sa.Column('last_name', sa.String(length=50), nullable=True),
    sa.Column('name_suffix', sa.String(length=50), nullable=True),
    sa.Column('name_quality', sa.Integer(), nullable=False),
    sa.Column('dob', sa.Date(), nullable=True),
    sa.Column('dob_quality', sa.Integer(), nullable=False),
    sa.Column('ssn_encrypted', sa.Text(), nullable=True),
    sa.Column('ssn_last4', sa.String(length=4), nullable=True),
    sa.Column('ssn_quality', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('address_line1', sa.String(length=100), nullable=True),
    sa.Column('address_line2', sa.String(length=100), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('preferred_language', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hud_date_updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purge_after', sa.Date(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owning_agency_id'], ['agencies.id'], name=op.f('fk_clients_owning_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('personal_id', name=op.f('uq_clients_personal_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_clients_public_id'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index('ix_clients_names', ['last_name', 'first_name'], unique=False)
        batch_op.create_index('ix_clients_owner', ['owning_agency_id', 'deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_ssn_last4'), ['ssn_last4'], unique=False)

    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hud_organization_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('victim_service_provider', sa.Boolean(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_organizations_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('hud_organization_id', name=op.f('uq_organizations_hud_organization_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_organizations_public_id'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_agency_id'), ['agency_id'], unique=False)

    op.create_table('care_team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('is_case_manager', sa.Boolean(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['staff_users.id'], name=op.f('fk_care_team_members_added_by_id_staff_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_care_team_members_client_id_clients')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_care_team_members_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_team_members')),
    sa.UniqueConstraint('client_id', 'staff_id', name=op.f('uq_care_team_members_client_id'))
    )
    with op.batch_alter_table('care_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_team_members_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_team_members_staff_id'), ['staff_id'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_agency_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('permission', sa.Boolean(), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('document_reference', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_consents_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_agency_id'], ['agencies.id'], name=op.f('fk_consents_recorded_by_agency_id_agencies')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f('fk_consents_recorded_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    sa.UniqueConstraint('public_id', name=op.f('uq_consents_public_id'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index('ix_consents_client', ['client_id', 'revoked_at'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hud_project_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('project_type', sa.Integer(), nullable=True),
    sa.Column('operating_start', sa.Date(), nullable=True),
    sa.Column('operating_end', sa.Date(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_projects_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('hud_project_id', name=op.f('uq_projects_hud_project_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_projects_public_id'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_organization_id'), ['organization_id'], unique=False)

    op.create_table('enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hud_enrollment_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.String(length=32), nullable=True),
    sa.Column('relationship_to_hoh', sa.Integer(), nullable=True),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('hud_exit_id', sa.String(length=32), nullable=True),
    sa.Column('destination', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_enrollments_client_id_clients')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_enrollments_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments')),
    sa.UniqueConstraint('hud_enrollment_id', name=op.f('uq_enrollments_hud_enrollment_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_enrollments_public_id'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollments_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollments_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_roi_days', sa.Integer(), nullable=False, server_default='365'))

    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_client_accounts_client_id'), ['client_id'])
        batch_op.create_foreign_key(batch_op.f('fk_client_accounts_client_id_clients'), 'clients', ['client_id'], ['id'])



def downgrade():
    with op.batch_alter_table('client_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_client_accounts_client_id_clients'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_client_accounts_client_id'), type_='unique')
        batch_op.drop_column('client_id')

    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('default_roi_days')

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollments_project_id'))
        batch_op.drop_index(batch_op.f('ix_enrollments_client_id'))

    op.drop_table('enrollments')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_organization_id'))

    op.drop_table('projects')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_client')

    op.drop_table('consents')
    with op.batch_alter_table('care_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_team_members_staff_id'))
        batch_op.drop_index(batch_op.f('ix_care_team_members_client_id'))

    op.drop_table('care_team_members')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_agency_id'))

    op.drop_table('organizations')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_ssn_last4'))
        batch_op.drop_index('ix_clients_owner')
        batch_op.drop_index('ix_clients_names')

    op.drop_table('clients')
