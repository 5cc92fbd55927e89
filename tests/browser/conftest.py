"""Browser fixtures: the app on a live port, headless Debian Chromium driven by Playwright,
phones (375x667, touch) and an axe-core check.

The live app has its own database and commits for real: a server thread cannot see a test's
savepoint. Test data therefore uses unique emails and agency names, and is left in place (the
database is rebuilt at the start of each session). Its mail goes over SMTP to a real aiosmtpd
server, and the tests read what arrived there.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal.domain.accounts.passwords import hash_password
from portal.domain.core.roles import Role
from portal.domain.models import Agency, StaffUser
from portal.extensions import db, limiter
from tests.support import (
    PROJECT_ROOT,
    TEST_PASSWORD,
    SmtpSink,
    build_app,
    enrol_app,
    free_port,
    missing,
    serving,
)

CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
AXE_PATH = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
}
PAGE_TIMEOUT_MS = 10_000
SET_PASSWORD_LINK = re.compile(r"https?://\S+/staff/set-password/\S+")


# --- the live server ---------------------------------------------------------------------


@dataclass
class LiveServer:
    app: object
    url: str
    smtp: object  # tests.support.SmtpSink: every message the worker delivered

    def run_worker(self) -> int:
        """What `flask worker` does once: run every due job (mail.send among them)."""
        from portal.domain.core import jobs

        with self.app.app_context():
            ran = jobs.run_pending()
            db.session.remove()
        return ran

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages the SMTP server received for `address`, oldest first (sends them first)."""
        self.run_worker()
        return [
            message
            for message in list(self.smtp.messages)
            if str(message["To"]).strip().lower() == address.lower()
        ]

    def latest_mail_body(self, address: str) -> str:
        messages = self.mails_to(address)
        assert messages, f"no email reached the SMTP server for {address}"
        return messages[-1].get_body(("plain",)).get_content()

    def link_in_latest_mail(self, address: str, path: str) -> str:
        """The link to `path...` in the newest email to `address`, checked to point here."""
        match = re.search(re.escape(self.url + path) + r"\S+", self.latest_mail_body(address))
        assert match, f"no {path} link in the latest email to {address}"
        return match.group(0)

    def set_password_link(self, address: str) -> str:
        messages = self.mails_to(address)
        assert len(messages) == 1, f"expected one email to {address}, found {len(messages)}"
        body = messages[0].get_body(("plain",)).get_content()
        match = SET_PASSWORD_LINK.search(body)
        assert match, "no set-password link in the invitation email"
        link = match.group(0)
        assert link.startswith(self.url + "/"), f"link does not point at the live server: {link}"
        return link

    def create_case_manager_with_app(self, *, name: str = "Pat Passkey") -> dict[str, str]:
        """An agency and a case manager whose authenticator app has TEST_TOTP_KEY."""
        return self._create_staff(Role.CASE_MANAGER, name, "cm", "Passkey Agency", app=True)

    def create_agency_admin(self, *, name: str = "Alex Admin") -> dict[str, str]:
        """An agency and its administrator (no second factor yet), committed, TEST_PASSWORD."""
        return self._create_staff(Role.AGENCY_ADMIN, name, "admin", "Harbor Services", app=False)

    def _create_staff(self, role, name, prefix, agency_prefix, *, app: bool) -> dict[str, str]:
        suffix = uuid.uuid4().hex[:10]
        with self.app.app_context():
            agency = Agency(name=f"{agency_prefix} {suffix}", timezone="America/Los_Angeles")
            member = StaffUser(
                email=f"{prefix}-{suffix}@staff.test",
                display_name=name,
                role=role,
                agency=agency,
                password_hash=hash_password(TEST_PASSWORD),
            )
            db.session.add_all([agency, member])
            db.session.flush()
            if app:
                enrol_app(db.session, member.id)
            db.session.commit()
            created = {"email": member.email, "name": name, "agency": agency.name}
            db.session.remove()
        return created


def _database_url(root: Path) -> str:
    return os.environ.get("BROWSER_DATABASE_URL", "") or f"sqlite:///{root / 'browser.sqlite3'}"


@pytest.fixture(scope="session")
def smtp_sink():
    """A real aiosmtpd server for the whole browser session."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, smtp_sink):
    root = tmp_path_factory.mktemp("browser-portal")
    port = free_port()
    # http: the session cookie is not Secure, so it works. localhost, not 127.0.0.1: a name is a
    # secure context and can be a WebAuthn relying party (an IP address cannot).
    base_url = f"http://localhost:{port}"
    app = build_app(
        root,
        _database_url(root),
        base_url=base_url,
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
    )
    with serving(app, port):
        yield LiveServer(app=app, url=base_url, smtp=smtp_sink)


# --- the browser -------------------------------------------------------------------------


def _chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_path()
    if not Path(executable).exists():
        missing("browser", f"Chromium not found at {executable} (set CHROMIUM_PATH)")
    if not AXE_PATH.exists():
        missing("browser", f"axe-core not found at {AXE_PATH} (npm install axe-core)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("browser", "the playwright Python package is not installed")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROME_ARGS
        )
    except Exception as exc:  # any launch failure means no usable browser
        playwright.stop()
        missing("browser", f"Chromium did not start: {type(exc).__name__}: {exc}")
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


class Phones:
    """Opens phone-sized browser contexts (each one a separate device with its own cookies)."""

    def __init__(self, browser):
        self.browser = browser
        self.contexts = []
        self.problems: list[str] = []

    def open(self, **options):
        context = self.browser.new_context(**{**PHONE, **options})
        # axe-core goes in as an init script (evaluated over the DevTools protocol at document
        # start): `page.add_script_tag` adds an inline <script>, which the portal's CSP (a
        # per-request nonce, no 'unsafe-inline') rightly refuses, and `bypass_csp` would hide
        # exactly the CSP mistakes these tests should catch.
        context.add_init_script(path=str(AXE_PATH))
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page)
        context.on("page", self.watch)
        return page

    def watch(self, page) -> None:
        """JavaScript errors, CSP refusals and broken stylesheets or scripts fail the test.

        Error pages (404, 403...) are expected answers, so a document's own status is the
        test's business; a failing subresource is not."""
        page.on("pageerror", lambda exc: self.problems.append(f"page error on {page.url}: {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("response", self._response)
        page.on(
            "requestfailed",
            lambda req: self.problems.append(f"request failed: {req.url} {req.failure}"),
        )

    def _console(self, page, msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {page.url}: {msg.text}")

    def _response(self, response) -> None:
        request = response.request
        # A form posted by the upload enhancement (XHR) answers like a page: its status (400 for
        # a refused file) is the test's business, as for documents.
        form_post = request.resource_type == "xhr" and request.method == "POST"
        if response.status >= 400 and request.resource_type != "document" and not form_post:
            self.problems.append(
                f"{response.status} for {response.request.resource_type} {response.url}"
            )

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _save_evidence(opened: Phones, request, tmp_path_factory) -> None:
    """On failure: a screenshot and the HTML of every open page, and where they are."""
    chosen = os.environ.get("BROWSER_ARTIFACTS", "")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("browser-failures")
    folder.mkdir(parents=True, exist_ok=True)
    for c, context in enumerate(opened.contexts):
        for p, page in enumerate(context.pages):
            stem = folder / f"{request.node.name}-{c}-{p}"
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
                main = page.locator("main").inner_text(timeout=1000)
            except Exception as exc:  # evidence is best effort
                main = f"(could not read the page: {exc})"
            print(f"[browser evidence] phone {c} page {p}: {page.url}")
            print(f"  {stem}.png, {stem}.html\n  main: {main[:500]!r}")


@pytest.fixture
def phones(browser, live_server, request, tmp_path_factory):
    limiter.reset()  # every browser request comes from 127.0.0.1: fresh sign-in counters
    opened = Phones(browser)
    yield opened
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        _save_evidence(opened, request, tmp_path_factory)
    opened.close()
    assert not opened.problems, "browser reported problems:\n" + "\n".join(opened.problems)


@pytest.fixture
def phone(phones):
    """A 375x667 touch phone with a fresh context (no cookies)."""
    return phones.open()


# --- accessibility -----------------------------------------------------------------------


def assert_accessible(page) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) on the page as shown; no violations allowed.
    A client page on a phone is also measured (`assert_fits_phone`).

    Needs JavaScript on in the page's context: with it off, axe.run() never settles."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Not a phone context (no init script): DevTools evaluation is not subject to the CSP.
        page.evaluate(AXE_PATH.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: tags, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    violations = result["violations"]
    if violations:
        lines = [f"axe found {len(violations)} violation(s) on {page.url}:"]
        for v in violations:
            lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}")
            for node in v["nodes"][:10]:
                summary = " ".join(
                    line.strip() for line in node.get("failureSummary", "").splitlines()
                )
                lines.append(f"    {node['target']} {node.get('html', '')[:160]}\n      {summary}")
        pytest.fail("\n".join(lines), pytrace=False)
    if on_client_phone_page(page):
        assert_fits_phone(page)


# --- a client page on a phone (issue 17) ---------------------------------------------------

# What a 375 x 667 touch screen needs of every client page, in every state. Inline links in
# running text are excepted from the 24 px rule (WCAG 2.2 2.5.8: their size is the line's).
# Characters that need an emoji font are any Extended_Pictographic one drawn as an emoji by
# default (Emoji_Presentation) or asked to be (U+FE0F).
PHONE_FIT = (Path(__file__).parent / "phone_fit.js").read_text(encoding="utf-8")
# Every page measured so far (its URL), for the walk that checks no client page was missed.
MEASURED: list[str] = []


def assert_fits_phone(page) -> None:
    """Issue 17's measures of a client page as shown on a phone: no sideways scroll, the main
    content within the top fifth of the first screen, controls at least 44 x 44 CSS px, every
    other target at least 24 x 24 (inline links in running text excepted), nothing that needs
    an emoji font."""
    page.wait_for_load_state("load")
    page.evaluate("() => window.scrollTo(0, 0)")
    problems = page.evaluate(PHONE_FIT)
    MEASURED.append(page.url)
    if problems:
        pytest.fail(f"{page.url} on a phone:\n- " + "\n- ".join(problems), pytrace=False)


def on_client_phone_page(page) -> bool:
    """A client-side page (not the staff bridge) in a phone-sized context."""
    viewport = page.viewport_size or {}
    path = page.url.split("://", 1)[-1].partition("/")[2]
    return viewport.get("width", 1000) <= 400 and not path.startswith("staff")
