"""The HMIS bridge both ways (issue 21): the "to enter in the HMIS" worklist (one entry per
accepted change or check-in), HUD CSV delta exports (stored encrypted), the HMIS's own
contacts (CurrentLivingSituation.csv whole, Services.csv and Event.csv as dated contacts), its
users (User.csv), every import run with its report; a client's last contact says what it was,
an agency names its default HMIS user, and a review item says when the HMIS changed the same
part of the record while it waited.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hmis_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("hud_user_id", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=50), nullable=True),
        sa.Column("last_name", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("extension", sa.String(length=5), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("hud_date_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hud_date_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_hmis_users_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_users")),
        sa.UniqueConstraint("agency_id", "hud_user_id", name=op.f("uq_hmis_users_agency_id")),
    )
    with op.batch_alter_table("hmis_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hmis_users_email"), ["email"], unique=False)

    op.create_table(
        "hmis_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("hud_export_id", sa.String(length=32), nullable=False),
        sa.Column("made_by_id", sa.Integer(), nullable=True),
        sa.Column("made_through", sa.String(length=8), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_hmis_exports_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_hmis_exports_confirmed_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["made_by_id"], ["staff_users.id"], name=op.f("fk_hmis_exports_made_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_exports")),
        sa.UniqueConstraint("agency_id", "sequence", name=op.f("uq_hmis_exports_agency_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_hmis_exports_public_id")),
    )
    with op.batch_alter_table("hmis_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hmis_exports_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "hmis_import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("through", sa.String(length=8), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["staff_users.id"], name=op.f("fk_hmis_import_runs_actor_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_hmis_import_runs_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_import_runs")),
    )
    with op.batch_alter_table("hmis_import_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hmis_import_runs_agency", ["agency_id", "created_at"], unique=False
        )

    op.create_table(
        "hmis_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("hud_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("contact_date", sa.Date(), nullable=False),
        sa.Column("type_code", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_hmis_contacts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_hmis_contacts_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_contacts")),
        sa.UniqueConstraint("source", "hud_id", name=op.f("uq_hmis_contacts_source")),
    )
    with op.batch_alter_table("hmis_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hmis_contacts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hmis_contacts_enrollment_id"), ["enrollment_id"], unique=False
        )

    op.create_table(
        "hmis_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=True),
        sa.Column("contact_event_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("values_encrypted", sa.Text(), nullable=True),
        sa.Column("care_team_only", sa.Boolean(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("export_id", sa.Integer(), nullable=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["staff_users.id"],
            name=op.f("fk_hmis_entries_accepted_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_hmis_entries_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_hmis_entries_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["contact_event_id"],
            ["contact_events.id"],
            name=op.f("fk_hmis_entries_contact_event_id_contact_events"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["staff_users.id"],
            name=op.f("fk_hmis_entries_entered_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["export_id"], ["hmis_exports.id"], name=op.f("fk_hmis_entries_export_id_hmis_exports")
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_items.id"],
            name=op.f("fk_hmis_entries_review_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_entries")),
        sa.UniqueConstraint("contact_event_id", name=op.f("uq_hmis_entries_contact_event_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_hmis_entries_public_id")),
        sa.UniqueConstraint("review_item_id", name=op.f("uq_hmis_entries_review_item_id")),
    )
    with op.batch_alter_table("hmis_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hmis_entries_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_hmis_entries_export", ["export_id"], unique=False)
        batch_op.create_index(
            "ix_hmis_entries_worklist", ["agency_id", "entered_at", "created_at"], unique=False
        )

    op.create_table(
        "hmis_living_situations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hud_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("information_date", sa.Date(), nullable=False),
        sa.Column("living_situation", sa.Integer(), nullable=False),
        sa.Column("subsidy_type", sa.Integer(), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.Column("leave_situation_14_days", sa.Integer(), nullable=True),
        sa.Column("subsequent_residence", sa.Integer(), nullable=True),
        sa.Column("resources_to_obtain", sa.Integer(), nullable=True),
        sa.Column("lease_own_60_day", sa.Integer(), nullable=True),
        sa.Column("moved_two_or_more", sa.Integer(), nullable=True),
        sa.Column("location_details_encrypted", sa.Text(), nullable=True),
        sa.Column("hud_date_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hud_date_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hud_user_id", sa.String(length=32), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_hmis_living_situations_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_hmis_living_situations_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_living_situations")),
        sa.UniqueConstraint("hud_id", name=op.f("uq_hmis_living_situations_hud_id")),
    )
    with op.batch_alter_table("hmis_living_situations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hmis_living_situations_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hmis_living_situations_enrollment_id"), ["enrollment_id"], unique=False
        )

    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hmis_user_id", sa.String(length=32), nullable=True))

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_contact_kind", sa.String(length=16), nullable=True))

    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hmis_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_column("hmis_changed_at")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("last_contact_kind")

    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("hmis_user_id")

    with op.batch_alter_table("hmis_living_situations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hmis_living_situations_enrollment_id"))
        batch_op.drop_index(batch_op.f("ix_hmis_living_situations_client_id"))

    op.drop_table("hmis_living_situations")
    with op.batch_alter_table("hmis_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_hmis_entries_worklist")
        batch_op.drop_index("ix_hmis_entries_export")
        batch_op.drop_index(batch_op.f("ix_hmis_entries_client_id"))

    op.drop_table("hmis_entries")
    with op.batch_alter_table("hmis_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hmis_contacts_enrollment_id"))
        batch_op.drop_index(batch_op.f("ix_hmis_contacts_client_id"))

    op.drop_table("hmis_contacts")
    with op.batch_alter_table("hmis_import_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_hmis_import_runs_agency")

    op.drop_table("hmis_import_runs")
    with op.batch_alter_table("hmis_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hmis_exports_agency_id"))

    op.drop_table("hmis_exports")
    with op.batch_alter_table("hmis_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hmis_users_email"))

    op.drop_table("hmis_users")
