"""Fixtures: the app (schema built by running the migrations), per-test transaction
isolation, a frozen clock, factories, role clients and a real SMTP sink."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import scoped_session, sessionmaker

from portal.domain.core import clock, context
from portal.domain.core.roles import Role
from portal.domain.models import Agency, Client, StaffUser
from portal.extensions import db, limiter
from tests.support import (
    Factories,
    SmtpSink,
    build_app,
    database_url_for_tests,
    free_port,
    signed_in,
)

# real servers for tests (SeaweedFS, clamd, ...); the security case (which marked tests passed)
pytest_plugins = ["tests.components", "tests.security_case"]

FROZEN_AT = datetime(2026, 3, 12, 17, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("portal")
    application = build_app(root, database_url_for_tests(root))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def database(app, request):
    """Each test runs inside a transaction that is rolled back; the app's commits become
    savepoint releases. Tests marked `real_commits` commit for real (threads, workers)."""
    if request.node.get_closest_marker("real_commits"):
        with app.app_context():
            yield db
            _delete_committed_rows()
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=True
            ),
            scopefunc=original.registry.scopefunc,
        )
        try:
            yield db
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


def _delete_committed_rows() -> None:
    """Every table but the append-only audit log, children first."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "audit_events":
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _isolation(request):
    """Fresh rate-limit counters, an unfrozen clock, an empty action context and nothing kept
    from another test's directory (per-process caches of public directory data) per test."""
    from portal.domain import directory
    from portal.domain.directory import admin as directory_admin

    directory.forget_searches()
    directory_admin.forget_spotlights()
    if "app" in request.fixturenames:
        limiter.reset()
    clock.unfreeze()
    token = context.set_context(context.ActionContext())
    yield
    context.reset_context(token)
    clock.unfreeze()


@pytest.fixture
def frozen_clock():
    clock.freeze(FROZEN_AT)
    yield clock


@pytest.fixture
def make(database):
    return Factories(database.session)


@pytest.fixture
def agency_a(make):
    return make.agency("Agency A")


@pytest.fixture
def agency_b(make):
    return make.agency("Agency B", timezone="America/New_York")


@pytest.fixture
def anonymous(app, database):
    return app.test_client()


@pytest.fixture
def case_manager_user(make, agency_a):
    return make.staff(Role.CASE_MANAGER, agency_a, name="Casey Case")


@pytest.fixture
def agency_admin_user(make, agency_a):
    return make.staff(Role.AGENCY_ADMIN, agency_a, name="Alex Admin")


@pytest.fixture
def case_manager(app, case_manager_user):
    return signed_in(app, case_manager_user)


@pytest.fixture
def agency_admin(app, agency_admin_user):
    return signed_in(app, agency_admin_user)


@pytest.fixture
def other_agency_admin(app, make, agency_b):
    return signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_b, name="Blair Other"))


@pytest.fixture
def system_admin(app, make):
    return signed_in(app, make.staff(Role.SYSTEM_ADMIN, None, name="Sam System"))


@pytest.fixture
def client_user(app, make, agency_a):
    return signed_in(app, make.client_account(agency_a))


# --- a real SMTP server ------------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on a free port (Controller(port=0) cannot be used).

    `stop()` and `start()` take it away and bring it back on the same port.
    """
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()
    sink.controller = None

    def start():
        sink.controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
        sink.controller.start()

    def stop():
        if sink.controller is not None:
            sink.controller.stop()
            sink.controller = None

    sink.start, sink.stop = start, stop
    start()
    yield sink
    stop()


@pytest.fixture
def make_committed_invitation(app, database):
    """An invitation at the password step, committed for real (for concurrency tests)."""
    from datetime import date, timedelta

    from portal.domain.core import clock
    from portal.domain.models import ClientInvitation, IdentityCheck

    def build() -> int:
        agency = Agency(name=f"Agency {uuid.uuid4().hex[:6]}", timezone="America/Los_Angeles")
        staff = StaffUser(
            email=f"{uuid.uuid4().hex[:8]}@staff.test",
            display_name="S",
            role=Role.CASE_MANAGER,
            agency=agency,
        )
        client = Client(
            personal_id=uuid.uuid4().hex[:12],
            owning_agency=agency,
            first_name="Robin",
            dob=date(1990, 6, 1),
            dob_quality=1,
            email="robin@example.org",
        )
        database.session.add_all([agency, staff, client])
        database.session.flush()
        check = IdentityCheck(
            client_id=client.id, staff_id=staff.id, agency_id=agency.id, facts={"facts": []}
        )
        database.session.add(check)
        database.session.flush()
        invitation = ClientInvitation(
            client_id=client.id,
            agency_id=agency.id,
            issued_by_id=staff.id,
            identity_check_id=check.id,
            delivery="email",
            token_hash=uuid.uuid4().hex,
            expires_at=clock.now() + timedelta(hours=72),
            step="privacy_ok",
            privacy_version="2026-11",
        )
        database.session.add(invitation)
        database.session.flush()
        invitation_id = invitation.id
        database.session.commit()  # and no read after it: threads need the write lock
        return invitation_id

    return build
