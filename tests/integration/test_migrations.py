"""The schema comes from the migrations, and the models agree with it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
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
