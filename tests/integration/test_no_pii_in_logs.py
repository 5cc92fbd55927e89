"""Run the staff and the client flows with sentinel values and grep every log sink for them
(R58): the log records (message and every attribute), the audit table (every column, the
details included) and the job queue (payloads and errors)."""

import io
import json
import logging
import re
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from portal.domain.core import crypto, jobs, tokens
from portal.domain.models import (
    AuditEvent,
    CareTeamMember,
    Conversation,
    Document,
    Job,
    OutboxMessage,
    ReviewItem,
)
from tests.integration.test_staff_lifecycle import link_in_outbox
from tests.support import link_in, set_up_app

# What a log record carries about the logging machinery itself (timings, thread and process
# ids): numbers that say nothing about a person, and that may by chance hold a sentinel's digits.
MACHINERY = {"created", "msecs", "relativeCreated", "thread", "process", "lineno"}


def log_sinks(caplog, database) -> str:
    """Everything the portal logged or audited during the test, as one text."""
    sinks = [
        record.getMessage()
        + json.dumps({k: v for k, v in record.__dict__.items() if k not in MACHINERY}, default=str)
        for record in caplog.records
    ]
    database.session.expire_all()
    sinks += [
        json.dumps({c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns}, default=str)
        for e in database.session.scalars(select(AuditEvent))
    ]
    sinks += [f"{j.payload} {j.last_error}" for j in database.session.scalars(select(Job))]
    return "\n".join(sinks)


NAME = "Zebulon Sentinelname"
EMAIL = "zebulon.sentinel@agency.test"
PASSWORD = "SENTINEL-XYZ-secret-words-here"
DOB = "1911-11-11"


@pytest.mark.requirement("R2", "R58")
def test_no_secret_or_pii_value_reaches_the_logs_or_the_audit_table(
    app, agency_admin, agency_admin_user, caplog, database
):
    with caplog.at_level(logging.DEBUG):
        agency_admin.form(
            "/staff/team/invite", {"display_name": NAME, "email": EMAIL, "role": "case_manager"}
        )
        link = link_in_outbox(database, EMAIL)
        token = link.rsplit("/", 1)[1]
        path = link.replace("https://portal.test", "")
        newcomer = app.test_client()
        newcomer.form(path, {"password": PASSWORD})
        newcomer.form("/staff/sign-in", {"email": EMAIL, "password": "wrong " + PASSWORD})
        newcomer.form("/staff/sign-in", {"email": "nobody." + EMAIL, "password": PASSWORD})
        first = newcomer.form("/staff/sign-in", {"email": EMAIL, "password": PASSWORD})
        done, app_key = set_up_app(newcomer, first)  # their authenticator app, at first sign-in
        assert done.status_code == 200 and app_key
        shown = done.get_data(as_text=True)
        recovery = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", shown)
        assert len(recovery) == 10
        newcomer.form(
            "/staff/team/invite",
            {"display_name": DOB, "email": EMAIL, "role": "case_manager"},
            token_from="/staff/",
        )
        jobs.run_pending()
        member_page = newcomer.get("/staff/")
        assert member_page.status_code == 200
    haystack = log_sinks(caplog, database)
    assert len(caplog.records) > 5 and "staff.invited" in haystack and "sign_in.failed" in haystack
    secrets = (app_key, *recovery, *(code.replace("-", "") for code in recovery))
    for sentinel in (NAME, "Sentinelname", EMAIL, "zebulon", PASSWORD, "SENTINEL-XYZ", DOB, token):
        assert sentinel not in haystack, f"{sentinel!r} leaked into a log sink"
    for secret in secrets:
        assert secret not in haystack, "a second-factor secret leaked into a log sink"


# --- the client flows -----------------------------------------------------------------------

CLIENT_FIRST, CLIENT_LAST = "Zinnia", "Sentinelclient"
CLIENT_EMAIL = "zinnia.sentinelclient@example.org"
CLIENT_DOB = date(1911, 11, 11)
CLIENT_SSN = "111111111"
CLIENT_PASSWORD = "SENTINEL-XYZ-password-harbor-quietly"
WRONG_CLIENT_PASSWORD = "SENTINEL-XYZ-wrong-password-lantern"
MESSAGE = "SENTINEL-MSG I sleep by the Quillfeather bakery now"
PLACE = "SENTINEL-PLACE under the Wexford overpass"
LATITUDE, LONGITUDE = "47.123456", "-122.654321"  # kept rounded: 47.123, -122.654
FILE_NAME = "SENTINEL-FILE-zinnia-eviction-notice.png"

# Every way these values may be written: as typed, as stored, as Python prints them.
CLIENT_SENTINELS = (
    CLIENT_FIRST,
    CLIENT_LAST,
    "zinnia.sentinelclient",
    "1911-11-11",
    "11/11/1911",
    "1911/11/11",
    "19111111",
    "1911, 11, 11",
    "1911-11-12",  # the wrong date typed first
    "12/11/1911",
    "111-11-1111",
    "111 11 1111",
    CLIENT_SSN,
    "SENTINEL-XYZ",
    "SENTINEL-MSG",
    "Quillfeather",
    "SENTINEL-PLACE",
    "Wexford",
    "47.123",
    "122.654",
    "SENTINEL-FILE",
    "eviction-notice",
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def issued_tokens(monkeypatch):
    """Every link secret (invitation, confirmation, reset) the portal makes during the test."""
    made: list[str] = []
    original = tokens.new_token

    def recording() -> str:
        made.append(original())
        return made[-1]

    monkeypatch.setattr(tokens, "new_token", recording)
    return made


def newest_mail(database, template: str) -> OutboxMessage:
    database.session.expire_all()
    return database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == template)
        .order_by(OutboxMessage.id.desc())
    ).first()


def client_flows(app, staff, record, database) -> dict[str, list[str]]:
    """Staff invite (printed, then emailed); the client redeems the emailed link, then uses
    the portal; staff look at what came in. Returns the secrets shown on the way."""
    shown: dict[str, list[str]] = {"codes": [], "cookies": []}
    page = f"/staff/clients/{record.public_id}"
    found = staff.get(f"/staff/clients?q={CLIENT_LAST}")
    assert found.status_code == 200 and CLIENT_LAST in found.get_data(as_text=True)
    assert "111-11-1111" not in staff.get(page).get_data(as_text=True)  # only the last four
    checked = staff.form(
        f"{page}/identity-check", {"name_confirmed": "y", "facts": ["dob", "photo"]}
    )
    assert checked.status_code == 303
    sheet = staff.form(f"{page}/invite", {"delivery": "print"}).get_data(as_text=True)
    code = re.search(r'class="invite-code">([A-Z0-9]{5}-[A-Z0-9]{5})<', sheet).group(1)
    shown["codes"] += [code, code.replace("-", "")]
    assert staff.form(f"{page}/invite", {"delivery": "email"}).status_code == 303

    phone = app.test_client()
    path = link_in(newest_mail(database, "client_invitation")).replace("https://portal.test", "")
    assert phone.form(path, token_from=path).status_code == 303
    wrong = {"day": "12", "month": "11", "year": "1911"}
    assert phone.form("/invitation/date-of-birth", wrong).status_code == 200
    right = {"day": "11", "month": "11", "year": "1911"}
    assert phone.form("/invitation/date-of-birth", right).status_code == 303
    assert phone.form("/invitation/email", {"email": CLIENT_EMAIL}).status_code == 303
    mail = newest_mail(database, "client_email_code")
    email_code = crypto.decrypt_json(mail.secret_params)["code"]
    shown["codes"].append(email_code)
    assert phone.form("/invitation/verify", {"code": email_code}).status_code == 303
    assert phone.form("/invitation/privacy", {"accept": "y"}).status_code == 303
    done = phone.form("/invitation/password", {"password": CLIENT_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/home"

    written = phone.form(
        "/messages/new", {"recipient": str(staff.account.public_id), "body": MESSAGE, "key": "m1"}
    )
    assert written.status_code == 303
    where = {
        "place_kind": "street",
        "place": PLACE,
        "times": "Evenings",
        "use_my_location": "y",
        "latitude": LATITUDE,
        "longitude": LONGITUDE,
    }
    assert phone.form("/where", where).status_code == 303
    sent = phone.form(
        "/documents",
        {"category": "income", "title": "", "file": (io.BytesIO(png()), FILE_NAME)},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    shown["cookies"].append(phone.get_cookie("__Host-portal").value)
    assert phone.form("/sign-out", token_from="/home").status_code == 303

    again = app.test_client()
    refused = again.form("/sign-in", {"email": CLIENT_EMAIL, "password": WRONG_CLIENT_PASSWORD})
    assert refused.status_code == 200
    signed = again.form("/sign-in", {"email": CLIENT_EMAIL, "password": CLIENT_PASSWORD})
    assert signed.status_code == 303
    shown["cookies"].append(again.get_cookie("__Host-portal").value)

    # Staff read what came in: the message, the location (accepted), the document.
    [conversation] = database.session.scalars(
        select(Conversation).where(Conversation.client_id == record.id)
    ).all()
    thread = staff.get(f"/staff/conversations/{conversation.public_id}")
    assert "Quillfeather" in thread.get_data(as_text=True)
    [location] = database.session.scalars(
        select(ReviewItem).where(ReviewItem.client_id == record.id, ReviewItem.kind == "location")
    ).all()
    review_page = f"/staff/review/{location.public_id}"
    assert "Wexford" in staff.get(review_page).get_data(as_text=True)
    accepted = staff.form(review_page, {"action": "accept", "version": str(location.version)})
    assert accepted.status_code == 303
    assert "Wexford" in staff.get(page).get_data(as_text=True)
    [document] = database.session.scalars(
        select(Document).where(Document.client_id == record.id)
    ).all()
    assert staff.get(f"/staff/documents/{document.public_id}/download").status_code == 200
    assert again.get(f"/documents/{document.public_id}/download").status_code == 200
    return shown


@pytest.mark.requirement("R58")
def test_no_client_pii_or_secret_reaches_the_logs_or_the_audit_table(
    app, make, agency_a, case_manager, case_manager_user, issued_tokens, caplog, database
):
    record = make.client(
        agency_a,
        first_name=CLIENT_FIRST,
        last_name=CLIENT_LAST,
        email=CLIENT_EMAIL,
        dob=CLIENT_DOB,
        ssn_encrypted=crypto.encrypt_text(CLIENT_SSN),
        ssn_last4=CLIENT_SSN[-4:],
        ssn_quality=1,
    )
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    with caplog.at_level(logging.DEBUG):
        shown = client_flows(app, case_manager, record, database)
        jobs.run_pending()
    haystack = log_sinks(caplog, database)
    # The flows ran: their own audit lines, in this test's log (the table outlives tests).
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for action in (
        "invitation.issued",
        "invitation.dob_matched",
        "sign_in.failed",
        "sign_in.succeeded",
        "message.sent",
        "review.submitted",
        "document.uploaded",
        "conversation.read",
        "review.accepted",
        "client.viewed",
        "document.downloaded",
    ):
        assert f'"{action}"' in logged, f"the flows ran: no {action} event"
    lowered = haystack.lower()
    for sentinel in CLIENT_SENTINELS:
        assert sentinel.lower() not in lowered, f"{sentinel!r} leaked into a log sink"
    assert len(issued_tokens) >= 2  # the printed and the emailed invitation's links at least
    for secret in (*issued_tokens, *shown["cookies"]):
        assert secret not in haystack, "a link token or a session cookie leaked into a log sink"
    for code in shown["codes"]:  # short codes: not as part of a longer run (a hash, say)
        assert not re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", haystack), (
            "an invitation or email code leaked into a log sink"
        )
