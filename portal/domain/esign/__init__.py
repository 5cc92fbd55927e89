"""Electronic signatures (issue 8; on the groundwork branch, not finished).

- Templates: each agency gets the shipped Release of Information (`portal/esign_texts/`) in
  English and Spanish on first use; publishing a new version never touches signed ones.
- Before a first electronic signature the client reads the electronic-records disclosure
  (ESIGN 7001(c)), shows they can open a PDF (a word printed in a sample PDF), and consents.
- Signing: intent ("I want to sign this electronically", never pre-ticked), the full name
  typed, optionally a drawn signature, the password again after 5 minutes; the evidence
  (hashes of the exact document and disclosure, account, authentication, time, IP, user agent,
  session hash) goes into a PDF with a certificate page, sealed with the deployment's key,
  stored write-once in the document store; a signed ROI becomes the client's consent record.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal.domain.accounts.staff import require
from portal.domain.core import audit, clock, context, jobs, mail, sanitiser
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs, get_or_create
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.documents import store_generated
from portal.domain.messaging import notifications
from portal.domain.models import (
    Agency,
    Client,
    ClientAccount,
    Consent,
    ConsentRevocation,
    Document,
    EsignConsent,
    SignableTemplate,
    Signature,
    SignatureRequest,
    StaffUser,
    TemplateVersion,
)
from portal.domain.models import ClientAccount as Account
from portal.domain.records.access_policy import can, client_of
from portal.domain.records.clients import people_to_tell
from portal.settings import current as current_settings

TEXTS = Path(__file__).resolve().parents[2] / "esign_texts"
LANGUAGES = ("en", "es")
DISCLOSURE_VERSION = 1
SAMPLE_WORDS = [
    "river",
    "maple",
    "lantern",
    "harbor",
    "meadow",
    "orchard",
    "canyon",
    "willow",
    "pebble",
    "sparrow",
    "garden",
    "compass",
    "violet",
    "summit",
    "thistle",
    "beacon",
]
DRAWN = re.compile(r"[MLml0-9 .,\-]{1,20000}")


# --- texts ---------------------------------------------------------------------------------


def _front_matter(path: Path) -> tuple[dict, str]:
    """A text file: `---` key: value lines (a `|` value takes the indented lines below) `---`,
    then Markdown."""
    raw = path.read_text(encoding="utf-8")
    _, head, body = raw.split("---\n", 2)
    meta: dict[str, str] = {}
    key = None
    for line in head.splitlines():
        if key and line.startswith("  "):
            meta[key] = (meta[key] + " " + line.strip()).strip()
            continue
        name, _, value = line.partition(":")
        key = name.strip()
        meta[key] = "" if value.strip() == "|" else value.strip()
    return meta, body.strip() + "\n"


class _Blanks(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def term_words(term_days: int, language: str = "en") -> str:
    """An ROI's length in words, in the language of the text it goes into."""
    years, rest = divmod(term_days, 365)
    if language == "es":
        if rest == 0 and years:
            return f"{years} año" + ("s" if years != 1 else "")
        return f"{term_days} días"
    if rest == 0 and years:
        return f"{years} year" + ("s" if years != 1 else "")
    return f"{term_days} days"


def shown_key(version: TemplateVersion) -> str:
    """What the sign page sends back: the version and the term it showed (a new version or a
    new term since means the client has not read what they would sign)."""
    term = version.template.roi_term_days if version.template is not None else None
    return f"{version.id}:{term or ''}"


def _fill(text: str, agency: Agency) -> str:
    """The shipped texts' placeholders, but {term}: that one is filled when the document is
    shown or signed, from the template's term then (an administrator may change it)."""
    values = _Blanks(
        agency=agency.name,
        continuum="the local Continuum of Care",
        partners="The partner agencies are the agencies that use this HMIS.",
        privacy_contact=f"the staff at {agency.name}",
    )
    return text.format_map(values)


def filled(text: str, version: TemplateVersion) -> str:
    """A version's text with "{term}" (an ROI's length) in words from the template's term."""
    term = version.template.roi_term_days if version.template is not None else None
    return text.replace("{term}", term_words(term, version.language)) if term else text


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    """Markdown to HTML: raw HTML is not passed through, and bleach keeps only a few tags."""
    clean = sanitiser.clean(_markdown().render(text), sanitiser.DOCUMENT)
    return Markup(clean)  # noqa: S704 - bleach allowlisted


def ensure_default_roi(agency: Agency) -> SignableTemplate:
    """The agency's ROI template: the shipped text (version 1, English and Spanish) on first use
    (one per agency, a unique index: two first uses at once make one)."""

    def find() -> SignableTemplate | None:
        return dbs().scalar(
            select(SignableTemplate).where(
                SignableTemplate.agency_id == agency.id, SignableTemplate.kind == "roi"
            )
        )

    return get_or_create(find, lambda: _make_default_roi(agency))


def _make_default_roi(agency: Agency) -> SignableTemplate:
    template = SignableTemplate(
        agency_id=agency.id,
        kind="roi",
        name="Release of Information",
        roi_term_days=agency.default_roi_days,
    )
    dbs().add(template)
    dbs().flush()
    for language in LANGUAGES:
        meta, body = _front_matter(TEXTS / f"roi.{language}.md")
        dbs().add(
            TemplateVersion(
                template_id=template.id,
                version=1,
                language=language,
                title=_fill(meta["title"], agency),
                summary=_fill(meta["summary"], agency),
                body=_fill(body, agency),
            )
        )
    dbs().flush()
    audit.record("signable_template.published", template, details={"version": 1})
    return template


def version_for(template: SignableTemplate, language: str) -> TemplateVersion:
    """The newest version in the language, else the newest in English."""
    return pick_version(template.versions, language)


def pick_version(versions, language: str):
    """Of one template's versions (anything with .version and .language): the newest, in the
    language if it has one, else in English, else any."""
    newest = max(v.version for v in versions)
    current = [v for v in versions if v.version == newest]
    for candidate in (language, "en"):
        for version in current:
            if version.language == candidate:
                return version
    return current[0]


def document_html(
    version: TemplateVersion, *, signer: str = "", ends_on: date | None = None
) -> str:
    """The exact document the client signs (R53: the template version plus who signs it and,
    for an ROI, until when); its SHA-256 is evidence and the text is kept with the signature."""
    terms = ""
    if signer:
        terms += f"<p>Signed by: {html.escape(signer)}</p>"
    if ends_on is not None:
        terms += f"<p>This permission lasts until {ends_on.isoformat()}.</p>"
    return (
        f"<h1>{html.escape(filled(version.title, version))}</h1>"
        f'<section class="summary"><p>{html.escape(filled(version.summary, version))}</p></section>'
        f'<section class="full-text">{render_markdown(filled(version.body, version))}</section>'
        f'<section class="terms">{terms}</section>'
    )


# --- templates (agency administrators) -----------------------------------------------------

KINDS = {"roi": _l("Release of Information"), "other": _l("Another document to sign")}
MAX_BODY = 50_000
_BODY_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


@dataclass
class VersionText:
    language: str
    title: str
    summary: str
    body: str


def templates_for(actor) -> list[SignableTemplate]:
    """The agency's templates, the ROI first (made from the shipped text on first use)."""
    ensure_default_roi(actor.agency)
    return list(
        dbs().scalars(
            select(SignableTemplate)
            .where(SignableTemplate.agency_id == actor.agency_id)
            .order_by(SignableTemplate.kind.desc(), SignableTemplate.name, SignableTemplate.id)
        )
    )


def active_templates(actor) -> list[SignableTemplate]:
    return [t for t in templates_for(actor) if t.is_active]


def template_for_staff(actor, public_id) -> SignableTemplate:
    template = dbs().scalar(
        select(SignableTemplate).where(
            SignableTemplate.public_id == parse_uuid(public_id),
            SignableTemplate.agency_id == actor.agency_id,
        )
    )
    if template is None:
        raise NotFound(("signable_template", str(public_id)[:64]))
    return template


def newest_texts(template: SignableTemplate) -> dict[str, TemplateVersion]:
    """The newest version's text per language."""
    if not template.versions:
        return {}
    newest = max(v.version for v in template.versions)
    return {v.language: v for v in template.versions if v.version == newest}


@dataclass
class PublishedVersion:
    number: int
    languages: list[str]
    published_at: object
    published_by: str | None
    signed: int  # signatures on this version


def version_history(template: SignableTemplate) -> list[PublishedVersion]:
    """Every version, newest first, with how many signatures each holds."""
    from sqlalchemy import func

    signed = dict(
        dbs()
        .execute(
            select(TemplateVersion.version, func.count(Signature.id))
            .join(Signature, Signature.version_id == TemplateVersion.id)
            .where(TemplateVersion.template_id == template.id)
            .group_by(TemplateVersion.version)
        )
        .all()
    )
    history: dict[int, PublishedVersion] = {}
    for version in template.versions:
        entry = history.get(version.version)
        if entry is None:
            author = (
                dbs().get(StaffUser, version.published_by_id) if version.published_by_id else None
            )
            entry = history[version.version] = PublishedVersion(
                version.version,
                [],
                version.created_at,
                author.display_name if author else None,
                signed.get(version.version, 0),
            )
        entry.languages.append(version.language)
    return sorted(history.values(), key=lambda v: v.number, reverse=True)


def _clean_body(value: str | None, *, field: str) -> str:
    value = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").replace("\r", "\n")
    value = _BODY_CONTROL.sub("", value).strip()
    if not value:
        raise DomainError(_l("Write the full text."), field=field)
    if len(value) > MAX_BODY:
        raise DomainError(_l("Use %(count)s characters or fewer.", count=MAX_BODY), field=field)
    return value + "\n"


def clean_texts(texts: dict[str, dict[str, str]]) -> list[VersionText]:
    """One text per language that has any field filled; English is needed (clients whose
    language has no text read it). Each wrong field says so."""
    cleaned, errors = [], []
    for language in LANGUAGES:
        given = texts.get(language) or {}
        if language != "en" and not any((given.get(k) or "").strip() for k in given):
            continue
        try:
            title = clean_text(
                given.get("title"),
                field=f"title_{language}",
                max_length=200,
                message=_l("Write a title."),
            )
        except DomainError as refusal:
            errors.append(refusal)
        try:
            summary = clean_text(
                given.get("summary"),
                field=f"summary_{language}",
                max_length=1000,
                message=_l("Write a short summary in plain words."),
            )
        except DomainError as refusal:
            errors.append(refusal)
        try:
            body = _clean_body(given.get("body"), field=f"body_{language}")
        except DomainError as refusal:
            errors.append(refusal)
        if not errors:
            cleaned.append(VersionText(language, title, summary, body))
    if errors:
        raise DomainError.all_of(errors)
    return cleaned


def _term(kind: str, term_days: str | None) -> int | None:
    if kind != "roi":
        return None
    text = (term_days or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 3650:
        raise DomainError(_l("Enter a number of days from 1 to 3650."), field="term_days")
    return int(text)


def _publish(actor, template: SignableTemplate, texts: list[VersionText]) -> int:
    number = max((v.version for v in template.versions), default=0) + 1
    for text in texts:
        dbs().add(
            TemplateVersion(
                template_id=template.id,
                version=number,
                language=text.language,
                title=text.title,
                summary=text.summary,
                body=text.body,
                published_by_id=actor.id,
            )
        )
    dbs().flush()
    dbs().expire(template, ["versions"])
    audit.record(
        "signable_template.published",
        template,
        details={"version": number, "languages": [t.language for t in texts]},
    )
    return number


def create_template(
    actor, *, name: str, kind: str, term_days: str | None, texts: dict[str, dict[str, str]]
) -> SignableTemplate:
    """A new template and its first version. An agency has one Release of Information: its
    own legal text is a new version of it."""
    require(actor, Capability.MANAGE_TEMPLATES)
    errors = []
    try:
        name = clean_text(name, field="name", max_length=120, message=_l("Enter a name."))
    except DomainError as refusal:
        errors.append(refusal)
    if kind not in KINDS:
        errors.append(DomainError(_l("Choose what kind of document this is."), field="kind"))
    elif kind == "roi":
        ensure_default_roi(actor.agency)
        errors.append(
            DomainError(
                _l(
                    "Your agency has a Release of Information already. Publish a new version of it."
                ),
                field="kind",
            )
        )
    try:
        term = _term(kind, term_days)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        cleaned = clean_texts(texts)
    except DomainError as refusal:
        errors += [refusal, *refusal.more]
        refusal.more = []
    if errors:
        raise DomainError.all_of(errors)
    template = SignableTemplate(agency_id=actor.agency_id, kind=kind, name=name, roi_term_days=term)
    dbs().add(template)
    dbs().flush()
    audit.record("signable_template.created", template, details={"kind": kind})
    _publish(actor, template, cleaned)
    return template


def publish_version(actor, template: SignableTemplate, texts: dict[str, dict[str, str]]) -> int:
    """A new version: new requests and unsigned ones get it; signed documents keep theirs."""
    require(actor, Capability.MANAGE_TEMPLATES)
    if template.agency_id != actor.agency_id:
        raise NotFound(("signable_template", str(template.public_id)))
    return _publish(actor, template, clean_texts(texts))


def update_template(
    actor, template: SignableTemplate, *, name: str, term_days: str | None, active: bool
) -> None:
    require(actor, Capability.MANAGE_TEMPLATES)
    if template.agency_id != actor.agency_id:
        raise NotFound(("signable_template", str(template.public_id)))
    errors = []
    try:
        name = clean_text(name, field="name", max_length=120, message=_l("Enter a name."))
    except DomainError as refusal:
        errors.append(refusal)
    try:
        term = _term(template.kind, term_days)
    except DomainError as refusal:
        errors.append(refusal)
    if template.kind == "roi" and not active:
        errors.append(DomainError(_l("The Release of Information stays in use."), field="active"))
    if errors:
        raise DomainError.all_of(errors)
    changes = {}
    for attribute, value in (("name", name), ("roi_term_days", term), ("is_active", active)):
        if getattr(template, attribute) != value:
            changes[attribute] = True
            setattr(template, attribute, value)
    if changes:
        audit.record("signable_template.changed", template, details={"fields": sorted(changes)})


def preview(text: VersionText) -> Markup:
    """The texts as a client would see them (sanitised), for the administrator to check; the
    title is a third-level heading so the page keeps its one h1."""
    return Markup(  # noqa: S704 - escaped, and the body sanitised by render_markdown
        f"<h3>{html.escape(text.title)}</h3>"
        f'<p class="summary">{html.escape(text.summary)}</p>'
        f"{render_markdown(text.body)}"
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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

    agency = dbs().get(Agency, client_of(account).owning_agency_id)
    return disclosure(agency, account.preferred_language)


def signed_copy(signature: Signature) -> Document:
    return dbs().get(Document, signature.pdf_document_id)


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

    agency = dbs().get(Agency, client_of(account).owning_agency_id)
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
                SignatureRequest.status == "requested",
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
        made.append(request)
    return made


def open_requests(client: Client) -> list[SignatureRequest]:
    return list(
        dbs().scalars(
            select(SignatureRequest)
            .where(SignatureRequest.client_id == client.id, SignatureRequest.status == "requested")
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
    if request.status != "requested":
        raise DomainError(_l("This document is not waiting for your signature any more."))
    consent = current_consent(account)
    if consent is None:
        raise DomainError(_l("First read how signing on your phone works, and agree to it."))
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

    client = request.client
    agency = dbs().get(Agency, request.agency_id)
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
    pdf_bytes = signed_pdf(signature, version, document, agency, consent, request)
    stored = _store_pdf(
        client, agency, f"signed-{signature.verification_code}.pdf", signature, pdf_bytes
    )
    signature.pdf_document_id = stored.id
    signature.pdf_sha256 = stored.sha256
    request.status = "signed"
    request.decided_at = signature.signed_at
    if ends_on is not None:
        dbs().add(
            Consent(
                client_id=client.id,
                recorded_by_agency_id=agency.id,
                permission=True,
                refused=False,
                starts_on=agency.today(),
                ends_on=ends_on,
                source="electronic",
                document_reference=str(signature.public_id),
            )
        )
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


def decline(account: ClientAccount, request: SignatureRequest, *, reason: str | None) -> None:

    if request.client_id != client_of(account).id or request.status != "requested":
        raise DomainError(_l("This document is not waiting for your signature any more."))
    request.status = "declined"
    request.decided_at = clock.now()
    request.decline_reason = (
        clean_text(reason, field="reason", max_length=500, required=False) or None
    )
    if request.requested_by is not None and request.requested_by.is_active:
        notifications.notify(
            request.requested_by,
            "signature_declined",
            link=f"/staff/clients/{request.client.public_id}",
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


# --- the staff side --------------------------------------------------------------------------


def requests_for_record(actor, client: Client) -> list[SignatureRequest]:
    """The client's signature requests of the actor's agency, newest first."""
    if not can(actor, "view", client):
        raise Forbidden(Capability.VIEW_CLIENTS)
    return list(
        dbs().scalars(
            select(SignatureRequest)
            .where(
                SignatureRequest.client_id == client.id,
                SignatureRequest.agency_id == actor.agency_id,
            )
            .order_by(SignatureRequest.created_at.desc())
        )
    )


def signature_of(request: SignatureRequest) -> Signature | None:
    return dbs().scalar(select(Signature).where(Signature.request_id == request.id))


def staff_signature(actor, public_id) -> Signature:
    """A signature of the actor's agency's requests, for a client the actor may view."""
    signature = dbs().scalar(
        select(Signature)
        .join(SignatureRequest, SignatureRequest.id == Signature.request_id)
        .where(
            Signature.public_id == parse_uuid(public_id),
            SignatureRequest.agency_id == actor.agency_id,
        )
    )
    if signature is None or not can(actor, "view", dbs().get(Client, signature.client_id)):
        raise NotFound(("signature", str(public_id)[:64]))
    return signature


def verify_for_staff(actor, public_id) -> tuple[Signature, list[str]]:
    signature = staff_signature(actor, public_id)
    problems = verify(signature)
    audit.record(
        "signature.verified",
        dbs().get(Client, signature.client_id),
        details={"signature": str(signature.public_id), "ok": not problems},
    )
    return signature, problems


def by_code(code: str) -> Signature | None:
    return dbs().scalar(
        select(Signature).where(Signature.verification_code == (code or "").strip().upper())
    )


# --- taking the permission back ------------------------------------------------------------

REVOCATION_TEXT = (
    "I take back my permission to share my information in the Homeless Management "
    "Information System with partner agencies. Sharing that already happened is not undone."
)


def roi_in_force_for(account: ClientAccount) -> list[Consent]:

    client = client_of(account)
    return roi_in_force(client, dbs().get(Agency, client.owning_agency_id))


def roi_in_force(client: Client, agency: Agency) -> list[Consent]:
    today = agency.today()
    return [c for c in client.consents if c.in_force_on(today)]


def revoke_roi(
    account: ClientAccount,
    *,
    intent: str,
    typed_name: str,
    password_recent: bool,
    session_hash: str,
    authentication: dict,
) -> ConsentRevocation:
    """A signed event that ends every Release of Information in force for the client; the
    consents and the signatures that made them stay as they were (revoked_at is set)."""

    client = client_of(account)
    agency = dbs().get(Agency, client.owning_agency_id)
    ending = roi_in_force(client, agency)
    if not ending:
        raise DomainError(_l("There is no permission to share in force to take back."))
    errors = []
    if intent != "yes":
        errors.append(DomainError(_l("Tick the box to take back your permission."), field="intent"))
    try:
        typed_name = clean_signer_name(typed_name)
    except DomainError as refusal:
        errors.append(refusal)
    if not password_recent:
        errors.append(DomainError(NEEDS_PASSWORD, field="password"))
    if errors:
        raise DomainError.all_of(errors)
    now = clock.now()
    ctx = context.current()
    document = f"<h1>Taking back my permission to share</h1><p>{html.escape(REVOCATION_TEXT)}</p>"
    revocation = ConsentRevocation(
        client_id=client.id,
        account_id=account.id,
        consent_ids=[c.id for c in ending],
        typed_name=typed_name,
        document_sha256=sha256(document),
        authentication=authentication,
        signed_at=now,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:255] or None,
        session_hash=session_hash,
        verification_code=secrets.token_hex(6).upper(),
    )
    dbs().add(revocation)
    for consent in ending:
        consent.revoked_at = now
    dbs().flush()
    rows = [
        ("Signer", typed_name),
        ("Signed", now.isoformat(timespec="seconds")),
        ("Permissions ended", ", ".join(str(c.public_id) for c in ending)),
        ("Document SHA-256", revocation.document_sha256),
        ("IP address", revocation.ip or "-"),
        ("Verification code", revocation.verification_code),
    ]
    data = _sealed_page(document, typed_name, None, now, agency, rows)
    stored = _store_pdf(
        client, agency, f"revocation-{revocation.verification_code}.pdf", revocation, data
    )
    revocation.pdf_document_id = stored.id
    revocation.pdf_sha256 = stored.sha256
    for staff in _agency_people(client, agency):
        notifications.notify(
            staff, "roi_revoked", link=f"/staff/clients/{client.public_id}#signatures"
        )
    audit.record(
        "consent.revoked",
        client,
        actor=account,
        details={"revocation": str(revocation.public_id), "consents": len(ending)},
    )
    return revocation


def _agency_people(client: Client, agency: Agency):

    return [s for s in people_to_tell(client) if s.agency_id == agency.id]


# --- reminders before an ROI ends ------------------------------------------------------------

REMIND_DAYS = 30


def remind_expiring() -> int:
    """Clients whose Release of Information ends within REMIND_DAYS get a renewal request on
    their dashboard and one email (a first name and a link only). Returns how many."""

    today = clock.now().date()
    ending = dbs().scalars(
        select(Consent).where(
            Consent.permission.is_(True),
            Consent.refused.is_(False),
            Consent.revoked_at.is_(None),
            Consent.ends_on >= today,
            Consent.ends_on <= today + timedelta(days=REMIND_DAYS),
        )
    )
    reminded = 0
    for consent in ending:
        agency = dbs().get(Agency, consent.recorded_by_agency_id)
        template = ensure_default_roi(agency)
        since = consent.ends_on - timedelta(days=REMIND_DAYS)
        asked = dbs().scalar(
            select(SignatureRequest.id).where(
                SignatureRequest.client_id == consent.client_id,
                SignatureRequest.template_id == template.id,
                SignatureRequest.created_at >= datetime_at(since),
            )
        )
        if asked is not None:
            continue  # asked already for this renewal (or signed since)
        request = SignatureRequest(
            client_id=consent.client_id,
            agency_id=agency.id,
            template_id=template.id,
            due_on=consent.ends_on,
        )
        dbs().add(request)
        dbs().flush()
        audit.record(
            "signature.requested",
            dbs().get(Client, consent.client_id),
            details={"request": str(request.public_id), "kind": "roi", "renewal": True},
        )
        account = dbs().scalar(select(Account).where(Account.client_id == consent.client_id))
        if account is not None and account.is_active and account.email_notifications:
            mail.queue(
                "roi_renewal",
                to=account.email,
                language=account.preferred_language,
                params={
                    "name": account.first_name,
                    "link": f"{current_settings().base_url}/sign/{request.public_id}",
                },
            )
        reminded += 1
    return reminded


def datetime_at(day: date):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@jobs.handler("esign.roi_reminders", every=timedelta(days=1))
def remind_job(payload: dict) -> None:
    remind_expiring()
