"""What HTML the portal lets through, in one place: people's text (messages) and the documents
staff publish (Markdown for e-signature) each get an allowlist of tags, attributes and link
schemes, applied by bleach after the text was made into HTML.

bleach's Cleaner keeps parser state between calls and is not thread-safe (its own docstring),
so each thread (the threaded development server, a threaded WSGI server) has its own per
policy."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import bleach

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


@dataclass(frozen=True)
class Policy:
    name: str
    tags: frozenset[str]
    attributes: dict[str, list[str]]
    strip: bool  # drop a tag outside the list (True) or show it as text (False)


# Messages: plain text made into paragraphs and links; anything else is shown as typed.
MESSAGE = Policy(
    "message",
    tags=frozenset({"p", "br", "a", "em", "strong"}),
    attributes={"a": ["href", "rel"]},
    strip=False,
)
# Documents to sign: what CommonMark makes of headings, lists and emphasis; raw HTML is never
# passed through by the Markdown renderer, and anything else that came out is dropped.
DOCUMENT = Policy(
    "document",
    tags=frozenset({"h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "br"}),
    attributes={"a": ["href"]},
    strip=True,
)

_per_thread = threading.local()


def clean(html: str, policy: Policy) -> str:
    """`html` with only what `policy` allows (links only to LINK_SCHEMES)."""
    cleaners = getattr(_per_thread, "cleaners", None)
    if cleaners is None:
        cleaners = _per_thread.cleaners = {}
    cleaner = cleaners.get(policy.name)
    if cleaner is None:
        cleaner = cleaners[policy.name] = bleach.sanitizer.Cleaner(
            tags=policy.tags,
            attributes=policy.attributes,
            protocols=LINK_SCHEMES,
            strip=policy.strip,
        )
    return cleaner.clean(html)


def _link_attributes(attrs, new=False):
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme not in LINK_SCHEMES:
        return None  # not a link we make: leave the text as text
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


def linkify(escaped_text: str) -> str:
    """Web and email addresses in already-escaped text made into links (nofollow, noopener,
    noreferrer); anything that is not one of LINK_SCHEMES stays text."""
    return bleach.linkify(escaped_text, callbacks=[_link_attributes], parse_email=True)
