"""Staff single sign-on (issue 19): an account's binding to one identity at an OpenID Connect
provider (issuer, subject), a session's state with its provider (checked hourly), and two
agency settings: staff must sign in through the provider,
and a first sign-in there may create an account (with no client in view).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("sso_provider", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("sso_issuer", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("sso_linked_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_staff_users_sso_issuer"), ["sso_issuer", "sso_subject"]
        )
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("sso_state", sa.Text(), nullable=True))
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(
            sa.Column("require_sso", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column(
                "sso_create_accounts", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("sso_create_accounts")
        batch.drop_column("require_sso")
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("sso_state")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint(op.f("uq_staff_users_sso_issuer"), type_="unique")
        batch.drop_column("sso_linked_at")
        batch.drop_column("sso_subject")
        batch.drop_column("sso_issuer")
        batch.drop_column("sso_provider")
