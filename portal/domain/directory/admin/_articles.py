"""Community articles written by agency staff."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.accounts.staff import require
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.directory.admin._spotlight import _spotlight_changed
from portal.domain.models import (
    CommunityArticle,
)

# --- community articles ------------------------------------------------------------------------


def articles_for(actor) -> list[CommunityArticle]:
    require(actor, Capability.MANAGE_DIRECTORY)
    return list(
        dbs().scalars(
            select(CommunityArticle)
            .where(CommunityArticle.agency_id == actor.agency_id)
            .order_by(CommunityArticle.created_at.desc())
        )
    )


def article_for_staff(actor, public_id) -> CommunityArticle:
    require(actor, Capability.MANAGE_DIRECTORY)
    article = dbs().scalar(
        select(CommunityArticle).where(
            CommunityArticle.public_id == parse_uuid(public_id),
            CommunityArticle.agency_id == actor.agency_id,
        )
    )
    if article is None:
        raise NotFound(("community_article", str(public_id)[:64]))
    return article


def save_article(
    actor,
    article: CommunityArticle | None,
    *,
    title: str,
    body: str,
    link: str,
    language: str,
    published: bool,
    ends_on: date | None,
) -> CommunityArticle:
    require(actor, Capability.MANAGE_DIRECTORY)
    errors = []
    try:
        title = clean_text(title, field="title", max_length=120, message=_l("Write a title."))
    except DomainError as refusal:
        errors.append(refusal)
    try:
        body = clean_text(body, field="body", max_length=1000, message=_l("Write a few sentences."))
    except DomainError as refusal:
        errors.append(refusal)
    link = (link or "").strip()
    if link and not re.fullmatch(r"https?://\S{1,1990}", link):
        errors.append(DomainError(_l("Enter a web address starting with https://"), field="link"))
    if language not in ("", "en", "es"):
        errors.append(DomainError(_l("Choose a language."), field="language"))
    if ends_on is not None and ends_on < actor.agency.today():
        errors.append(DomainError(_l("Choose a date from today on."), field="ends_on"))
    if errors:
        raise DomainError.all_of(errors)
    created = article is None
    if article is None:
        article = CommunityArticle(agency_id=actor.agency_id, title=title, body=body)
        dbs().add(article)
    elif article.agency_id != actor.agency_id:
        raise NotFound(("community_article", str(article.public_id)))
    article.title, article.body, article.link = title, body, link or None
    article.language = language or None
    article.published, article.ends_on = published, ends_on
    dbs().flush()
    _spotlight_changed()
    audit.record(
        "community_article.created" if created else "community_article.changed",
        article,
        details={"published": published},
    )
    return article
