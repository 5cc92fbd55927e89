"""The resource directory in the shape of Open Referral HSDS 3 (issue 9): directories,
organizations, services, locations, services at locations, addresses, phones, schedules,
languages, taxonomies, taxonomy terms and attributes, with the HSDS UUIDs as keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 12:48:37.145780

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "directories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_directories_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directories")),
        sa.UniqueConstraint("agency_id", name=op.f("uq_directories_agency_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_directories_public_id")),
    )
    op.create_table(
        "hsds_organizations",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("alternate_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=2000), nullable=True),
        sa.Column("year_incorporated", sa.Integer(), nullable=True),
        sa.Column("legal_status", sa.String(length=200), nullable=True),
        sa.Column("uri", sa.String(length=2000), nullable=True),
        sa.Column("parent_organization_id", sa.Uuid(), nullable=True),
        sa.Column("placeholder", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_organizations_directory_id_directories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_organizations")),
    )
    with op.batch_alter_table("hsds_organizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_organizations_directory_id"), ["directory_id"], unique=False
        )

    op.create_table(
        "hsds_taxonomies",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("uri", sa.String(length=2000), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_taxonomies_directory_id_directories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_taxonomies")),
    )
    with op.batch_alter_table("hsds_taxonomies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_taxonomies_directory_id"), ["directory_id"], unique=False
        )

    op.create_table(
        "hsds_locations",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("location_type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("alternate_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("transportation", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("external_identifier", sa.String(length=200), nullable=True),
        sa.Column("external_identifier_type", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_locations_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["hsds_organizations.id"],
            name=op.f("fk_hsds_locations_organization_id_hsds_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_locations")),
    )
    with op.batch_alter_table("hsds_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_locations_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index("ix_hsds_locations_lat_lon", ["latitude", "longitude"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hsds_locations_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "hsds_services",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("alternate_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("interpretation_services", sa.Text(), nullable=True),
        sa.Column("application_process", sa.Text(), nullable=True),
        sa.Column("fees_description", sa.Text(), nullable=True),
        sa.Column("accreditations", sa.Text(), nullable=True),
        sa.Column("eligibility_description", sa.Text(), nullable=True),
        sa.Column("minimum_age", sa.Float(), nullable=True),
        sa.Column("maximum_age", sa.Float(), nullable=True),
        sa.Column("assured_date", sa.Date(), nullable=True),
        sa.Column("assurer_email", sa.String(length=254), nullable=True),
        sa.Column("alert", sa.Text(), nullable=True),
        sa.Column("featured", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_services_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["hsds_organizations.id"],
            name=op.f("fk_hsds_services_organization_id_hsds_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_services")),
    )
    with op.batch_alter_table("hsds_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_services_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_services_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "hsds_taxonomy_terms",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("taxonomy", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("taxonomy_id", sa.Uuid(), nullable=True),
        sa.Column("term_uri", sa.String(length=2000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_taxonomy_terms_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_id"],
            ["hsds_taxonomies.id"],
            name=op.f("fk_hsds_taxonomy_terms_taxonomy_id_hsds_taxonomies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_taxonomy_terms")),
    )
    with op.batch_alter_table("hsds_taxonomy_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_taxonomy_terms_directory_id"), ["directory_id"], unique=False
        )

    op.create_table(
        "hsds_addresses",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("attention", sa.String(length=500), nullable=True),
        sa.Column("address_1", sa.String(length=500), nullable=False),
        sa.Column("address_2", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("state_province", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("address_type", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_addresses_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_hsds_addresses_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["hsds_organizations.id"],
            name=op.f("fk_hsds_addresses_organization_id_hsds_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_addresses")),
    )
    with op.batch_alter_table("hsds_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_addresses_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_addresses_location_id"), ["location_id"], unique=False
        )

    op.create_table(
        "hsds_attributes",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("link_type", sa.String(length=200), nullable=False),
        sa.Column("link_entity", sa.String(length=32), nullable=False),
        sa.Column("taxonomy_term_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_attributes_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["hsds_taxonomy_terms.id"],
            name=op.f("fk_hsds_attributes_taxonomy_term_id_hsds_taxonomy_terms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_attributes")),
    )
    with op.batch_alter_table("hsds_attributes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_attributes_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index("ix_hsds_attributes_link", ["link_entity", "link_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hsds_attributes_taxonomy_term_id"), ["taxonomy_term_id"], unique=False
        )

    op.create_table(
        "hsds_service_at_location",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_service_at_location_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_hsds_service_at_location_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_hsds_service_at_location_service_id_hsds_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_service_at_location")),
    )
    with op.batch_alter_table("hsds_service_at_location", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_service_at_location_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_service_at_location_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_service_at_location_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "hsds_phones",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("service_at_location_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_phones_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_hsds_phones_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["hsds_organizations.id"],
            name=op.f("fk_hsds_phones_organization_id_hsds_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_at_location_id"],
            ["hsds_service_at_location.id"],
            name=op.f("fk_hsds_phones_service_at_location_id_hsds_service_at_location"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_hsds_phones_service_id_hsds_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_phones")),
    )
    with op.batch_alter_table("hsds_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_phones_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_phones_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hsds_phones_service_id"), ["service_id"], unique=False)

    op.create_table(
        "hsds_schedules",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("service_at_location_id", sa.Uuid(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("dtstart", sa.Date(), nullable=True),
        sa.Column("timezone", sa.Float(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("wkst", sa.String(length=2), nullable=True),
        sa.Column("freq", sa.String(length=8), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=True),
        sa.Column("byday", sa.String(length=100), nullable=True),
        sa.Column("byweekno", sa.String(length=200), nullable=True),
        sa.Column("bymonthday", sa.String(length=200), nullable=True),
        sa.Column("byyearday", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("schedule_link", sa.String(length=2000), nullable=True),
        sa.Column("attending_type", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_schedules_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_hsds_schedules_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_at_location_id"],
            ["hsds_service_at_location.id"],
            name=op.f("fk_hsds_schedules_service_at_location_id_hsds_service_at_location"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_hsds_schedules_service_id_hsds_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_schedules")),
    )
    with op.batch_alter_table("hsds_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hsds_schedules_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_schedules_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_schedules_service_at_location_id"),
            ["service_at_location_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_schedules_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "hsds_languages",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("phone_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_hsds_languages_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_hsds_languages_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["phone_id"], ["hsds_phones.id"], name=op.f("fk_hsds_languages_phone_id_hsds_phones")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_hsds_languages_service_id_hsds_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hsds_languages")),
    )
    with op.batch_alter_table("hsds_languages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hsds_languages_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hsds_languages_directory_id"), ["directory_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hsds_languages_service_id"), ["service_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("hsds_languages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_languages_service_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_languages_directory_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_languages_code"))

    op.drop_table("hsds_languages")
    with op.batch_alter_table("hsds_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_schedules_service_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_schedules_service_at_location_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_schedules_location_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_schedules_directory_id"))

    op.drop_table("hsds_schedules")
    with op.batch_alter_table("hsds_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_phones_service_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_phones_location_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_phones_directory_id"))

    op.drop_table("hsds_phones")
    with op.batch_alter_table("hsds_service_at_location", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_service_at_location_service_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_service_at_location_location_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_service_at_location_directory_id"))

    op.drop_table("hsds_service_at_location")
    with op.batch_alter_table("hsds_attributes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_attributes_taxonomy_term_id"))
        batch_op.drop_index("ix_hsds_attributes_link")
        batch_op.drop_index(batch_op.f("ix_hsds_attributes_directory_id"))

    op.drop_table("hsds_attributes")
    with op.batch_alter_table("hsds_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_addresses_location_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_addresses_directory_id"))

    op.drop_table("hsds_addresses")
    with op.batch_alter_table("hsds_taxonomy_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_taxonomy_terms_directory_id"))

    op.drop_table("hsds_taxonomy_terms")
    with op.batch_alter_table("hsds_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_services_organization_id"))
        batch_op.drop_index(batch_op.f("ix_hsds_services_directory_id"))

    op.drop_table("hsds_services")
    with op.batch_alter_table("hsds_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_locations_organization_id"))
        batch_op.drop_index("ix_hsds_locations_lat_lon")
        batch_op.drop_index(batch_op.f("ix_hsds_locations_directory_id"))

    op.drop_table("hsds_locations")
    with op.batch_alter_table("hsds_taxonomies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_taxonomies_directory_id"))

    op.drop_table("hsds_taxonomies")
    with op.batch_alter_table("hsds_organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hsds_organizations_directory_id"))

    op.drop_table("hsds_organizations")
    op.drop_table("directories")
