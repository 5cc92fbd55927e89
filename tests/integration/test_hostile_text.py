"""R34: hostile text in every field a person can fill in is shown as text, never as markup.

A client record, its client account, a staff member and everything the client sends through
the portal (a message, where to find them, a correction, an address, a document's title and
file name, a signature's typed name, a reason for declining) hold script, an attribute
breakout, a template expression and a `javascript:` URL. Then every GET page of the staff side
(as the agency's case manager, on the care team, and its administrator) and of the client
side is fetched: no page carries a payload as markup, and the pages that show the values show
them escaped (so the values were rendered, not left out). The plain-text emails stay plain
text, with the header lines they always have.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from types import SimpleNamespace

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.access import access_of
from portal.domain import esign
from portal.domain.core import clock, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    CareTeamMember,
    ClientPhone,
    Conversation,
    HmisEntry,
    HmisExport,
    HmisUser,
    OutboxMessage,
    ReviewItem,
    Signature,
    StaffFactor,
)
from portal.extensions import limiter
from tests.integration.test_access_matrix import routes, url_for_rule
from tests.support import shared_path, signed_in

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
JS_URL = "javascript:alert(1)"

# What must never reach a page as markup. The attribute breakout is caught by its tag: with
# the quote escaped, `<img` can only appear as `&lt;img`.
RAW = (
    re.compile(r"<script>alert\(1\)", re.IGNORECASE),
    re.compile(r"<img src=x onerror", re.IGNORECASE),
    re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE),
)
# How the values look once escaped (the quote before `>` differs between Jinja's escape and
# the message renderer, so it is left out).
SHOWN_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SHOWN_IMG = "&lt;img src=x onerror=alert(1)&gt;"

# Where the payloads go (each field's length limit respected).
CLIENT_NAME = {"first_name": SCRIPT, "middle_name": IMG, "last_name": TEMPLATE}
MESSAGE = f"{SCRIPT}\n{IMG}\n{TEMPLATE}\n{JS_URL}"
REPLY = f"Reply {IMG} {SCRIPT} {JS_URL}"
PLACE = f"{IMG} bridge"
TIMES = f"{SCRIPT} mornings"
CORRECTION = f"{SCRIPT} {IMG} {TEMPLATE}"
DECLINE = f"Not now {IMG} {SCRIPT}"
REQUEST_TITLE = f"{SCRIPT} stub"
REQUEST_NOTE = f"{IMG} note"
DOCUMENT_TITLE = SCRIPT
DOCUMENT_FILE = f"{IMG}.pdf"
UPLOAD_FILE = "<img src=x onerror=alert(1)>.pdf"  # a browser sends a quote as %22
TYPED_NAME = SCRIPT
REJECT_NOTE = f"{SCRIPT} {IMG} not found"
PHONE = "+15551230000"  # the client's phone for texts


def escaped(value: str) -> str:
    """A value as an autoescaped template shows it."""
    return str(escape(value))


def raw_payloads(text: str) -> list[str]:
    return [pattern.pattern for pattern in RAW if pattern.search(text)]


@pytest.fixture
def hostile(app, make, agency_a, database, monkeypatch):
    """The hostile agency A: its case manager and administrator with hostile names, a hostile
    client on the case manager's care team, and everything the client can send, sent. Texts
    are on (the file transport): the texts pages and the record's texts section show their
    forms."""
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions,
        "portal.settings",
        settings.with_overrides(sms_transport="file", sms_from="+15559870000"),
    )
    session = database.session
    manager = make.staff(Role.CASE_MANAGER, agency_a, name=f"{SCRIPT} Casey")
    admin = make.staff(Role.AGENCY_ADMIN, agency_a, name=f"{IMG} Alex")
    colleague = make.staff(Role.CASE_MANAGER, agency_a, name=f"{TEMPLATE} {IMG} Pat")
    record = make.client(
        agency_a,
        **CLIENT_NAME,
        address_line1=JS_URL,
        city=SCRIPT,
        # A field the client gave through the portal, so they may ask to correct it.
        portal_fields={"email": {"at": "2026-03-01T00:00:00+00:00", "item": "x"}},
    )
    record.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
    record.care_team.append(CareTeamMember(staff=colleague, is_case_manager=False))
    session.commit()
    account = make.client_account(agency_a, client=record)
    assert account.first_name == SCRIPT

    me = signed_in(app, account)
    staff = signed_in(app, manager)
    administrator = signed_in(app, admin)

    def sent(response, what):
        assert response.status_code == 303, f"{what}: {response.status_code}"

    # Where to find me: the first accepted (so the record shows it), a second one waiting.
    sent(me.form("/where", {"place_kind": "street", "place": PLACE, "times": TIMES}), "where")
    first = session.scalar(select(ReviewItem).where(ReviewItem.kind == "location"))
    sent(
        staff.form(f"/staff/review/{first.public_id}", {"action": "accept", "version": "1"}),
        "accept location",
    )
    sent(
        me.form("/where", {"place_kind": "other", "place": f"{JS_URL} {TEMPLATE}", "times": IMG}),
        "where again",
    )
    sent(me.form("/correction", {"field": "location", "text": CORRECTION}), "correction")
    sent(me.form("/correction", {"field": "email", "text": CORRECTION}), "correction of email")
    # An address for review, which staff turn down with a note the client reads.
    sent(
        me.form(
            "/contact",
            {
                "address_line1": SCRIPT,
                "address_line2": IMG,
                "city": TEMPLATE,
                "state": "CA",
                "postal_code": "94110",
            },
        ),
        "contact",
    )
    address = session.scalar(select(ReviewItem).where(ReviewItem.kind == "address"))
    sent(
        staff.form(
            f"/staff/review/{address.public_id}",
            {"action": "reject", "version": "1", "reason": "other", "note": REJECT_NOTE},
        ),
        "reject address",
    )
    # A message, and the case manager's reply.
    sent(
        me.form(
            "/messages/new",
            {"recipient": str(manager.public_id), "body": MESSAGE, "key": "hostile-message"},
        ),
        "message",
    )
    conversation = session.scalar(select(Conversation).where(Conversation.client_id == record.id))
    sent(
        staff.form(
            f"/staff/conversations/{conversation.public_id}",
            {"body": REPLY, "key": "hostile-reply"},
        ),
        "reply",
    )
    # A document the client uploads, one stored with a raw name, one asked for by staff.
    pdf = shared_path("data", "uploads", "magic-bytes-minimal", "pdf.pdf").read_bytes()
    sent(
        me.form(
            "/documents",
            {
                "category": "income",
                "title": DOCUMENT_TITLE,
                "key": "hostile-upload",
                "file": (io.BytesIO(pdf), UPLOAD_FILE),
            },
            content_type="multipart/form-data",
        ),
        "upload",
    )
    stored = make.document(record, content=pdf, file_name=DOCUMENT_FILE, account=account)
    sent(
        staff.form(
            f"/staff/clients/{record.public_id}/documents/request",
            {"category": "income", "title": REQUEST_TITLE, "note": REQUEST_NOTE},
        ),
        "document request",
    )
    # A signed ROI with a hostile typed name, then a second request the client declines.
    with app.test_request_context():
        signing = esign.request_signature(manager, record)
        esign.accept_disclosure(account, agrees="yes", word=esign.sample_word(account))
        session.commit()
    page = me.get(f"/sign/{signing.public_id}").get_data(as_text=True)
    shown = re.search(r'name="shown" value="([^"]+)"', page)[1]
    sent(
        me.form(
            f"/sign/{signing.public_id}", {"intent": "y", "typed_name": TYPED_NAME, "shown": shown}
        ),
        "sign",
    )
    signature = session.scalar(select(Signature).where(Signature.client_id == record.id))
    assert signature.typed_name == TYPED_NAME
    with app.test_request_context():
        declined = esign.request_signature(admin, record)
        session.commit()
    sent(
        me.form(
            f"/sign/{declined.public_id}/decline",
            {"reason": DECLINE},
            token_from=f"/sign/{declined.public_id}",
        ),
        "decline",
    )
    with app.test_request_context():
        waiting = esign.request_signature(admin, record)  # one left open
        session.commit()

    # The accepted place waits to be entered in the HMIS; an export carries it (issue 21).
    from tests.integration.test_hmis_bridge_out import enroll

    enroll(database, record, agency_a)
    session.add(
        HmisUser(
            agency_id=agency_a.id, hud_user_id="29", first_name=SCRIPT, imported_at=clock.now()
        )
    )
    agency_a.hmis_user_id = "29"
    session.commit()
    sent(administrator.form("/staff/hmis/exports", {}), "export")
    # A "texts OK" phone on the record and a code texted to it from the client's texts page
    # (issue 22): the code form waits on the client's page and on the record.
    phone = ClientPhone(client_id=record.id, number=PHONE, kind="mobile", text_ok=True)
    session.add(phone)
    session.commit()
    sent(
        me.form(
            "/account/texts/code", {"phone": str(phone.public_id)}, token_from="/account/texts"
        ),
        "text code",
    )
    session.expire_all()
    target = SimpleNamespace(
        hmis_entry=session.scalar(select(HmisEntry).where(HmisEntry.client_id == record.id)),
        hmis_export=session.scalar(select(HmisExport)),
        public_id=colleague.public_id,  # member_id: a colleague with a hostile name
        client=record,
        conversation=conversation,
        open_request=waiting,
        template=waiting.template,
        signature=signature,
        document=stored,
        review_item=session.scalar(
            select(ReviewItem).where(ReviewItem.kind == "location_correction")
        ),
        admin=admin,
        factor=session.scalar(select(StaffFactor).where(StaffFactor.staff_id == manager.id)),
    )
    return SimpleNamespace(
        me=me,
        staff=staff,
        administrator=administrator,
        record=record,
        account=account,
        manager=manager,
        colleague=colleague,
        target=target,
        items={
            item.kind: item
            for item in session.scalars(select(ReviewItem).where(ReviewItem.status == "pending"))
        },
    )


# Arguments the sweep has no hostile object for (directory entries, links from emails, single
# sign-on providers): those pages show no client or staff text.
NOT_SWEPT = {"service_id", "location_id", "article_id", "token", "key"}


def urls(app, audience: str, target, more):
    for rule, view in routes(app):
        access = access_of(view)
        if access.audience != audience or "GET" not in rule.methods:
            continue
        if set(rule.arguments) & NOT_SWEPT:
            continue
        yield url_for_rule(rule, target)
    yield from more


def sweep(app, browser, audience: str, target, more=()) -> dict[str, str]:
    """Every GET route of `audience` fetched by `browser` (and the `more` URLs): {url: the
    page (HTML only)}."""
    pages = {}
    for url in urls(app, audience, target, more):
        limiter.reset()
        response = browser.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code}"
        if response.mimetype == "text/html":
            pages[url] = response.get_data(as_text=True)
        else:
            body = response.get_data()
            assert not raw_payloads(body.decode("utf-8", "replace")) or (
                response.headers.get("X-Content-Type-Options") == "nosniff"
            ), f"GET {url}: {response.mimetype} with a payload, and may be sniffed as HTML"
    return pages


def no_markup(pages: dict[str, str], who: str) -> None:
    found = {url: raw for url, text in pages.items() if (raw := raw_payloads(text))}
    assert found == {}, f"{who}: payloads as markup on {found}"


def shows(pages: dict[str, str], url: str, *values: str) -> None:
    assert url in pages, f"{url} was not fetched as a page"
    missing = [v for v in values if v not in pages[url]]
    assert not missing, f"{url} does not show {missing}"


@pytest.mark.requirement("R34")
def test_every_staff_page_shows_hostile_text_escaped(app, hostile, database):
    record = f"/staff/clients/{hostile.record.public_id}"
    item = hostile.items
    more = ["/staff/inbox?view=all", *(f"/staff/review/{i.public_id}" for i in item.values())]
    seen = {}
    for who, browser in (("case manager", hostile.staff), ("admin", hostile.administrator)):
        pages = seen[who] = sweep(app, browser, "staff", hostile.target, more)
        assert len(pages) > 40, f"{who}: only {len(pages)} pages"
        no_markup(pages, who)
        # The client's name, wherever the client is shown or listed.
        for url in (
            record,
            f"{record}/edit",
            "/staff/clients",
            "/staff/review",
            "/staff/signatures/request",
            "/staff/messages/bulk",
        ):
            shows(pages, url, SHOWN_SCRIPT, SHOWN_IMG, TEMPLATE)
        # Each value the client typed, exactly as escaping makes it.
        shows(pages, record, escaped(DECLINE))
        shows(pages, f"{record}/documents", escaped(DOCUMENT_FILE), escaped(DOCUMENT_TITLE))
        shows(pages, f"{record}/documents", escaped(REQUEST_TITLE))  # staff's own words
        shows(pages, f"/staff/review/{item['correction'].public_id}", escaped(CORRECTION))
        verify = f"/staff/signatures/{hostile.target.signature.public_id}/verify"
        shows(pages, verify, escaped(TYPED_NAME))
    # Staff names: the team pages (administrators), the header (each their own).
    admin = seen["admin"]
    shows(admin, "/staff/team", SHOWN_SCRIPT, SHOWN_IMG, TEMPLATE)
    shows(admin, f"/staff/team/{hostile.colleague.public_id}", SHOWN_IMG, TEMPLATE)
    shows(admin, "/staff/", SHOWN_IMG)
    # What only the care team sees: where to find the client, the conversation.
    manager = seen["case manager"]
    shows(manager, "/staff/", SHOWN_SCRIPT)
    shows(manager, record, escaped(PLACE), escaped(TIMES))  # the accepted place
    shows(manager, "/staff/hmis/worklist", escaped(PLACE), escaped(TIMES), SHOWN_SCRIPT)
    export = f"/staff/hmis/exports/{hostile.target.hmis_export.public_id}"
    shows(admin, export, SHOWN_IMG)  # who made it
    waiting = f"/staff/review/{item['location'].public_id}"
    shows(manager, waiting, escaped(f"{JS_URL} {TEMPLATE}"), escaped(IMG))
    shows(manager, f"/staff/review/{item['location_correction'].public_id}", escaped(CORRECTION))
    shows(manager, "/staff/inbox?view=all", SHOWN_SCRIPT, SHOWN_IMG, TEMPLATE)
    conversation = f"/staff/conversations/{hostile.target.conversation.public_id}"
    shows(manager, conversation, SHOWN_SCRIPT, SHOWN_IMG, TEMPLATE, JS_URL)


@pytest.mark.requirement("R34")
def test_every_client_page_shows_hostile_text_escaped(app, hostile, database):
    pages = sweep(app, hostile.me, "client", hostile.target)
    assert len(pages) > 15, f"only {len(pages)} pages"
    no_markup(pages, "client")
    shows(pages, "/home", SHOWN_SCRIPT, TEMPLATE, JS_URL)  # the greeting, the place waiting
    shows(pages, "/home", escaped(REQUEST_TITLE))  # what staff asked for
    shows(pages, "/updates", escaped(CORRECTION), escaped(REJECT_NOTE))
    shows(pages, "/where", SHOWN_IMG, TEMPLATE, JS_URL)  # the place waiting, in the form
    shows(pages, "/contact", SHOWN_SCRIPT, JS_URL)  # the record's address
    shows(pages, "/documents", escaped(DOCUMENT_TITLE), escaped(DOCUMENT_FILE))
    shows(pages, "/documents", escaped(REQUEST_TITLE), escaped(REQUEST_NOTE))  # staff's
    shows(pages, "/messages/new", SHOWN_SCRIPT)  # the case manager's name
    conversation = f"/messages/{hostile.target.conversation.public_id}"
    shows(pages, conversation, SHOWN_SCRIPT, SHOWN_IMG, TEMPLATE, JS_URL)


@pytest.mark.requirement("R34")
def test_hostile_text_typed_into_a_form_or_an_address_comes_back_escaped(app, hostile):
    """What a page shows back of the request itself: a refused form's values, a search."""
    refused = hostile.me.form("/correction", {"text": CORRECTION})  # no field chosen
    assert refused.status_code == 200 and "There is a problem" in refused.get_data(as_text=True)
    shows({"refused": refused.get_data(as_text=True)}, "refused", SHOWN_SCRIPT, SHOWN_IMG)
    reflected = {
        "staff search": hostile.staff.get("/staff/clients", query_string={"q": SCRIPT + IMG}),
        "resources": hostile.me.get("/resources", query_string={"q": SCRIPT + IMG}),
        "client sign-in": app.test_client().get("/sign-in", query_string={"next": JS_URL}),
        "staff sign-in": app.test_client().get("/staff/sign-in", query_string={"next": JS_URL}),
    }
    pages = {}
    for name, response in reflected.items():
        assert response.status_code == 200, name
        pages[name] = response.get_data(as_text=True)
    no_markup(pages, "reflected")
    shows(pages, "staff search", SHOWN_SCRIPT, SHOWN_IMG)
    shows(pages, "resources", SHOWN_SCRIPT, SHOWN_IMG)


@pytest.mark.requirement("R34")
def test_hostile_text_sent_to_the_texts_forms_is_refused_and_comes_back_escaped(
    app, hostile, database
):
    """Issue 22's forms: the code the client types, how each notice reaches them, the
    agency's quiet hours. Each refuses the payloads with the form's own error, and what a
    page shows back of them is escaped."""
    from portal.domain import texting
    from portal.domain.models import Agency, ClientAccount, TextConsent

    record = f"/staff/clients/{hostile.record.public_id}"
    refused = {
        "code": hostile.me.form(
            "/account/texts/confirm", {"code": f"{SCRIPT}{IMG}"}, token_from="/account/texts"
        ),
        "phone": hostile.me.form(
            "/account/texts/code", {"phone": IMG}, token_from="/account/texts"
        ),
        "details": hostile.me.form(
            "/account/texts/details", {"allow_details": SCRIPT}, token_from="/account/texts"
        ),
        "notices": hostile.me.form(
            "/account/notices", dict.fromkeys(texting.NOTICE_KINDS, f"{SCRIPT}{IMG}")
        ),
        "quiet hours": hostile.administrator.form(
            "/staff/texts", {"quiet_from": SCRIPT, "quiet_until": IMG}
        ),
    }
    pages = {}
    for name, response in refused.items():
        assert response.status_code == 200, f"{name}: {response.status_code}"
        pages[name] = response.get_data(as_text=True)
        assert "There is a problem" in pages[name], name
    # Staff confirm with the client present: the record again, with the error said there.
    for path, field in (("texts/code", "phone"), ("texts/confirm", "code")):
        answer = hostile.staff.form(
            f"{record}/{path}", {field: f"{SCRIPT}{IMG}"}, token_from=record
        )
        assert answer.status_code == 303, path
        pages[path] = hostile.staff.get(record).get_data(as_text=True)
    no_markup(pages, "texts forms")
    shows(pages, "code", escaped(f"{SCRIPT}{IMG}"))  # the code typed, in its field
    shows(pages, "quiet hours", escaped(SCRIPT), escaped(IMG))
    shows(pages, "texts/code", "Choose a phone that gets texts.")
    shows(pages, "texts/confirm", "This code is not right.")
    # Nothing was taken: no number confirmed, the channels and the quiet hours as they were.
    database.session.expire_all()
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == hostile.record.id)
    )
    assert consent.confirmed_at is None and consent.pending_number == PHONE
    assert not consent.allow_details
    account = database.session.get(ClientAccount, hostile.account.id)
    assert not account.notice_channels
    agency = database.session.get(Agency, hostile.manager.agency_id)
    assert (agency.text_quiet_from, agency.text_quiet_until) != (SCRIPT, IMG)


# The header lines an outbox mail has (and Content-Language, its language), each once.
HEADERS = {
    "Auto-Submitted",
    "Content-Transfer-Encoding",
    "Content-Type",
    "Date",
    "From",
    "MIME-Version",
    "Message-ID",
    "Subject",
    "To",
}


@pytest.mark.requirement("R34")
def test_mails_to_hostile_names_stay_plain_text_with_their_usual_headers(app, hostile, database):
    """The mails are plain text only (no HTML part that could carry markup): a hostile name is
    text in the body, and a line break in it adds no header line."""
    hostile.account.first_name = f"{SCRIPT}\r\nBcc: evil@example.org"
    database.session.commit()
    app.test_client().form("/forgot-password", {"email": hostile.account.email})
    invited = hostile.administrator.form(
        "/staff/team/invite",
        {"display_name": f"{IMG} {SCRIPT}", "email": "hire@agency.test", "role": "case_manager"},
    )
    assert invited.status_code == 303
    jobs.run_pending(limit=100)  # the reply's notice, then every mail delivered (to files)
    database.session.expire_all()
    messages = database.session.scalars(select(OutboxMessage)).all()
    assert {m.template: m.status for m in messages} == {
        "document_request": "sent",  # the notice of the document staff asked for (issue 22)
        "new_message": "sent",
        "password_reset": "sent",
        "staff_invite": "sent",
    }
    folder = app.extensions["portal.settings"].instance_path / "mail"
    for message in messages:
        raw = (folder / f"{message.public_id.hex}.eml").read_bytes()
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert [part.get_content_type() for part in mail.walk()] == ["text/plain"]
        keys = mail.keys()
        assert set(keys) == HEADERS | {"Content-Language"}, keys
        assert len(keys) == len(set(keys)), keys
        assert mail["Content-Language"] == message.language
        assert mail["To"] == message.to_address and "evil" not in mail["Subject"]
        body = mail.get_content()
        assert SCRIPT in body, message.template  # the name as typed, in plain text
        assert "<html" not in body.lower()
