"""Retention (issue 20): the daily `retention.purge` job takes over pruning where-to-find-me
history, so the recurring `locations.prune` job still queued in a database goes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("DELETE FROM jobs WHERE kind = 'locations.prune' AND status = 'queued'"))


def downgrade():
    pass  # the app of revision 0016 queues its recurring job again when a worker starts
