"""Issue 8 (branch, in progress): consent to electronic records, signing with evidence, the
sealed PDF, the consent record, verification."""

import hashlib
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.domain import esign
from portal.domain.core.errors import DomainError
from portal.domain.models import Consent, Document, Signature
from portal.integrations.storage import ObjectExists, get_store
from tests.support import link_in


def signing(app, me, case_manager_user, **overrides):
    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
        values = {
            "intent": "yes",
            "typed_name": "José Nguyễn",
            "drawn": "M10 10 L100 50 L200 20",
            "password_recent": True,
            "session_hash": "a" * 64,
            "authentication": {"password": "2026-11-21T10:00:00+00:00"},
            **overrides,
        }
        return request, esign.sign(me.account, request, **values)


@pytest.mark.requirement("R53", "R55")
def test_a_signed_roi_is_evidence_a_sealed_pdf_and_a_consent(app, me, case_manager_user, database):
    request, signature = signing(app, me, case_manager_user)
    assert request.status == "signed" and signature.typed_name == "José Nguyễn"
    document = database.session.get(Document, signature.pdf_document_id)
    stream = get_store().open(document.storage_key)
    data = stream.read()
    stream.close()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "José Nguyễn" in text.split("\n") and signature.verification_code in text
    assert signature.document_sha256 in text.replace("\n", "")  # hashes wrap in the table
    consent = database.session.scalar(select(Consent).where(Consent.source == "electronic"))
    assert consent.client_id == me.record.id and consent.document_reference == str(
        signature.public_id
    )
    with app.test_request_context():
        assert esign.verify(signature) == []
        flipped = bytearray(data)
        flipped[len(flipped) // 3] ^= 1
        import hashlib
        from pathlib import Path

        path = Path(app.instance_path) / "flipped.pdf"
        path.write_bytes(bytes(flipped))
        store, digest = get_store(), hashlib.sha256(flipped).digest()
        with pytest.raises(ObjectExists):  # R55: the store never replaces a signed copy
            store.put(document.storage_key, path, sha256=digest, content_type="x")
        store.delete(document.storage_key)  # someone with delete rights on the store, then
        store.put(document.storage_key, path, sha256=digest, content_type="x")
        problems = esign.verify(signature)
    assert any("SHA-256 differs" in p for p in problems)
    assert any("changed after it was signed" in p for p in problems)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"intent": ""}, "intent"),
        ({"typed_name": "  "}, "typed_name"),
        ({"password_recent": False}, "password"),
        ({"typed_name": "ﷺ"}, "typed_name"),
    ],
)
@pytest.mark.requirement("R52", "R54")
def test_signing_refuses_without_intent_name_or_a_fresh_password(
    app, me, case_manager_user, database, overrides, field
):
    with pytest.raises(DomainError) as refused:
        signing(app, me, case_manager_user, **overrides)
    assert field in {refused.value.field, *(e.field for e in refused.value.more)}


@pytest.mark.requirement("R51")
def test_signing_needs_the_disclosure_first(app, me, case_manager_user, database):
    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        with pytest.raises(DomainError):
            esign.sign(
                me.account,
                request,
                intent="yes",
                typed_name="Ana",
                drawn=None,
                password_recent=True,
                session_hash="b" * 64,
                authentication={},
            )
        with pytest.raises(DomainError):
            esign.accept_disclosure(me.account, agrees="yes", word="not-the-word")


@pytest.mark.requirement("R53")
def test_the_verify_command_names_what_does_not_match(app, me, case_manager_user, database):
    _request, signature = signing(app, me, case_manager_user)
    runner = app.test_cli_runner()
    good = runner.invoke(args=["esign-verify", signature.verification_code.lower()])
    assert good.exit_code == 0 and "everything matches" in good.output
    assert runner.invoke(args=["esign-verify", "NOPE"]).exit_code != 0
    document = database.session.get(Document, signature.pdf_document_id)
    get_store().delete(document.storage_key)
    lost = runner.invoke(args=["esign-verify", signature.verification_code])
    assert lost.exit_code == 1 and "missing from document storage" in lost.output


@pytest.mark.requirement("R56")
def test_a_signed_roi_opens_the_record_to_a_partner_and_revoking_closes_it(
    app, me, make, agency_b, case_manager_user, database
):
    from portal.domain.core.roles import Role
    from portal.domain.models import CareTeamMember, ConsentRevocation
    from tests.support import signed_in

    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    me.record.care_team.append(CareTeamMember(staff=partner, is_case_manager=False))
    database.session.commit()
    record = f"/staff/clients/{me.record.public_id}"
    partner_browser = signed_in(app, partner)
    assert partner_browser.get(record).status_code == 404  # no ROI yet
    signing(app, me, case_manager_user)
    database.session.commit()
    assert partner_browser.get(record).status_code == 200  # the signed ROI is in force

    page = me.get("/sharing").get_data(as_text=True)
    assert "Take back my permission" in page
    refused = me.form("/sharing", {"typed_name": "José Nguyễn"})  # the box not ticked
    assert refused.status_code == 200 and "Tick the box" in refused.get_data(as_text=True)
    taken_back = me.form("/sharing", {"intent": "y", "typed_name": "José Nguyễn"})
    assert taken_back.status_code == 303
    database.session.expire_all()
    revocation = database.session.scalar(select(ConsentRevocation))
    assert revocation is not None and revocation.pdf_sha256
    consent = database.session.scalar(select(Consent).where(Consent.source == "electronic"))
    assert consent.revoked_at is not None  # the consent stays, ended
    assert partner_browser.get(record).status_code == 404


@pytest.mark.requirement("R53")
def test_a_new_template_version_leaves_signatures_on_theirs(app, me, case_manager_user, database):
    from portal.domain.models import TemplateVersion

    request, signature = signing(app, me, case_manager_user)
    template = request.template
    for language in ("en", "es"):
        database.session.add(
            TemplateVersion(
                template_id=template.id,
                version=2,
                language=language,
                title="Permission, second version",
                summary="New summary",
                body="New body",
            )
        )
    database.session.commit()
    database.session.refresh(template)
    assert esign.version_for(template, "en").version == 2
    assert signature.version.version == 1
    with app.test_request_context():
        assert esign.verify(signature) == []  # the signed text is still the one signed


@pytest.mark.requirement("R51")
def test_stopping_electronic_signing_asks_for_the_disclosure_again(
    app, me, case_manager_user, database
):
    signing(app, me, case_manager_user)
    database.session.commit()
    assert me.form("/esign/withdraw", {}, token_from="/sharing").status_code == 303
    database.session.expire_all()
    assert esign.current_consent(me.account) is None
    with app.test_request_context():
        waiting = esign.request_signature(case_manager_user, me.record)
        database.session.commit()
    assert me.get(f"/sign/{waiting.public_id}").headers["Location"].startswith("/esign/consent")


def test_an_ending_roi_asks_for_renewal_once(app, me, case_manager_user, database, frozen_clock):
    from datetime import timedelta

    from portal.domain.core import clock
    from portal.domain.models import OutboxMessage, SignatureRequest

    signing(app, me, case_manager_user)
    database.session.commit()
    consent = database.session.scalar(select(Consent).where(Consent.source == "electronic"))
    clock.advance(timedelta(days=(consent.ends_on - clock.now().date()).days - 10))
    with app.test_request_context():
        assert esign.remind_expiring() == 1
        assert esign.remind_expiring() == 0  # once
    database.session.commit()
    open_requests = database.session.scalars(
        select(SignatureRequest).where(SignatureRequest.status == "requested")
    ).all()
    assert len(open_requests) == 1 and open_requests[0].due_on == consent.ends_on
    [notice] = database.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "roi_renewal")
    ).all()
    assert link_in(notice).endswith(f"/sign/{open_requests[0].public_id}")
    assert set(notice.params) == {"name", "request"}  # nothing else about the client
    with app.test_request_context():
        assert [r.id for r in esign.open_requests(me.record)] == [open_requests[0].id]


@pytest.mark.requirement("R51", "R52", "R54", "R55")
def test_signing_over_http_needs_consent_an_unticked_box_ticked_and_a_name(
    app, me, case_manager_user, database
):
    """R51: no consent row → 409. R52: the box is not pre-ticked; no box or no name → 400."""
    with app.test_request_context():
        request = esign.request_signature(case_manager_user, me.record)
        database.session.commit()
    page = f"/sign/{request.public_id}"
    assert me.get(page).headers["Location"].startswith("/esign/consent")
    no_consent = me.form(page, {"intent": "y", "typed_name": "Ana"}, token_from="/sharing")
    assert no_consent.status_code == 409
    with app.test_request_context():
        esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
        database.session.commit()
    html = me.get(page).get_data(as_text=True)
    box = re.search(r'<input type="checkbox" id="intent"[^>]*>', html).group(0)
    assert "checked" not in box
    assert me.form(page, {"typed_name": "Ana Doe"}).status_code == 400  # no box
    assert me.form(page, {"intent": "y", "typed_name": ""}).status_code == 400  # no name
    stale = me.form(page, {"intent": "y", "typed_name": "Ana Doe", "shown": "0"})
    assert stale.status_code == 400  # another version than the one read: nothing signed
    assert "This document changed since you opened it" in stale.get_data(as_text=True)
    shown = re.search(r'name="shown" value="([^"]+)"', me.get(page).get_data(as_text=True))[1]
    signed = me.form(page, {"intent": "y", "typed_name": "Ana Doe", "shown": shown})
    assert signed.status_code == 303
    database.session.expire_all()
    signature = database.session.scalar(select(Signature))
    assert signature.authentication["method"] == "password"
    assert all(
        getattr(signature, name)
        for name in ("account_id", "signed_at", "ip", "user_agent", "session_hash", "pdf_sha256")
    )
    copy = me.get(f"/documents/{esign.signed_copy(signature).public_id}/download")
    assert hashlib.sha256(copy.data).hexdigest() == signature.pdf_sha256  # R55


def test_a_signed_roi_stops_opening_the_record_when_it_ends(
    app, me, make, agency_b, case_manager_user, database, frozen_clock
):
    """The access policy follows the signed ROI's term: open on its last day, closed after."""
    from datetime import timedelta

    from portal.domain.core import clock
    from portal.domain.core.roles import Role
    from portal.domain.models import CareTeamMember
    from tests.support import signed_in

    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    me.record.care_team.append(CareTeamMember(staff=partner, is_case_manager=False))
    database.session.commit()
    signing(app, me, case_manager_user)
    database.session.commit()
    consent = database.session.scalar(select(Consent).where(Consent.source == "electronic"))
    record = f"/staff/clients/{me.record.public_id}"
    partner_browser = signed_in(app, partner)
    assert partner_browser.get(record).status_code == 200
    agency_a = me.record.owning_agency
    with app.app_context():
        last_day = (consent.ends_on - agency_a.today()).days
    clock.advance(timedelta(days=last_day - 1))
    assert signed_in(app, partner).get(record).status_code == 200  # a year on: a new sign-in
    clock.advance(timedelta(days=2))
    assert signed_in(app, partner).get(record).status_code == 404


@pytest.mark.parametrize(
    ("language", "lines"),
    [
        ("en", ["Sample PDF", "Type this word in the portal:"]),
        ("es", ["PDF de ejemplo", "Escriba esta palabra en el portal:"]),
    ],
)
def test_the_sample_pdf_names_the_one_word_to_type(app, me, language, lines):
    """Issue 17: the sample showed "Sample" and the word with nothing saying which to type."""
    with app.test_request_context():
        word = esign.sample_word(me.account)
        text = PdfReader(io.BytesIO(esign.sample_pdf(me.account, language))).pages[0].extract_text()
    assert [line.strip() for line in text.splitlines() if line.strip()] == [*lines, word]
