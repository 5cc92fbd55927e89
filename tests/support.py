"""Test helpers shared by the suites: settings, required components, the checking client,
the app built by its migrations, factories, signed-in clients and a real SMTP sink. Test files
import them from here; `tests/conftest.py` holds only fixtures."""

from __future__ import annotations

import os
import re
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import html5lib
import pyotp
import pytest
from bs4 import BeautifulSoup
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text, update

from portal import create_app
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.core.statuses import FactorKind
from portal.domain.models import (
    Agency,
    Client,
    ClientAccount,
    StaffFactor,
    StaffUser,
    UserSession,
)
from portal.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
TEST_PASSWORD = "tidal violet compass morning"  # passes the policy; used by every factory
# Every staff member the factory makes has an authenticator app with this key (issue 19), so
# tests sign in as staff do: the password, then the app's code (`totp_now`).
TEST_TOTP_KEY = "TESTKEYTIDALVIOLETCOMPASSMORNING"
IN_CI = os.environ.get("CI", "").lower() == "true"


def required(component: str) -> bool:
    """Under CI every component is required; locally REQUIRE_<NAME>=1 asks for one."""
    return IN_CI or os.environ.get(f"REQUIRE_{component.upper()}") == "1"


def missing(component: str, reason: str) -> None:
    """Skip locally with a reason; fail under CI (a missing component is not a pass)."""
    if required(component):
        pytest.fail(f"required component missing ({component}): {reason}", pytrace=False)
    pytest.skip(f"{component} unavailable: {reason}")


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        missing("shared", f"{path} not found (../shared/ beside the project root)")
    return path


def make_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    return Settings(
        env="test",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        database_url=database_url,
        base_url="https://portal.test",
        instance_path=tmp_path,
        mail_transport="file",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        worker_poll_seconds=0.05,
    ).with_overrides(**overrides)


class PageProblem(AssertionError):
    pass


def check_page(response) -> None:
    """Every HTML page: parses, has a title, exactly one h1, unique ids, a nonce on scripts."""
    if response.mimetype != "text/html" or not response.data:
        return
    text = response.get_data(as_text=True)
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        parser.parse(text)
    except Exception as exc:  # html5lib raises ParseError with the position
        raise PageProblem(f"HTML does not parse ({response.request.path}): {exc}") from exc
    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    assert title, f"page without a title: {response.request.path}"
    h1s = soup.find_all("h1")
    assert len(h1s) == 1, f"{len(h1s)} h1 elements on {response.request.path}"
    ids = Counter(tag["id"] for tag in soup.find_all(id=True))
    duplicates = [i for i, n in ids.items() if n > 1]
    assert not duplicates, f"duplicate ids {duplicates} on {response.request.path}"
    csp = response.headers.get("Content-Security-Policy", "")
    match = re.search(r"'nonce-([^']+)'", csp)
    for script in soup.find_all("script"):
        assert match and script.get("nonce") == match.group(1), (
            f"script without the response's nonce on {response.request.path}"
        )


class CheckingClient(FlaskClient):
    """A test client that checks every HTML page it fetches, and fills in CSRF tokens."""

    def open(self, *args, **kwargs):
        # The portal runs behind TLS, so its cookies are Secure: speak https to it.
        if not args or isinstance(args[0], str):
            kwargs.setdefault("base_url", "https://localhost")
        # Each request gets its own app context (and so its own `g` and database session),
        # as in production, even while the test holds one open for its factories.
        outer = _cv_app.set(None)
        try:
            response = super().open(*args, **kwargs)
        finally:
            _cv_app.reset(outer)
        if _cv_app.get(None) is not None:
            from portal.extensions import db

            db.session.expire_all()  # the test sees what the request committed
        check_page(response)
        return response

    def csrf_token(self, path: str = "/") -> str:
        page = self.get(path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def form(self, path: str, data: dict | None = None, *, token_from: str | None = None, **kwargs):
        """POST a form the way a browser does: with the CSRF token of the page it came from."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token(token_from or path))
        return self.post(path, data=payload, **kwargs)


@contextmanager
def statements_run(engine) -> Iterator[list[str]]:
    """The SQL statements `engine` runs inside the block (a test's own SAVEPOINT and RELEASE
    left out): for the tests that count what a page or a search asks the database."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def production_environment(instance, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production process on this machine (a server a test or benchmark
    starts): `PORTAL_ENV=production` with fresh secrets, the given database, local storage
    and no scanner allowed on purpose, plus `extra`."""
    from cryptography.fernet import Fernet

    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_"))}
    return {
        **inherited,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "production-test-" + "k" * 48,
        "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "ALLOW_SQLITE_IN_PRODUCTION": "1",
        "BASE_URL": "https://portal.example",
        "INSTANCE_PATH": str(instance),
        "STORAGE_BACKEND": "local",
        "ALLOW_LOCAL_STORAGE_IN_PRODUCTION": "1",
        "ALLOW_UNSCANNED_FILES": "1",
        **extra,
    }


# --- apps, factories, signed-in clients, a real SMTP sink (fixtures in conftest.py) ----------


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
        second_factor: bool = True,
    ) -> StaffUser:
        """A staff member; with a password, also an authenticator app (`TEST_TOTP_KEY`)
        unless `second_factor` is False."""
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
        self.session.flush()
        if password and second_factor:
            enrol_app(self.session, member.id)
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
        from portal.domain.accounts.onboarding import PRIVACY_VERSION

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
        from portal.domain.core import crypto
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


def enrol_app(session, staff_id: int, key: str = TEST_TOTP_KEY) -> None:
    """Give a staff member an authenticator app with `key`, set up already (the app's code is
    then `totp_now(key)`): for test, benchmark and load accounts made directly in the database."""
    session.add(
        StaffFactor(
            staff_id=staff_id,
            kind=FactorKind.TOTP,
            name="Authenticator app",
            secret_encrypted=crypto.encrypt_text(key),
            confirmed_at=clock.now(),
        )
    )


def totp_now(key: str = TEST_TOTP_KEY) -> str:
    """What the authenticator app shows now (the portal's clock, frozen or not)."""
    return pyotp.TOTP(key).at(clock.now())


def fresh_code_step(account) -> None:
    """Forget the newest code step the account's app used, as if 30 s had passed since its
    last sign-in: a test may sign the same person in twice within one step (a clock frozen at
    one instant), where a person would have waited for the next code."""
    from portal.extensions import db

    db.session.execute(
        update(StaffFactor).where(StaffFactor.staff_id == account.id).values(last_step=None)
    )
    db.session.commit()


def second_step(client, account, response, key: str = TEST_TOTP_KEY):
    """After the right staff password: type the app's code when the portal asks for it
    (`account`, when given, may have used this step's code already)."""
    if response.status_code == 303 and response.headers["Location"].endswith("/sign-in/code"):
        if getattr(account, "id", None) is not None:
            fresh_code_step(account)
        response = client.form("/staff/sign-in/code", {"code": totp_now(key)})
    return response


def set_up_app(client, response):
    """At a first staff sign-in that asks for it: set the app up as a person does, with the
    key shown on the page. Returns (the answer, the key or None)."""
    if response.status_code != 303 or not response.headers["Location"].endswith("/set-up"):
        return response, None
    page = client.get("/staff/sign-in/set-up").get_data(as_text=True)
    key = re.search(r'class="secret-key"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    setup = re.search(r'name="setup" type="hidden" value="([^"]+)"', page).group(1)
    return client.form("/staff/sign-in/set-up", {"setup": setup, "code": totp_now(key)}), key


def staff_sessions(database, member) -> int:
    """How many signed-in sessions `member` (staff) has open now."""
    database.session.expire_all()
    return database.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.account_kind == "staff",
            UserSession.account_id == member.id,
            UserSession.ended_at.is_(None),
        )
    )


def signed_in(app, account, password: str = TEST_PASSWORD):
    client = app.test_client()
    path = "/staff/sign-in" if account.kind == "staff" else "/sign-in"
    response = client.form(path, {"email": account.email, "password": password})
    key = None
    if account.kind == "staff":
        response = second_step(client, account, response)
        response, key = set_up_app(client, response)  # someone without an app sets one up
    done = response.status_code == 303 or (key is not None and response.status_code == 200)
    assert done, f"sign-in failed for {account.kind}"
    client.account = account
    return client


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


def link_in(message) -> str | None:
    """The link an outbox mail carries, built as the worker builds it when it sends the mail
    (portal.links): from the template and its parameters, the secret ones decrypted."""
    from portal import links
    from portal.domain.core import crypto

    secret = crypto.decrypt_json(message.secret_params) if message.secret_params else {}
    return links.mail_link(message.template, {**message.params, **secret})


@contextmanager
def serving(app, port: int, name: str = "live-portal"):
    """Serve `app` on 127.0.0.1:`port` in a thread (a browser, or a gateway that calls the
    portal, needs a real server); stopped, and its connections closed, afterwards."""
    from werkzeug.serving import make_server

    from portal.extensions import db

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()
