"""Community articles: short pieces of community information an agency writes for the
spotlight panel of its clients' home page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 13:15:07.337104

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "community_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_community_articles_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_articles")),
        sa.UniqueConstraint("public_id", name=op.f("uq_community_articles_public_id")),
    )
    with op.batch_alter_table("community_articles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_community_articles_agency", ["agency_id", "published"], unique=False
        )


def downgrade():
    with op.batch_alter_table("community_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_community_articles_agency")

    op.drop_table("community_articles")
