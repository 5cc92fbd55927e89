"""Requests to sign, signing and declining, the sealed PDF and its verification."""

from __future__ import annotations

import hashlib
import html
import secrets
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import audit, clock, context
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs, lock_row
from portal.domain.core.statuses import SignatureStatus
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.documents import store_generated
from portal.domain.esign._consent import current_consent
from portal.domain.esign._templates import sha256, template_for_staff
from portal.domain.esign._texts import (
    DRAWN,
    document_html,
    ensure_default_roi,
    filled,
    shown_key,
    version_for,
)
from portal.domain.messaging import notifications
from portal.domain.models import (
    Agency,
    Client,
    ClientAccount,
    Consent,
    ConsentRevocation,
    Document,
    SignableTemplate,
    Signature,
    SignatureRequest,
)
from portal.domain.records.access_policy import can, client_of
from portal.settings import current as current_settings

# What the staff notices this module sends say (declared in portal.domain.features).
SIGNING_NOTICES = {
    "signature_declined": _l("A client declined to sign a document you sent."),
}

# --- requests --------------------------------------------------------------------------------


def request_signature(
    actor, client: Client, *, template: SignableTemplate | None = None, due_on: date | None = None
) -> SignatureRequest:
    """Ask a client to sign one of the agency's templates (the ROI unless another is named);
    one open request per template at a time."""
    return request_signatures(actor, [client], template=template, due_on=due_on)[0]


def request_signatures(
    actor,
    clients: list[Client],
    *,
    template: SignableTemplate | str | None = None,
    due_on: date | None = None,
) -> list[SignatureRequest]:
    """Ask each client (one, or the list staff saw) to sign the template; a client who has an
    open request for it keeps that one."""
    if template is None:
        template = ensure_default_roi(actor.agency)
    elif isinstance(template, str):
        try:
            template = template_for_staff(actor, template)
        except NotFound:
            raise DomainError(_l("Choose a document to sign."), field="template") from None
    if template.agency_id != actor.agency_id or not template.is_active:
        raise DomainError(_l("Choose a document to sign."), field="template")
    if due_on is not None and due_on < actor.agency.today():
        raise DomainError(_l("Choose a date from today on."), field="due_on")
    if not clients:
        raise DomainError(_l("Choose at least one client."))
    for client in clients:
        if not can(actor, "edit", client):
            raise Forbidden(Capability.EDIT_CLIENTS)
    already = {
        r.client_id: r
        for r in dbs().scalars(
            select(SignatureRequest).where(
                SignatureRequest.client_id.in_([c.id for c in clients]),
                SignatureRequest.template_id == template.id,
                SignatureRequest.status == SignatureStatus.REQUESTED,
            )
        )
    }
    made = []
    for client in clients:
        if client.id in already:
            made.append(already[client.id])
            continue
        request = SignatureRequest(
            client_id=client.id,
            agency_id=actor.agency_id,
            template_id=template.id,
            requested_by_id=actor.id,
            due_on=due_on,
        )
        dbs().add(request)
        dbs().flush()
        audit.record(
            "signature.requested",
            client,
            details={"request": str(request.public_id), "kind": template.kind},
        )
        texting.notify_record(
            client.id,
            "documents",
            mail_template="document_request",
            params={"request": str(request.public_id)},
            agency_id=request.agency_id,
        )
        made.append(request)
    return made


def open_requests(client: Client) -> list[SignatureRequest]:
    return list(
        dbs().scalars(
            select(SignatureRequest)
            .where(
                SignatureRequest.client_id == client.id,
                SignatureRequest.status == SignatureStatus.REQUESTED,
            )
            .order_by(SignatureRequest.created_at)
        )
    )


def client_request(account: ClientAccount, public_id) -> SignatureRequest:

    request = dbs().scalar(
        select(SignatureRequest).where(
            SignatureRequest.public_id == parse_uuid(public_id),
            SignatureRequest.client_id == client_of(account).id,
        )
    )
    if request is None:
        raise NotFound(("signature_request", str(public_id)[:64]))
    return request


# --- signing ---------------------------------------------------------------------------------


NEEDS_PASSWORD = _l("For your safety, type your password again to sign.")


def clean_signer_name(name: str | None) -> str:
    from portal.integrations import pdf

    name = clean_text(
        name, field="typed_name", max_length=100, message=_l("Type your full name to sign.")
    )
    if any(unicodedata.category(c) == "Cf" for c in name) or not pdf.printable(name):
        raise DomainError(
            _l("Some characters of this name cannot be printed. Type it as on your ID."),
            field="typed_name",
        )
    return name


def sign(
    account: ClientAccount,
    request: SignatureRequest,
    *,
    intent: str,
    typed_name: str,
    drawn: str | None,
    password_recent: bool,
    session_hash: str,
    authentication: dict,
    shown_version: str | None = None,
) -> Signature:
    """`shown_version`: the version id the page showed (the form sends it back); if the
    document changed since, nothing is signed and the client reads it again."""

    if request.client_id != client_of(account).id:
        raise NotFound(("signature_request", str(request.public_id)))
    # Of two signings at once (a double tap), the second waits here for the first to commit
    # and then finds the request signed: one signature, never a unique-key failure (R67).
    lock_row(request)
    if request.status != SignatureStatus.REQUESTED:
        raise DomainError(_l("This document is not waiting for your signature any more."))
    consent = current_consent(account)
    if consent is None:
        raise DomainError(_l("First read how signing on your phone works, and agree to it."))
    typed_name, drawn = _checked_signature(intent, typed_name, drawn, password_recent)
    client = request.client
    agency = dbs().get_one(Agency, request.agency_id)
    version = version_for(request.template, account.preferred_language)
    if shown_version is not None and shown_version != shown_key(version):
        raise DomainError(
            _l("This document changed since you opened it. Read it again, then sign.")
        )
    ends_on = None
    if request.template.kind == "roi":
        term = request.template.roi_term_days or agency.default_roi_days
        ends_on = agency.today() + timedelta(days=term)
    document = document_html(version, signer=typed_name, ends_on=ends_on)
    ctx = context.current()
    signature = Signature(
        request_id=request.id,
        client_id=client.id,
        account_id=account.id,
        version_id=version.id,
        esign_consent_id=consent.id,
        typed_name=typed_name,
        drawn=drawn,
        document_sha256=sha256(document),
        document_text=document,
        disclosure_sha256=consent.disclosure_sha256,
        authentication=authentication,
        signed_at=clock.now(),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:255] or None,
        session_hash=session_hash,
        verification_code=secrets.token_hex(6).upper(),
    )
    dbs().add(signature)
    dbs().flush()
    _seal_and_record(signature, version, document, agency, consent, request, ends_on)
    audit.record(
        "signature.signed",
        client,
        actor=account,
        details={
            "signature": str(signature.public_id),
            "document_sha256": signature.document_sha256,
            "pdf_sha256": signature.pdf_sha256,
        },
    )
    return signature


def _checked_signature(intent, typed_name, drawn, password_recent) -> tuple[str, str | None]:
    """The typed name and the drawing as kept; every problem at once, in words."""
    errors = []
    if intent != "yes":
        errors.append(
            DomainError(_l("Tick “I want to sign this electronically” to sign."), field="intent")
        )
    try:
        typed_name = clean_signer_name(typed_name)
    except DomainError as refusal:
        errors.append(refusal)
    drawn = (drawn or "").strip() or None
    if drawn is not None and not DRAWN.fullmatch(drawn):
        drawn = None  # a drawing we cannot read is left out; the typed name is the signature
    if not password_recent:
        errors.append(DomainError(NEEDS_PASSWORD, field="password"))
    if errors:
        raise DomainError.all_of(errors)
    return typed_name, drawn


def _seal_and_record(signature, version, document, agency, consent, request, ends_on) -> None:
    """The sealed PDF stored on the record, the request signed, and (an ROI) the consent."""
    pdf_bytes = signed_pdf(signature, version, document, agency, consent, request)
    stored = _store_pdf(
        request.client, agency, f"signed-{signature.verification_code}.pdf", signature, pdf_bytes
    )
    signature.pdf_document_id = stored.id
    signature.pdf_sha256 = stored.sha256
    request.status = SignatureStatus.SIGNED
    request.decided_at = signature.signed_at
    if ends_on is not None:
        dbs().add(
            Consent(
                client_id=request.client.id,
                recorded_by_agency_id=agency.id,
                permission=True,
                refused=False,
                starts_on=agency.today(),
                ends_on=ends_on,
                source="electronic",
                document_reference=str(signature.public_id),
            )
        )


def decline(account: ClientAccount, request: SignatureRequest, *, reason: str | None) -> None:

    if request.client_id != client_of(account).id or request.status != SignatureStatus.REQUESTED:
        raise DomainError(_l("This document is not waiting for your signature any more."))
    request.status = SignatureStatus.DECLINED
    request.decided_at = clock.now()
    request.decline_reason = (
        clean_text(reason, field="reason", max_length=500, required=False) or None
    )
    if request.requested_by is not None and request.requested_by.is_active:
        notifications.notify(
            request.requested_by,
            "signature_declined",
            params={"client": str(request.client.public_id)},
        )
    audit.record(
        "signature.declined",
        request.client,
        actor=account,
        details={"request": str(request.public_id)},
    )


# --- the signed PDF --------------------------------------------------------------------------


def signed_pdf(signature, version, document, agency, consent, request) -> bytes:
    rows = [
        ("Signer", signature.typed_name),
        (
            "Document",
            f"{filled(version.title, version)} (version {version.version}, {version.language})",
        ),
        ("Requested", request.created_at.isoformat(timespec="seconds")),
        ("Agreed to sign electronically", consent.accepted_at.isoformat(timespec="seconds")),
        ("Signed", signature.signed_at.isoformat(timespec="seconds")),
        ("Authentication", ", ".join(f"{k}: {v}" for k, v in signature.authentication.items())),
        ("Document SHA-256", signature.document_sha256),
        ("Disclosure SHA-256", signature.disclosure_sha256),
        ("IP address", signature.ip or "-"),
        ("Verification code", signature.verification_code),
    ]
    return _sealed_page(
        document, signature.typed_name, signature.drawn, signature.signed_at, agency, rows
    )


def _sealed_page(document, typed_name, drawn, signed_at, agency, rows) -> bytes:
    """The document, the signature, and a certificate page; sealed."""
    from portal.integrations import pdf

    drawing = ""
    if drawn:
        drawing = (
            '<svg class="drawn" viewBox="0 0 600 200" width="300" height="100">'
            f'<path d="{html.escape(drawn)}" fill="none" stroke="black" stroke-width="3"/></svg>'
        )
    when = signed_at.isoformat(timespec="seconds")
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    page = (
        "<html><head><style>"
        ".name{white-space:nowrap;font-variant-ligatures:none;font-size:16pt}"
        ".certificate{break-before:page} th{text-align:left;padding-right:1em;vertical-align:top}"
        "td{word-break:break-all}"
        "</style></head><body>"
        f"{document}"
        f'<section class="signature"><h2>Signature</h2>{drawing}'
        f'<p class="name">{html.escape(typed_name)}</p>'
        f"<p>Signed electronically on {html.escape(when)} (UTC)</p></section>"
        f'<section class="certificate"><h2>Certificate of signature</h2>'
        f"<p>{html.escape(agency.name)}</p><table>{table}</table></section>"
        "</body></html>"
    )
    return pdf.seal(pdf.render(page), _signer())


def _signer():
    from portal.integrations import pdf

    settings = current_settings()
    folder = Path(settings.instance_path) / "esign"
    signer = pdf.Signer(folder / "seal.key", folder / "seal.crt")
    if not signer.key_path.exists():
        if settings.is_production:  # never a silent self-signed seal in production
            raise DomainError(
                _l("Signing here is not set up yet. Ask your case manager for paper."),
                status=503,
            )
        signer = pdf.make_local_certificate(folder)
    return signer


def _store_pdf(client, agency, file_name: str, signed, data: bytes) -> Document:

    return store_generated(
        client,
        agency_id=agency.id,
        file_name=file_name,
        data=data,
        key=f"signed-{signed.public_id}",
        unavailable=_l("Not signed: we could not save the signed copy. Please try again."),
    )


# --- verification ----------------------------------------------------------------------------


def verify(signature: Signature) -> list[str]:
    """What does not match, in words (empty: everything holds)."""
    problems = []
    if sha256(signature.document_text) != signature.document_sha256:
        problems.append("the signed document's text no longer hashes to what was signed")
    return problems + _verify_sealed_pdf(signature.pdf_document_id, signature.pdf_sha256)


def verify_revocation(revocation: ConsentRevocation) -> list[str]:
    """A revocation's sealed PDF: on record, the stored bytes the ones signed, the seal sound."""
    return _verify_sealed_pdf(revocation.pdf_document_id, revocation.pdf_sha256)


def _verify_sealed_pdf(document_id: int | None, pdf_sha256: str | None) -> list[str]:
    from portal.integrations import pdf
    from portal.integrations.storage import ObjectMissing, get_store

    document = dbs().get(Document, document_id) if document_id else None
    if document is None:
        return ["the signed PDF is not on record"]
    try:
        stream = get_store().open(document.storage_key)
        data = stream.read()
        stream.close()
    except ObjectMissing:
        return ["the signed PDF is missing from document storage"]
    problems = []
    if hashlib.sha256(data).hexdigest() != pdf_sha256:
        problems.append("the stored PDF is not the one that was signed (its SHA-256 differs)")
    problems += pdf.verify(data, [_seal_certificate()]).problems
    return problems


def _seal_certificate() -> Path:
    """What seals are checked against: only the certificate is needed (a restored copy or a
    verifying machine need not hold the signing key)."""
    certificate = Path(current_settings().instance_path) / "esign" / "seal.crt"
    return certificate if certificate.is_file() else _signer().cert_path
