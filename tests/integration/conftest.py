"""Fixtures shared by the integration tests of several issues."""

import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from portal.domain.models import CareTeamMember, Client
from tests.support import database_url_for_tests, missing, signed_in


@pytest.fixture
def me(app, make, agency_a, case_manager_user, database):
    """A signed-in client (agency A) with a case manager on the care team."""
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    browser = signed_in(app, account)
    browser.record = record
    browser.account = account
    return browser


@pytest.fixture(scope="module")
def new_database(tmp_path_factory):
    """Factory: the URL of a new, empty database; PostgreSQL ones are dropped at the end."""
    base = database_url_for_tests(tmp_path_factory.mktemp("fresh-db"))
    if base.startswith("sqlite"):
        folder = tmp_path_factory.mktemp("fresh-sqlite")
        yield lambda: f"sqlite:///{folder / uuid.uuid4().hex}.sqlite3"
        return
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"portal_fresh_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            missing("pg", f"cannot create a database: {type(exc).__name__}")
        made.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    yield make
    # Every install's engine is disposed by then (`installs` ends first). A plain DROP, not
    # WITH (FORCE): FORCE refuses, for a role that is not a superuser, when an autovacuum
    # worker happens to be in the database (its backend has no role the test role is a member
    # of), while a plain DROP stops autovacuum itself. A connection still closing gets a few
    # seconds.
    with admin.connect() as conn:
        for name in made:
            for attempt in range(20):
                try:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                    break
                except OperationalError:
                    if attempt == 19:
                        raise
                    time.sleep(0.5)
    admin.dispose()
