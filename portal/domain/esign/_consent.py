"""Consent to electronic records (ESIGN): the disclosure, the sample, agreeing, withdrawing."""

from __future__ import annotations

import hashlib
import hmac
import html
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal.domain.core import audit, clock, context
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.esign._templates import sha256
from portal.domain.esign._texts import (
    DISCLOSURE_VERSION,
    LANGUAGES,
    SAMPLE_WORDS,
    TEXTS,
    _fill,
    _front_matter,
    render_markdown,
    term_words,
)
from portal.domain.models import (
    Agency,
    ClientAccount,
    Document,
    EsignConsent,
    Signature,
)
from portal.domain.records.access_policy import client_of
from portal.settings import current as current_settings

# --- consent to electronic records ---------------------------------------------------------


@dataclass
class Disclosure:
    version: int
    language: str
    title: str
    html: Markup  # sanitised (render_markdown)

    @property
    def sha256(self) -> str:
        return sha256(str(self.html))


def disclosure(agency: Agency, language: str) -> Disclosure:
    language = language if language in LANGUAGES else "en"
    meta, body = _front_matter(TEXTS / f"esign_disclosure.{language}.md")
    text = _fill(body, agency).replace("{term}", term_words(agency.default_roi_days, language))
    return Disclosure(DISCLOSURE_VERSION, language, meta["title"], render_markdown(text))


def disclosure_for(account: ClientAccount) -> Disclosure:

    agency = dbs().get_one(Agency, client_of(account).owning_agency_id)
    return disclosure(agency, account.preferred_language)


def signed_copy(signature: Signature) -> Document:
    return dbs().get_one(Document, signature.pdf_document_id)


# The sample PDF's words, in the languages of the disclosure (not the app's catalog: the PDF is
# made the same way for every request in one language).
SAMPLE_WORDING = {
    "en": ("Sample PDF", "Type this word in the portal:"),
    "es": ("PDF de ejemplo", "Escriba esta palabra en el portal:"),
}


def sample_word(account: ClientAccount) -> str:
    """The word printed in the account's sample PDF (the same each time, different per account)."""
    key = current_settings().secret_key.encode()
    digest = hmac.new(key, f"esign-sample:{account.public_id}".encode(), hashlib.sha256).digest()
    return SAMPLE_WORDS[digest[0] % len(SAMPLE_WORDS)]


def sample_pdf(account: ClientAccount, language: str) -> bytes:
    from portal.integrations import pdf

    word = html.escape(sample_word(account))
    # One word to type, named as such (a heading alone read as a second word to choose from).
    heading, ask = SAMPLE_WORDING.get(language, SAMPLE_WORDING["en"])
    return pdf.render(
        f"<html><body><h1>{heading}</h1><p>{ask}</p>"
        f"<p style='font-size:28pt'><strong>{word}</strong></p></body></html>"
    )


def current_consent(account: ClientAccount) -> EsignConsent | None:
    return dbs().scalar(
        select(EsignConsent)
        .where(
            EsignConsent.account_id == account.id,
            EsignConsent.withdrawn_at.is_(None),
            EsignConsent.disclosure_version == DISCLOSURE_VERSION,
        )
        .order_by(EsignConsent.id.desc())
        .limit(1)
    )


def accept_disclosure(account: ClientAccount, *, agrees: str, word: str) -> EsignConsent:
    errors = []
    if agrees != "yes":
        errors.append(
            DomainError(_l("Tick the box if you agree to sign electronically."), field="agrees")
        )
    if (word or "").strip().casefold() != sample_word(account):
        errors.append(
            DomainError(
                _l("Open the sample PDF and type the word it asks you to type."), field="word"
            )
        )
    if errors:
        raise DomainError.all_of(errors)

    agency = dbs().get_one(Agency, client_of(account).owning_agency_id)
    shown = disclosure(agency, account.preferred_language)
    ctx = context.current()
    consent = EsignConsent(
        account_id=account.id,
        disclosure_version=shown.version,
        language=shown.language,
        disclosure_sha256=shown.sha256,
        accepted_at=clock.now(),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:255] or None,
    )
    dbs().add(consent)
    dbs().flush()
    audit.record(
        "esign.consented", account, details={"version": shown.version, "sha256": shown.sha256}
    )
    return consent


def withdraw_consent(account: ClientAccount) -> None:
    consent = current_consent(account)
    if consent is not None:
        consent.withdrawn_at = clock.now()
        audit.record("esign.withdrawn", account, details={"version": consent.disclosure_version})
