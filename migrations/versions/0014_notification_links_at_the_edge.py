"""Staff notifications keep the public ids they are about, not a link (issue 18): the staff
pages build the link from the notification's kind. Existing links move into the parameters.

The `link` column stays for one release: a node of the previous release, still running during a
rolling deploy, writes it, and this release shows such a notification's stored link. A later
release drops it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:00:00

"""

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PATTERNS = (
    (re.compile(rf"^/staff/clients/({_UUID})(?:/invite)?(?:#[a-z]+)?$"), "client"),
    (re.compile(rf"^/staff/conversations/({_UUID})(?:#[a-z]+)?$"), "conversation"),
)

notes = sa.table(
    "staff_notifications",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("params", sa.JSON().with_variant(JSONB(), "postgresql")),
    sa.column("link", sa.String),
)


def _ids_in(link: str) -> dict[str, str] | None:
    if link == "/staff/record-requests":
        return {}
    for pattern, name in _PATTERNS:
        found = pattern.match(link)
        if found:
            return {name: found.group(1)}
    return None  # not one the portal wrote: kept as it is (it is still shown)


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(notes.c.id, notes.c.params, notes.c.link).where(notes.c.link.is_not(None))
    ).all()
    for row in rows:
        ids = _ids_in(row.link)
        if ids is None:
            continue
        bind.execute(
            notes.update()
            .where(notes.c.id == row.id)
            .values(params={**(row.params or {}), **ids}, link=None)
        )


# What the previous release stored for each kind, from the ids (the downgrade's way back).
_LINKS_BEFORE = {
    "invitation_locked": "/staff/clients/{client}/invite",
    "client_account_deactivated": "/staff/clients/{client}",
    "client_account_reinstated": "/staff/clients/{client}",
    "client_deactivated_self": "/staff/clients/{client}",
    "record_requested": "/staff/record-requests",
    "client_message": "/staff/conversations/{conversation}#newest",
    "document_quarantined": "/staff/clients/{client}#documents",
    "document_missing": "/staff/clients/{client}#documents",
    "signature_declined": "/staff/clients/{client}",
    "roi_revoked": "/staff/clients/{client}#signatures",
}


def downgrade():
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(notes.c.id, notes.c.kind, notes.c.params).where(notes.c.link.is_(None))
    ).all()
    for row in rows:
        pattern = _LINKS_BEFORE.get(row.kind)
        try:
            link = pattern.format(**(row.params or {})) if pattern else None
        except KeyError:  # a notice without the ids its link needs: none, as before
            link = None
        if link is not None:
            bind.execute(notes.update().where(notes.c.id == row.id).values(link=link))
