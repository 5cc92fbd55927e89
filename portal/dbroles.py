"""The app's database role on PostgreSQL: what the web nodes and workers connect as.

Migrations run as the schema's owner; the app's role gets only what it needs: read and write
the tables, use the sequences, read the schema version, and on the audit table only INSERT
and SELECT (R60: even the app cannot change or remove what was recorded; triggers refuse it
too). `flask grant-app-role ROLE` sets this, as the owner, after every migration (a table a
migration adds gets its grants then).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import text

from portal.domain.models.audit import AuditEvent
from portal.extensions import db

APPEND_ONLY = (AuditEvent.__tablename__,)
READ_ONLY = ("alembic_version",)


def grant_statements(role: str) -> list[str]:
    quoted = db.engine.dialect.identifier_preparer.quote
    r = quoted(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {r}",
    ]
    for table in APPEND_ONLY:
        statements.append(f"REVOKE UPDATE, DELETE ON {quoted(table)} FROM {r}")
    for table in READ_ONLY:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {quoted(table)} FROM {r}")
    return statements


@click.command("grant-app-role")
@click.argument("role")
@with_appcontext
def grant_app_role(role: str) -> None:
    """Give ROLE (the app's database login) what the portal needs and no more (PostgreSQL;
    run as the schema owner after `flask db upgrade`)."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("Database roles are PostgreSQL's; SQLite has none.")
    with db.engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            raise click.ClickException(f"There is no database role {role!r}.")
        for statement in grant_statements(role):
            conn.execute(text(statement))
    click.echo(f"{role}: tables read/write, {', '.join(APPEND_ONLY)} insert and select only")
