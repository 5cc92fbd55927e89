"""Staff second factors (issue 19): authenticator apps (TOTP), passkeys (WebAuthn), single-use
recovery codes, and an agency setting that requires a second factor of case managers (on by
default).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "agencies",
        sa.Column("require_second_factor", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_table(
        "staff_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=True),
        sa.Column("public_key", sa.LargeBinary(length=2048), nullable=True),
        sa.Column("sign_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_staff_factors_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_factors")),
        sa.UniqueConstraint("public_id", name=op.f("uq_staff_factors_public_id")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_staff_factors_credential_id")),
    )
    op.create_index(op.f("ix_staff_factors_staff_id"), "staff_factors", ["staff_id"])
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_recovery_codes_staff_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_staff_recovery_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes", ["staff_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_staff_recovery_codes_staff_id"), table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_index(op.f("ix_staff_factors_staff_id"), table_name="staff_factors")
    op.drop_table("staff_factors")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("require_second_factor")
