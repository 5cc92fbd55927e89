"""Issue 17, measured: every client page, and each error state it has, on a 375 x 667 touch
screen, in English and in Spanish.

Each page is checked the way `assert_accessible` checks a client page on a phone: axe-core with
no violation, then `assert_fits_phone` (no sideways scroll, the main content within the top
fifth of the first screen, controls at least 44 x 44 CSS px, every other target at least
24 x 24 with inline links in running text excepted, nothing that needs an emoji font).

The list of pages is `tests/integration/routes.txt`: every route a client can open (GET, not
staff, not the HSDS API) must have been measured by the end, so a new client page fails this
test until it is walked here. The few left out are named in NOT_PAGES with why."""

from __future__ import annotations

import re
import time
import uuid
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from werkzeug.exceptions import MethodNotAllowed

from portal.domain import documents, esign, messaging
from portal.domain.models import ClientAccount, ClientPhone, ReviewItem
from portal.domain.selfservice import review
from portal.extensions import db
from tests.browser import conftest as browser
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    case_manager_and_client,
    client_sign_in,
    invite_by_email,
    redeem,
    seed,
    translator,
)
from tests.browser.test_find_help_journey import seed_directory
from tests.browser.test_staff_journey import tap_and_load
from tests.support import PROJECT_ROOT, Factories

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

ROUTES = PROJECT_ROOT / "tests" / "integration" / "routes.txt"
# Client routes that answer with something other than a page.
NOT_PAGES = {
    "client.download_document": "a file download",
    "client.esign_sample": "a PDF",
    "common.health": "JSON for the load balancer",
    "common.ready": "JSON for the load balancer",
    "texts_hooks.kannel_report": "the SMS gateway's delivery report (Kannel calls it by GET)",
}
# The main form's submit button (not the header's, not a second form's).
MAIN_SUBMIT = "main form[method=post] button[type=submit]"


def client_pages() -> set[str]:
    """Every GET endpoint in routes.txt that a client can open in a browser."""
    pages = set()
    for line in ROUTES.read_text(encoding="utf-8").splitlines():
        _path, methods, endpoint = line.split()
        if "GET" not in methods.split(",") or endpoint.startswith(("staff", "api.", "static")):
            continue
        if endpoint not in NOT_PAGES:
            pages.add(endpoint)
    assert len(pages) > 30  # the file was read
    return pages


class Walk:
    """Goes to pages on one phone and measures each state (conftest.MEASURED keeps them)."""

    def __init__(self, live_server, phone):
        self.live_server = live_server
        self.phone = phone

    def measure(self) -> None:
        assert_accessible(self.phone)  # axe-core, then assert_fits_phone on a client page

    def visit(self, path: str, *, submit: str | None = None) -> None:
        """Open `path` and measure it; with `submit`, tap that button (a CSS selector, the
        first match) with the form as it is, expect an error, and measure that state."""
        self.phone.goto(self.live_server.url + path)
        self.measure()
        if submit:
            tap_and_load(self.phone, self.phone.locator(submit).first)
            expect(self.phone.locator(".error-summary, .field-error").first).to_be_visible()
            self.measure()


def measured_endpoints(app) -> set[str]:
    adapter = app.url_map.bind("127.0.0.1")
    seen = set()
    for url in browser.MEASURED:
        path = url.split("://", 1)[-1].partition("/")[2].split("?")[0].split("#")[0]
        try:
            endpoint, _args = adapter.match("/" + path, method="GET")
        except MethodNotAllowed:  # a form's answer at its POST-only address (a wrong code)
            endpoint, _args = adapter.match("/" + path, method="POST")
        seen.add(endpoint)
    return seen


def seed_records(app, people: dict, suffix: str) -> dict:
    """What the client's pages show: a conversation, a document asked for, the ROI to sign
    and a directory to search."""
    # Not shelters or pantries: the Find help journey counts those (directories are CoC-wide).
    seed_directory(
        app, suffix, [("Riverside legal clinic", "Free legal advice", (41.88, -87.63), True)]
    )
    with app.app_context(), app.test_request_context():
        casey, client = case_manager_and_client(people)
        conversation = messaging.start_conversation(
            casey, client, body="Your appointment is on Tuesday at 10.", key=uuid.uuid4().hex
        )
        documents.request_documents(
            casey, [client], category="photo_id", title="Photo ID", due_on=None, note=None
        )
        signing = esign.request_signature(casey, client)
        photo_id = Factories(db.session).document(client)  # opens with the password (R27)
        db.session.commit()
        facts = {
            "conversation": str(conversation.public_id),
            "signing": str(signing.public_id),
            "photo_id": str(photo_id.public_id),
        }
        db.session.remove()
    return facts


def accept_everything(app, people: dict) -> None:
    """The case manager accepts what the client sent (for the correction form to have a
    field)."""
    with app.app_context(), app.test_request_context():
        casey, client = case_manager_and_client(people)
        items = db.session.scalars(
            db.select(ReviewItem).where(
                ReviewItem.client_id == client.id, ReviewItem.status == "pending"
            )
        ).all()
        assert items
        for item in items:
            review.accept(casey, item, item.version)
        db.session.commit()
        db.session.remove()


def link_in_any_mail(live_server, address: str, path: str) -> str:
    """The path of the newest link to `path...` in any email the client received."""
    for message in reversed(live_server.mails_to(address)):
        body = message.get_body(("plain",)).get_content()
        found = re.search(re.escape(live_server.url + path) + r"\S+", body)
        if found:
            return found.group(0).removeprefix(live_server.url)
    raise AssertionError(f"no {path} link in any email to {address}")


@contextmanager
def texts_on(app, people: dict):
    """Texts on (the file transport) while the block runs, with a phone marked "texts OK" on
    the client's record (its own number: a phone gets at most 3 codes an hour)."""
    number = "+1555" + str(uuid.uuid4().int)[:7]
    with app.app_context():
        _casey, client = case_manager_and_client(people)
        db.session.add(ClientPhone(client_id=client.id, number=number, kind="mobile", text_ok=True))
        db.session.commit()
        db.session.remove()
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(
        sms_transport="file", sms_from="+15559870000"
    )
    try:
        yield
    finally:
        app.extensions["portal.settings"] = original


def old_privacy_version(app, email: str) -> None:
    """As if the privacy notice changed since the client accepted it."""
    with app.app_context():
        account = db.session.scalar(db.select(ClientAccount).where(ClientAccount.email == email))
        account.privacy_version = "2000-01"
        db.session.commit()
        db.session.remove()


@pytest.mark.requirement("R28")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_client_page_in_every_state_fits_a_phone(live_server, phones, lang):
    started = time.perf_counter()
    app = live_server.app
    t = translator(app, lang)
    people = seed(live_server, lang)
    suffix = uuid.uuid4().hex[:8]
    browser.MEASURED.clear()

    invite_by_email(phones.open(), live_server, people)
    phone = phones.open(locale="es-US" if lang == "es" else "en-US")
    walk = Walk(live_server, phone)

    # Before an account: the way in, and its dead ends.
    walk.visit("/")
    walk.visit("/privacy")
    walk.visit("/invitation/not-a-real-token")
    walk.visit("/invitation-code", submit=MAIN_SUBMIT)
    walk.visit("/forgot-password", submit=MAIN_SUBMIT)
    walk.visit("/reset-code", submit=MAIN_SUBMIT)
    walk.visit("/reset-password/not-a-real-token")
    walk.visit("/signed-out")
    walk.visit("/account-closed")
    walk.visit("/sign-in", submit=MAIN_SUBMIT)

    # The invitation, each step and its errors (journey helpers measure as they go), and the
    # emailed confirmation link, opened but not pressed.
    redeem(phone, live_server, people, t)
    walk.visit(link_in_any_mail(live_server, people["client_email"], "/invitation/confirm-email/"))
    facts = seed_records(app, people, suffix)

    # Signed in: every page, then the page with its form sent empty (the error state).
    walk.visit("/home")
    tap_and_load(phone, phone.locator("form[action$='/check-in'] button").first)
    walk.measure()  # checked in: the answer on the home page
    walk.visit("/messages")
    walk.visit("/messages/new", submit=MAIN_SUBMIT)
    walk.visit(f"/messages/{facts['conversation']}", submit=MAIN_SUBMIT)
    walk.visit("/documents")
    phone.locator(MAIN_SUBMIT).first.tap()  # sent by the upload enhancement: no new page
    expect(phone.locator(".error-summary")).to_be_visible()
    walk.measure()
    walk.visit(f"/documents/{facts['photo_id']}/open")  # the password again (R27)
    walk.visit("/resources")
    walk.visit("/resources?q=legal#results")
    walk.visit("/resources?zip=12")
    phone.goto(live_server.url + "/resources?q=legal")
    tap_and_load(phone, phone.locator(".result h3 a").first)
    walk.measure()  # one service's page
    walk.visit("/contact", submit=MAIN_SUBMIT)  # nothing changed
    walk.visit("/where", submit=MAIN_SUBMIT)
    phone.locator("input[name=place_kind]").first.check()
    phone.locator("input[name=place]").fill("The bench near the library")
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
    walk.measure()  # sent
    walk.visit("/correction")  # nothing the client gave is in the record yet
    accept_everything(app, people)  # the case manager accepts "where to find me"
    walk.visit("/correction", submit=MAIN_SUBMIT)
    walk.visit("/record-request", submit=MAIN_SUBMIT)
    walk.visit("/updates")
    walk.visit("/account")
    walk.visit("/account/sessions")
    # Emails and texts (issue 22): with texts off, then on. Choosing texts before a phone is
    # confirmed is refused; a code texted, then the confirm form sent empty.
    walk.visit("/account/notices")
    walk.visit("/account/texts")
    with texts_on(app, people):
        walk.visit("/account/notices")
        phone.locator("input[name=messages][value=text]").check()
        tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
        expect(phone.locator(".error-summary")).to_be_visible()
        walk.measure()
        walk.visit("/account/texts")
        tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)  # "Send me a code"
        expect(phone.locator("#type-code")).to_be_visible()
        walk.measure()
        walk.visit("/account/texts", submit=MAIN_SUBMIT)  # the code form, empty
    walk.visit("/account/deactivate", submit=MAIN_SUBMIT)
    walk.visit("/sharing")

    # Signing: the agreement first (its errors), then the document (its errors).
    walk.visit(f"/sign/{facts['signing']}", submit=MAIN_SUBMIT)  # lands on /esign/consent
    with app.app_context():
        account = db.session.scalar(
            db.select(ClientAccount).where(ClientAccount.email == people["client_email"])
        )
        word = esign.sample_word(account)
        db.session.remove()
    phone.get_by_label(t("The word in the sample PDF")).fill(word)
    phone.get_by_label(t("I agree to get and sign documents electronically")).check()
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
    expect(phone.locator("form[data-sign]")).to_be_visible()
    walk.measure()
    tap_and_load(phone, phone.locator("form[data-sign] button[type=submit]"))
    walk.measure()  # nothing ticked or typed

    # A new email address: the code page and a wrong code.
    walk.visit("/account/email")
    phone.get_by_label(t("New email to sign in with")).fill(f"robin-new-{suffix}@client.test")
    phone.get_by_label(t("Your password"), exact=True).fill(FIRST_PASSWORD)
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
    walk.visit("/account/email/confirm", submit=MAIN_SUBMIT)

    # A privacy notice that changed since the client accepted it.
    old_privacy_version(app, people["client_email"])
    walk.visit("/privacy/update", submit=MAIN_SUBMIT)
    phone.get_by_label(t("I have read the privacy notice and the portal terms")).check()
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)

    # A password reset link, opened signed out, with an empty new password.
    tap_and_load(phone, phone.get_by_role("button", name=t("Finish and log out")))
    phone.goto(live_server.url + "/forgot-password")
    phone.get_by_label(t("Email address")).fill(people["client_email"])
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
    walk.measure()  # "Check your email"
    walk.visit(link_in_any_mail(live_server, people["client_email"], "/reset-password/"))
    tap_and_load(phone, phone.locator(MAIN_SUBMIT).first)
    walk.measure()  # no new password typed
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    walk.measure()

    # Shared phones (R28): after every page and form above, the browser keeps nothing of
    # them: no web storage, no IndexedDB, no cookie a script can read.
    kept = phone.evaluate(
        """async () => ({
            local: localStorage.length,
            session: sessionStorage.length,
            indexed: (await indexedDB.databases()).length,
            cookies: document.cookie,
        })"""
    )
    assert kept == {"local": 0, "session": 0, "indexed": 0, "cookies": ""}

    missing = client_pages() - measured_endpoints(app)
    assert not missing, f"client pages not measured on a phone: {sorted(missing)}"
    print(
        f"\n[every client page {lang}] {len(browser.MEASURED)} states measured, "
        f"{len(measured_endpoints(app))} pages, {time.perf_counter() - started:.1f} s"
    )
    assert re.search(r"/home$", phone.url)
