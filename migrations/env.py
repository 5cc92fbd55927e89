"""Alembic environment: runs inside the Flask app (Flask-Migrate), batch mode for SQLite."""

import logging

from alembic import context
from flask import current_app

from portal.domain.models.base import include_object

config = context.config
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=str(db.engine.url),
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, DROP, rename); with foreign keys enforced the
            # DROP of a table other rows point at is refused. Off for the migration (it must be
            # set outside a transaction), checked afterwards, and on again.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=True,
            compare_type=True,
            process_revision_directives=skip_empty,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.commit()  # PRAGMA foreign_keys does nothing inside a transaction
                driver = connection.connection.driver_connection
                driver.execute("PRAGMA foreign_keys=ON")
                if driver.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
                    raise RuntimeError("foreign keys could not be turned on again")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
