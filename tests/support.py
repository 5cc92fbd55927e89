"""Test helpers shared by the suites: settings, required components, the checking client."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import html5lib
import pytest
from bs4 import BeautifulSoup
from flask.globals import _cv_app
from flask.testing import FlaskClient

from portal.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
TEST_PASSWORD = "tidal violet compass morning"  # passes the policy; used by every factory
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
