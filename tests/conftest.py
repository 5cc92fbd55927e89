"""Fixtures: the app (schema built by running the migrations), per-test transaction
isolation, a frozen clock, factories, role clients and a real SMTP sink."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from portal import create_app
from portal.domain import clock, context
from portal.domain.models import Agency, Client, ClientAccount, StaffUser
from portal.domain.passwords import hash_password
from portal.domain.roles import Role
from portal.extensions import db, limiter
from tests.support import TEST_PASSWORD, CheckingClient, make_settings, missing

pytest_plugins = ["tests.components"]  # real servers for tests: SeaweedFS (S3), clamd

FROZEN_AT = datetime(2026, 3, 12, 17, 30, tzinfo=UTC)


def database_url_for_tests(tmp_root) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url or f"sqlite:///{tmp_root / 'test.sqlite3'}"


def reset_database(url: str) -> None:
    """Start from an empty database so the migrations build the whole schema."""
    if url.startswith("sqlite"):
        return
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        missing(
            "pg",
            f"cannot reach {engine.url.render_as_string(hide_password=True)}: {type(exc).__name__}",
        )
    finally:
        engine.dispose()


def build_app(tmp_root, database_url: str, **overrides):
    from flask_migrate import upgrade

    reset_database(database_url)
    app = create_app(make_settings(tmp_root, database_url, **overrides))
    app.test_client_class = CheckingClient
    with app.app_context():
        upgrade()
    return app


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
    from portal.domain import directory, directory_admin

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


class Factories:
    """Rows for tests, committed to the test's savepoint so a request's rollback keeps them."""

    def __init__(self, session):
        self.session = session

    def agency(self, name: str | None = None, timezone: str = "America/Los_Angeles") -> Agency:
        agency = Agency(name=name or f"Agency {uuid.uuid4().hex[:8]}", timezone=timezone)
        self.session.add(agency)
        self.session.commit()
        return agency

    def staff(
        self,
        role: Role = Role.CASE_MANAGER,
        agency: Agency | None = None,
        *,
        password: str = TEST_PASSWORD,
        name: str | None = None,
        email: str | None = None,
    ) -> StaffUser:
        if agency is None and role is not Role.SYSTEM_ADMIN:
            agency = self.agency()
        member = StaffUser(
            email=email or f"{uuid.uuid4().hex[:10]}@staff.test",
            display_name=name or f"Staff {role.value}",
            role=role,
            agency=agency,
            password_hash=hash_password(password) if password else None,
        )
        self.session.add(member)
        self.session.commit()
        return member

    def client(self, agency: Agency | None = None, **values) -> Client:
        """A client record owned by `agency` (not an account: see client_account)."""
        from datetime import date

        record = Client(
            personal_id=values.pop("personal_id", uuid.uuid4().hex[:12]),
            owning_agency=agency or self.agency(),
            first_name=values.pop("first_name", "Jamie"),
            last_name=values.pop("last_name", "Doe"),
            name_quality=1,
            dob=values.pop("dob", date(1980, 5, 17)),
            dob_quality=1,
            **values,
        )
        self.session.add(record)
        self.session.commit()
        return record

    def client_account(
        self,
        agency: Agency | None = None,
        *,
        password: str = TEST_PASSWORD,
        client: Client | None = None,
    ) -> ClientAccount:
        """A connected client account: linked to a record (made here unless given), email
        verified, the current privacy notice accepted."""
        from portal.domain import clock
        from portal.domain.onboarding import PRIVACY_VERSION

        agency = agency or (client.owning_agency if client is not None else self.agency())
        email = f"{uuid.uuid4().hex[:10]}@client.test"
        if client is None:
            client = self.client(agency, first_name="Robin", email=email)
        account = ClientAccount(
            email=(client.email or email).lower(),
            first_name=client.first_name or "Robin",
            agency=agency,
            client_id=client.id,
            password_hash=hash_password(password),
            email_verified_at=clock.now(),
            privacy_version=PRIVACY_VERSION,
        )
        self.session.add(account)
        self.session.commit()
        return account

    def review_item(self, client: Client, account: ClientAccount, kind: str = "contact_email"):
        """A pending review item (as if `account` had sent a new contact email for `client`)."""
        from portal.domain import crypto
        from portal.domain.models import ReviewItem

        item = ReviewItem(
            client_id=client.id,
            agency_id=client.owning_agency_id,
            kind=kind,
            payload_encrypted=crypto.encrypt_json({"email": "new@example.org"}),
            previous_encrypted=crypto.encrypt_json({"email": client.email}),
            submitted_by_account_id=account.id,
        )
        self.session.add(item)
        self.session.commit()
        return item

    def document(
        self,
        client: Client,
        *,
        content: bytes = b"%PDF-1.4\n%%EOF\n",
        content_type: str = "application/pdf",
        file_name: str = "pay-stub.pdf",
        scan_status: str = "unscanned",
        account: ClientAccount | None = None,
    ):
        """A stored document of `client` (the object in the app's store, then its row)."""
        import hashlib
        import tempfile
        from pathlib import Path

        from portal.domain.documents import new_storage_key
        from portal.domain.models import Document
        from portal.integrations.storage import get_store

        key = new_storage_key()
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "file"
            path.write_bytes(content)
            digest = hashlib.sha256(content).digest()
            get_store().put(key, path, sha256=digest, content_type=content_type)
        document = Document(
            client_id=client.id,
            agency_id=client.owning_agency_id,
            category="income",
            file_name=file_name,
            content_type=content_type,
            size=len(content),
            pages=1 if content_type == "application/pdf" else None,
            sha256=digest.hex(),
            storage_key=key,
            scan_status=scan_status,
            uploaded_by_account_id=account.id if account is not None else None,
            idempotency_key=key.rsplit("/", 1)[-1],
        )
        self.session.add(document)
        self.session.commit()
        return document

    def conversation(self, client: Client, agency: Agency | None = None):
        """An empty conversation between `client` and `agency` (the owning agency by default)."""
        from portal.domain.models import Conversation

        conversation = Conversation(
            client_id=client.id, agency_id=(agency or client.owning_agency).id
        )
        self.session.add(conversation)
        self.session.commit()
        return conversation


@pytest.fixture
def make(database):
    return Factories(database.session)


@pytest.fixture
def agency_a(make):
    return make.agency("Agency A")


@pytest.fixture
def agency_b(make):
    return make.agency("Agency B", timezone="America/New_York")


def signed_in(app, account, password: str = TEST_PASSWORD):
    client = app.test_client()
    path = "/staff/sign-in" if account.kind == "staff" else "/sign-in"
    response = client.form(path, {"email": account.email, "password": password})
    assert response.status_code == 303, f"sign-in failed for {account.kind}"
    client.account = account
    return client


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


class SmtpSink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

    from portal.domain import clock
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
