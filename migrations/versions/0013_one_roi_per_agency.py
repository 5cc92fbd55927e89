"""One Release of Information template per agency: it is made on first use by a page that
otherwise only reads, and two first uses at once must end with one (issue 15).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "uq_signable_templates_one_roi",
        "signable_templates",
        ["agency_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'roi'"),
        postgresql_where=sa.text("kind = 'roi'"),
    )


def downgrade():
    op.drop_index("uq_signable_templates_one_roi", table_name="signable_templates")
