"""R70 on the stack: back up while it runs, restore into a scratch PostgreSQL cluster and a new
bucket, and check every document's object (SHA-256) and every seal there
(`deploy/stack.py rehearse-restore`, the operator's quarterly rehearsal)."""

from __future__ import annotations

import io
import re
import uuid

import psycopg
import pytest

from portal import create_app
from portal.domain import documents, esign
from portal.domain.core.roles import Role
from portal.domain.models import CareTeamMember
from portal.extensions import db
from portal.settings import from_env
from tests.support import Factories

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def signed_roi_and_an_upload(stack) -> None:
    """A client who sent a PDF and signed an ROI (its sealed PDF in S3), through the domain
    services, in the stack's own database (as its owner)."""
    app = create_app(from_env({**stack.portal_environment(owner=True)}, []))
    with app.app_context():
        make = Factories(db.session)
        agency = make.agency()
        manager = make.staff(Role.CASE_MANAGER, agency)
        # The stack runs as production, where a reserved domain (.test) is no address: the
        # signature request below emails the client.
        record = make.client(agency, email=f"{uuid.uuid4().hex[:10]}@client.example.org")
        account = make.client_account(agency, client=record)
        record.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
        db.session.commit()
        with app.test_request_context():
            documents.client_upload(
                account, stream=io.BytesIO(PDF), filename="stub.pdf", category="income",
                title=None, key=None,
            )  # fmt: skip
            request = esign.request_signature(manager, record)
            esign.accept_disclosure(account, agrees="yes", word=esign.sample_word(account))
            esign.sign(
                account, request, intent="yes", typed_name="Stack Client",
                drawn="M10 10 L100 50", password_recent=True, session_hash="a" * 64,
                authentication={"password": "2026-12-06T10:00:00+00:00"},
            )  # fmt: skip
            db.session.commit()
        db.engine.dispose()


def counts(stack) -> tuple[int, int]:
    url = stack.database_url(owner=True).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM signatures)"
        ).fetchone()


@pytest.mark.requirement("R70")
def test_a_backup_of_the_running_stack_restores_and_every_file_and_seal_checks(stack):
    signed_roi_and_an_upload(stack)
    document_count, signature_count = counts(stack)
    assert document_count >= 2 and signature_count >= 1
    report = stack.rehearse_restore()
    assert "everything matches" in report
    checked = dict(re.findall(r"^(documents|signatures)\s+(\d+) checked", report, re.MULTILINE))
    # Everything on record when the backup began (the load or faults may add more after).
    assert int(checked["documents"]) >= document_count
    assert int(checked["signatures"]) >= signature_count
    print("\n" + report)
