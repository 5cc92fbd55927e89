"""Issue 8 (branch, in progress): consent to electronic records, signing with evidence, the
sealed PDF, the consent record, verification."""

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.domain import esign
from portal.domain.errors import DomainError
from portal.domain.models import Consent, Document
from portal.integrations.storage import get_store


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
        get_store().put(
            document.storage_key, path, sha256=hashlib.sha256(flipped).digest(), content_type="x"
        )
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
def test_signing_refuses_without_intent_name_or_a_fresh_password(
    app, me, case_manager_user, database, overrides, field
):
    with pytest.raises(DomainError) as refused:
        signing(app, me, case_manager_user, **overrides)
    assert field in {refused.value.field, *(e.field for e in refused.value.more)}


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
