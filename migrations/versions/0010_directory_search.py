"""Directory search: one row per service (its folded text, summary, languages) with a
full-text index (SQLite FTS5 table `directory_fts`, PostgreSQL tsvector column with a GIN
index), and the weekly opening spans of each service for "open now".

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 12:53:36.783219

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "directory_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("closes", sa.Integer(), nullable=False),
        sa.Column("nth", sa.Integer(), nullable=False),
        sa.Column("spill", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_directory_hours_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["hsds_locations.id"],
            name=op.f("fk_directory_hours_location_id_hsds_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_directory_hours_service_id_hsds_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_hours")),
    )
    with op.batch_alter_table("directory_hours", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directory_hours_day", ["weekday", "opens", "closes"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directory_hours_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "directory_search",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("languages", sa.String(length=500), nullable=False),
        sa.Column("featured", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("located", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_directory_search_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["hsds_services.id"],
            name=op.f("fk_directory_search_service_id_hsds_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_directory_search")),
    )
    with op.batch_alter_table("directory_search", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_search_directory_id"), ["directory_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE directory_search ADD COLUMN document_tsv tsvector")
        op.execute(
            "CREATE INDEX ix_directory_search_document_tsv ON directory_search "
            "USING gin (document_tsv)"
        )
    else:
        # The text is folded (lower case, accents removed) before it is stored: the same
        # folding as the query, on both databases.
        op.execute(
            "CREATE VIRTUAL TABLE directory_fts USING fts5("
            "service_id UNINDEXED, document, tokenize = 'unicode61')"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS directory_fts")
    with op.batch_alter_table("directory_search", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_search_directory_id"))

    op.drop_table("directory_search")
    with op.batch_alter_table("directory_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_hours_service_id"))
        batch_op.drop_index("ix_directory_hours_day")

    op.drop_table("directory_hours")
