"""Issue 8: agency administrators manage the documents clients sign (templates and their
versions); staff ask one client or a shown list to sign any of them."""

import io
import json
import re

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.domain import esign
from portal.domain.core.errors import DomainError
from portal.domain.models import (
    AuditEvent,
    Client,
    Consent,
    SignableTemplate,
    Signature,
    SignatureRequest,
    TemplateVersion,
)
from portal.integrations.storage import get_store
from tests.support import shared_path


def texts(title="Program rules", body="## Quiet hours\n\nFrom 10 pm to 6 am.\n", es=True):
    values = {
        "title_en": title,
        "summary_en": "The rules of the program, in short.",
        "body_en": body,
    }
    if es:
        values |= {
            "title_es": "Reglas del programa",
            "summary_es": "Las reglas del programa, en breve.",
            "body_es": "## Horas de silencio\n\nDe 10 pm a 6 am.\n",
        }
    return values


def new_template(agency_admin, **overrides):
    values = {"name": "Program rules", "kind": "other", "term_days": "", **texts(), **overrides}
    return agency_admin.form("/staff/templates/new", values)


def template_named(database, name):
    database.session.expire_all()
    return database.session.scalar(select(SignableTemplate).where(SignableTemplate.name == name))


def sign_over_http(app, me, request, name="Ana Doe"):
    with app.test_request_context():
        if esign.current_consent(me.account) is None:
            esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
    from portal.extensions import db

    db.session.commit()
    page = f"/sign/{request.public_id}"
    return me.form(page, {"intent": "y", "typed_name": name, "shown": shown_on(me, page)})


def shown_on(browser, page: str) -> str:
    """The version id the sign page shows (sent back with the signature)."""
    return re.search(r'name="shown" value="([^"]+)"', browser.get(page).get_data(as_text=True))[1]


def test_an_administrator_publishes_a_document_and_a_client_signs_it(
    app, agency_admin, case_manager, me, database
):
    page = agency_admin.get("/staff/templates").get_data(as_text=True)
    assert "Release of Information" in page  # the shipped ROI is listed from the start
    created = new_template(agency_admin)
    assert created.status_code == 303
    template = template_named(database, "Program rules")
    assert template.kind == "other" and template.roi_term_days is None
    assert sorted(v.language for v in template.versions) == ["en", "es"]
    assert {v.published_by_id for v in template.versions} == {agency_admin.account.id}

    record = f"/staff/clients/{me.record.public_id}"
    html = case_manager.get(record).get_data(as_text=True)
    assert 'name="template"' in html and "Program rules" in html  # a choice of two documents
    asked = case_manager.form(
        f"{record}/signature-request", {"template": str(template.public_id)}, token_from=record
    )
    assert asked.status_code == 303
    request = database.session.scalar(
        select(SignatureRequest).where(SignatureRequest.template_id == template.id)
    )
    dashboard = me.get("/home").get_data(as_text=True)
    assert "Program rules" in dashboard  # the client's language's title

    assert sign_over_http(app, me, request).status_code == 303
    database.session.expire_all()
    signature = database.session.scalar(select(Signature))
    assert signature.version.template_id == template.id and signature.version.version == 1
    assert database.session.scalar(select(func.count()).select_from(Consent)) == 0  # not an ROI
    with app.test_request_context():
        data = get_store().open(esign.signed_copy(signature).storage_key).read()
        assert esign.verify(signature) == []
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Quiet hours" in text and "Ana Doe" in text


@pytest.mark.requirement("R53")
def test_a_new_version_is_signed_from_then_on_and_the_old_signature_keeps_its_own(
    app, agency_admin, case_manager_user, me, database
):
    new_template(agency_admin)
    template = template_named(database, "Program rules")
    with app.test_request_context():
        first = esign.request_signature(case_manager_user, me.record, template=template)
        database.session.commit()
    sign_over_http(app, me, first)
    with app.test_request_context():
        waiting = esign.request_signature(case_manager_user, me.record, template=template)
        database.session.commit()

    page = f"/staff/templates/{template.public_id}"
    form = agency_admin.get(page).get_data(as_text=True)
    assert "From 10 pm to 6 am." in form  # the newest texts are filled in
    published = agency_admin.form(
        page, {"action": "publish", **texts(body="## Quiet hours\n\nFrom 11 pm to 6 am.\n")}
    )
    assert published.status_code == 303
    assert "Version 2 published" in agency_admin.get(page).get_data(as_text=True)

    sign_over_http(app, me, waiting)
    database.session.expire_all()
    first_signature, second_signature = database.session.scalars(
        select(Signature).order_by(Signature.id)
    ).all()
    assert first_signature.version.version == 1 and "10 pm" in first_signature.document_text
    assert second_signature.version.version == 2 and "11 pm" in second_signature.document_text
    with app.test_request_context():
        assert esign.verify(first_signature) == []  # the first text still proves the first
    versions = database.session.scalars(
        select(TemplateVersion).where(TemplateVersion.template_id == template.id)
    ).all()
    assert sorted((v.version, v.language) for v in versions) == [
        (1, "en"),
        (1, "es"),
        (2, "en"),
        (2, "es"),
    ]
    assert {v.body for v in versions if v.version == 1 and v.language == "en"} == {
        "## Quiet hours\n\nFrom 10 pm to 6 am.\n"
    }  # never edited


def test_the_agency_replaces_the_roi_text_and_its_term(
    app, agency_admin, case_manager_user, me, database
):
    agency_admin.get("/staff/templates")
    roi = database.session.scalar(select(SignableTemplate).where(SignableTemplate.kind == "roi"))
    page = f"/staff/templates/{roi.public_id}"
    second_roi = new_template(agency_admin, kind="roi", term_days="180")
    assert second_roi.status_code == 400
    assert "Publish a new version of it" in second_roi.get_data(as_text=True)
    settings = agency_admin.form(
        f"{page}/settings",
        {"name": "ROI (our legal text)", "term_days": "180"},
        token_from=page,
    )
    assert settings.status_code == 303
    own_text = texts(title="Our release", body="Our legal text.", es=False)
    assert agency_admin.form(page, {"action": "publish", **own_text}).status_code == 303
    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        database.session.commit()
    sign_over_http(app, me, request)
    database.session.expire_all()
    consent = database.session.scalar(select(Consent))
    assert (consent.ends_on - consent.starts_on).days == 180
    signature = database.session.scalar(select(Signature))
    assert signature.version.version == 2 and signature.version.language == "en"
    assert "Our legal text." in signature.document_text
    with app.test_request_context(), pytest.raises(DomainError):  # the ROI stays in use
        esign.update_template(agency_admin.account, roi, name="ROI", term_days="180", active=False)
    bad_term = agency_admin.form(
        f"{page}/settings", {"name": "ROI", "term_days": "0"}, token_from=page
    )
    assert bad_term.status_code == 400
    assert "from 1 to 3650" in bad_term.get_data(as_text=True)


@pytest.mark.requirement("R35")
def test_markdown_is_sanitised_and_the_preview_publishes_nothing(agency_admin, database):
    hostile = (
        "## Rules\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">\n\n**bold** and a [real link](https://example.org)\n'
    )
    shown = new_template(agency_admin, action="preview", body_en=hostile)
    assert shown.status_code == 200
    page = BeautifulSoup(shown.get_data(as_text=True), "html.parser")
    previews = page.select("section.document-text")
    assert len(previews) == 2  # English and Spanish
    shown_html = str(previews[0])
    assert_harmless(previews[0])
    assert "<strong>bold</strong>" in shown_html and 'href="https://example.org"' in shown_html
    assert template_named(database, "Program rules") is None  # a preview publishes nothing
    assert new_template(agency_admin, body_en=hostile).status_code == 303
    template = template_named(database, "Program rules")
    english = next(v for v in template.versions if v.language == "en")
    assert_harmless(BeautifulSoup(str(esign.render_markdown(english.body)), "html.parser"))


def assert_harmless(tree):
    assert not tree.find_all(["script", "img", "iframe", "style"])
    for element in tree.find_all(True):
        assert not any(name.startswith("on") for name in element.attrs), element
        assert not element.get("href", "").lower().startswith("javascript"), element


@pytest.mark.parametrize(
    "overrides, field_error",
    [
        ({"title_en": "", "summary_en": "", "body_en": ""}, "Write a title."),
        ({"body_en": "   "}, "Write the full text."),
        ({"name": ""}, "Enter a name."),
        ({"kind": "contract"}, "Choose what kind of document this is."),
        ({"title_es": "Solo un título", "summary_es": "", "body_es": ""}, "Write the full text."),
        ({"body_en": "x" * 50_001}, "Use 50000 characters or fewer."),
    ],
)
def test_a_wrong_template_is_refused_and_nothing_is_written(
    agency_admin, database, overrides, field_error
):
    agency_admin.get("/staff/templates")
    before = database.session.scalar(select(func.count()).select_from(TemplateVersion))
    refused = new_template(agency_admin, **overrides)
    assert refused.status_code == 400
    assert field_error in refused.get_data(as_text=True)
    database.session.expire_all()
    assert database.session.scalar(select(func.count()).select_from(TemplateVersion)) == before
    assert template_named(database, "Program rules") is None


@pytest.mark.requirement("R31")
def test_only_administrators_of_the_agency_manage_its_templates(
    app, agency_admin, other_agency_admin, case_manager, database
):
    new_template(agency_admin)
    template = template_named(database, "Program rules")
    assert case_manager.get("/staff/templates").status_code == 403
    assert case_manager.get(f"/staff/templates/{template.public_id}").status_code == 403
    assert other_agency_admin.get(f"/staff/templates/{template.public_id}").status_code == 404
    other_list = other_agency_admin.get("/staff/templates").get_data(as_text=True)
    assert "Program rules" not in other_list
    foreign = other_agency_admin.form(
        f"/staff/templates/{template.public_id}",
        {"action": "publish", **texts(title="Taken over")},
        token_from="/staff/templates",
    )
    assert foreign.status_code == 404
    database.session.expire_all()
    assert {v.version for v in template_named(database, "Program rules").versions} == {1}


def test_a_template_out_of_use_cannot_be_asked_for(
    app, agency_admin, case_manager, case_manager_user, me, database
):
    new_template(agency_admin)
    template = template_named(database, "Program rules")
    page = f"/staff/templates/{template.public_id}"
    off = agency_admin.form(f"{page}/settings", {"name": "Program rules"}, token_from=page)
    assert off.status_code == 303
    database.session.expire_all()
    assert template_named(database, "Program rules").is_active is False
    with app.test_request_context(), pytest.raises(DomainError):
        esign.request_signature(case_manager_user, me.record, template=template)
    record = f"/staff/clients/{me.record.public_id}"
    assert "Program rules" not in case_manager.get(record).get_data(as_text=True)
    refused = case_manager.form(
        f"{record}/signature-request", {"template": str(template.public_id)}, token_from=record
    )
    assert refused.status_code == 303  # back to the record, with the reason
    assert "Choose a document to sign." in case_manager.get(record).get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(SignatureRequest)) == 0


def test_bulk_signature_requests_reach_exactly_the_list_shown(
    app, agency_admin, case_manager, make, agency_a, agency_b, database
):
    new_template(agency_admin)
    template = template_named(database, "Program rules")
    ours = [make.client(agency_a, first_name=f"Client{i}") for i in range(3)]
    theirs = make.client(agency_b, first_name="Elsewhere")
    database.session.commit()
    shown = case_manager.get("/staff/signatures/request").get_data(as_text=True)
    assert all(c.first_name in shown for c in ours) and "Elsewhere" not in shown
    token = case_manager.csrf_token("/staff/signatures/request")
    recipients = [str(c.public_id) for c in ours[:2]] + [str(theirs.public_id)]
    answer = case_manager.post(
        "/staff/signatures/request",
        data={"csrf_token": token, "recipient": recipients, "template": str(template.public_id)},
    )
    assert answer.status_code == 303
    asked = database.session.scalars(select(SignatureRequest)).all()
    assert sorted(r.client_id for r in asked) == sorted(c.id for c in ours[:2])
    again = case_manager.post(
        "/staff/signatures/request",
        data={"csrf_token": token, "recipient": recipients, "template": str(template.public_id)},
    )
    assert again.status_code == 303
    assert database.session.scalar(select(func.count()).select_from(SignatureRequest)) == 2
    events = database.session.scalars(  # this test's (the log outlives other tests' rows)
        select(AuditEvent).where(
            AuditEvent.action == "signature.requested",
            AuditEvent.subject_id.in_([str(c.public_id) for c in ours]),
        )
    ).all()
    assert len(events) == 2 and all(e.details["kind"] == "other" for e in events)
    past = case_manager.post(
        "/staff/signatures/request",
        data={
            "csrf_token": token,
            "recipient": [str(ours[2].public_id)],
            "template": str(template.public_id),
            "due_day": "1",
            "due_month": "1",
            "due_year": "2020",
        },
    )
    assert past.status_code == 400 and "Choose a date from today on." in past.get_data(as_text=True)


@pytest.fixture(scope="module")
def naughty_strings():
    return json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))


@pytest.mark.requirement("R34")
def test_naughty_strings_through_the_template_and_sign_forms(
    app, agency_admin, case_manager_user, me, naughty_strings, database
):
    """Every BLNS string in every template field and as the signer's name: a page or a clear
    message, never a 500; what is shown is escaped."""
    from tests.integration.test_blns_forms import batches

    fields = ["name", "title_en", "summary_en", "body_en", "title_es", "term_days"]
    token = agency_admin.csrf_token("/staff/templates/new")
    for values in batches(naughty_strings, fields):
        answer = agency_admin.post(
            "/staff/templates/new",
            data={"csrf_token": token, "kind": "other", "action": "preview", **values},
        )
        assert answer.status_code in (200, 400), values
        assert "<script>alert(" not in answer.get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(TemplateVersion)) <= 2

    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
        database.session.commit()
    page = f"/sign/{request.public_id}"
    token = me.csrf_token(page)
    for name in naughty_strings:  # without the box ticked: the name is checked, nothing signed
        answer = me.post(page, data={"csrf_token": token, "typed_name": name})
        assert answer.status_code == 400, name
        assert "<script>alert(" not in answer.get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_naughty_names_signed_extract_exactly_from_the_pdf(
    app, case_manager_user, make, agency_a, naughty_strings, database
):
    """A sample of BLNS strings that a name field keeps, signed for real through the form."""
    from tests.support import signed_in

    keep = []
    for text in naughty_strings:
        try:
            with app.test_request_context():
                keep.append(esign.clean_signer_name(text))
        except DomainError:
            continue
    assert len(keep) > 300
    sample = keep[:: len(keep) // 8][:8]
    for name in sample:
        account = make.client_account(agency_a)
        record = database.session.get(Client, account.client_id)
        database.session.commit()
        browser = signed_in(app, account)
        with app.test_request_context():
            request = esign.request_signature(case_manager_user, record)
            esign.accept_disclosure(account, agrees="yes", word=esign.sample_word(account))
            database.session.commit()
        page = f"/sign/{request.public_id}"
        answer = browser.form(
            page, {"intent": "y", "typed_name": name, "shown": shown_on(browser, page)}
        )
        assert answer.status_code == 303, name
        database.session.expire_all()
        signature = database.session.scalar(
            select(Signature).where(Signature.account_id == account.id)
        )
        with app.test_request_context():
            data = get_store().open(esign.signed_copy(signature).storage_key).read()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        flat = re.sub(r"\s+", " ", text)
        assert re.sub(r"\s+", " ", name) in flat, name


@pytest.mark.requirement("R53")
def test_a_new_roi_term_is_the_term_the_signed_text_states(
    app, agency_admin, case_manager_user, me, database
):
    agency_admin.get("/staff/templates")
    roi = database.session.scalar(select(SignableTemplate).where(SignableTemplate.kind == "roi"))
    page = f"/staff/templates/{roi.public_id}"
    changed = agency_admin.form(
        f"{page}/settings", {"name": roi.name, "term_days": "180"}, token_from=page
    )
    assert changed.status_code == 303
    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
        database.session.commit()
    assert "It lasts 180 days" in me.get(f"/sign/{request.public_id}").get_data(as_text=True)
    read = shown_on(me, f"/sign/{request.public_id}")
    agency_admin.form(f"{page}/settings", {"name": roi.name, "term_days": "200"}, token_from=page)
    stale = me.form(
        f"/sign/{request.public_id}", {"intent": "y", "typed_name": "Ana Doe", "shown": read}
    )
    assert stale.status_code == 400  # read "180 days", would sign "200 days": refused
    agency_admin.form(f"{page}/settings", {"name": roi.name, "term_days": "180"}, token_from=page)
    sign_over_http(app, me, request)
    database.session.expire_all()
    signature = database.session.scalar(select(Signature))
    consent = database.session.scalar(select(Consent))
    assert (
        "It lasts 180 days" in signature.document_text and "{term}" not in signature.document_text
    )
    assert (consent.ends_on - consent.starts_on).days == 180
