"""The schema comes from the migrations, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal.domain.models.base import include_object
from portal.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_object": include_object,
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migration_files_are_numbered():
    from pathlib import Path

    names = sorted(
        p.name for p in (Path(__file__).parents[2] / "migrations" / "versions").glob("*.py")
    )
    assert names and all(name[:4].isdigit() and name[4] == "_" for name in names)


def test_migrations_run_down_and_up_again(tmp_path):
    from portal import create_app
    from tests.support import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "audit_events" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_migrations_keep_existing_rows_on_sqlite(tmp_path):
    """Batch mode rebuilds tables that other rows point at (conversations, documents' tasks):
    an upgrade of a database in use keeps every row and every reference."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from portal import create_app
    from tests.support import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'in-use.sqlite3'}"))
    now = datetime.now(UTC).isoformat()
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO agencies (id, name, timezone, is_active, default_roi_days, "
                    "public_id, created_at) VALUES (1, 'A', 'UTC', 1, 365, :u, :now)"
                ),
                {"u": "11111111111111111111111111111111", "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO clients (id, personal_id, owning_agency_id, first_name, "
                    "last_name, name_quality, dob_quality, ssn_quality, preferred_language, "
                    "source, portal_fields, public_id, created_at, updated_at) VALUES (1, 'P1', "
                    "1, 'Ana', 'Doe', 1, 99, 99, 'en', 'portal', '{}', :u, :now, :now)"
                ),
                {"u": "22222222222222222222222222222222", "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO conversations (id, client_id, agency_id, status, "
                    "unread_by_staff, unread_by_client, public_id, created_at) VALUES "
                    "(1, 1, 1, 'open', 0, 0, :u, :now)"
                ),
                {"u": "33333333333333333333333333333333", "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO messages (conversation_id, author_kind, body, idempotency_key, "
                    "public_id, created_at) VALUES (1, 'client', 'hello', 'k', :u, :now)"
                ),
                {"u": "44444444444444444444444444444444", "now": now},
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT last_message_at, created_at FROM conversations WHERE id = 1")
            ).one()
            assert row[0] == row[1]  # the empty last-message time took the creation time
            assert connection.execute(text("SELECT count(*) FROM messages")).scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
