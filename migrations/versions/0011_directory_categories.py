"""Directory search: the category shortcuts a service belongs to, worked out when the
search rows are rebuilt (a category filter without a full-text query), and an index on
"located" (the distance search lists the services without coordinates last).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 13:05:10.929795

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("directory_search", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("categories", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_directory_search_located"), ["located"], unique=False
        )


def downgrade():
    with op.batch_alter_table("directory_search", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_search_located"))
        batch_op.drop_column("categories")
