"""The flask commands: demo data, the first system administrator, the worker."""

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.domain.core.roles import Role
from portal.domain.models import ClientAccount, OutboxMessage, StaffUser
from tests.support import make_settings


@pytest.mark.requirement("R21")
def test_a_fresh_install_has_no_accounts_at_all(tmp_path):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0
    with app.app_context():
        from portal.extensions import db

        assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 0
        assert db.session.scalar(select(func.count()).select_from(ClientAccount)) == 0
        db.engine.dispose()


@pytest.mark.requirement("R21")
def test_demo_data_refuses_to_run_in_production(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'prod.sqlite3'}").with_overrides(
        env="production",
        allow_sqlite_in_production=True,
        data_encryption_key="x" * 44,
        argon2_time_cost=2,
        argon2_memory_kib=19456,
        allow_local_storage_in_production=True,
        allow_unscanned_files=True,
    )
    app = create_app(settings)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "never created in production" in result.output
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


def test_demo_data_creates_the_documented_sign_ins_and_can_run_twice(tmp_path):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'demo.sqlite3'}"))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    from tests.support import PROJECT_ROOT

    readme_text = (PROJECT_ROOT / "README.md").read_text()
    for line in first.output.splitlines()[1:]:
        email = line.split()[1]
        assert email in readme_text, f"{email} is not listed in the README"
    with app.app_context():
        from portal.extensions import db

        assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 5
        # "Find help" has something to find: a small directory, the same after a second run.
        from portal.domain.models import CommunityArticle, DirectorySearch

        assert db.session.scalar(select(func.count()).select_from(DirectorySearch)) == 7
        assert db.session.scalar(select(func.count()).select_from(CommunityArticle)) == 1
        db.engine.dispose()


@pytest.mark.requirement("R21")
def test_create_system_admin_queues_a_set_password_link(tmp_path):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'admin.sqlite3'}"))
    runner = app.test_cli_runner()
    runner.invoke(args=["db", "upgrade"])
    result = runner.invoke(
        args=["create-system-admin", "--email", "root@county.test", "--name", "Root Admin"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        from portal.extensions import db

        admin = db.session.scalar(select(StaffUser))
        assert (
            admin.role == Role.SYSTEM_ADMIN
            and admin.password_hash is None
            and admin.agency_id is None
        )
        assert db.session.scalar(select(OutboxMessage.template)) == "staff_invite"
        burst = runner.invoke(args=["worker", "--burst"])
        assert burst.exit_code == 0
        db.session.expire_all()
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
        db.engine.dispose()
