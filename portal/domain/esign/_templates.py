"""Templates and their versions, kept by agency administrators: create, publish, history."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal.domain.accounts.staff import require
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.esign._texts import LANGUAGES, ensure_default_roi, render_markdown
from portal.domain.models import (
    SignableTemplate,
    Signature,
    StaffUser,
    TemplateVersion,
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
