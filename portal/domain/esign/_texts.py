"""The texts people sign: the shipped defaults, blanks filled per agency, Markdown to safe
HTML, the version shown in a language."""

from __future__ import annotations

import html
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup
from sqlalchemy import select

from portal.domain.core import audit, sanitiser
from portal.domain.core.session import dbs, get_or_create
from portal.domain.models import (
    Agency,
    SignableTemplate,
    TemplateVersion,
)

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
