"""The home page's spotlight: featured services and articles, cached for a minute."""

from __future__ import annotations

import time as time_module
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, cast, literal, select, union_all

from portal.domain.core.session import after_commit, dbs
from portal.domain.core.statuses import ServiceStatus
from portal.domain.models import (
    CommunityArticle,
    Directory,
    HsdsService,
)

SPOTLIGHT_SECONDS = 60.0
_spotlights: dict[tuple, tuple[float, dict | None]] = {}


@dataclass(frozen=True)
class ShownArticle:
    title: str
    body: str
    link: str | None


@dataclass(frozen=True)
class ShownService:
    id: uuid.UUID
    name: str


def spotlight(agency, language: str, *, limit: int = 3) -> dict | None:
    """What the client's home page shows: the owning agency's published articles (in the
    reader's language or for everyone) that have not ended, and its featured services.

    The same for every client of the agency (public community information, nothing about a
    person), so each process keeps it for `SPOTLIGHT_SECONDS`: an administrator's change shows
    at once in the process that made it and within a minute everywhere else."""
    today = agency.today()
    key = (agency.public_id, language, today, limit)
    now = time_module.monotonic()
    cached = _spotlights.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    shown = _spotlight(agency, language, today, limit)
    if len(_spotlights) > 1000:
        _spotlights.clear()
    _spotlights[key] = (now + SPOTLIGHT_SECONDS, shown)
    return shown


def _spotlight(agency, language: str, today: date, limit: int) -> dict | None:
    """Articles and featured services in one statement (the home page's cold path)."""
    articles = (
        select(
            literal("article").label("kind"),
            CommunityArticle.title.label("title"),
            CommunityArticle.body.label("body"),
            CommunityArticle.link.label("link"),
            literal(None, String).label("service_id"),
            CommunityArticle.created_at.label("at"),
        )
        .where(
            CommunityArticle.agency_id == agency.id,
            CommunityArticle.published.is_(True),
            (CommunityArticle.language.is_(None)) | (CommunityArticle.language == language),
            (CommunityArticle.ends_on.is_(None)) | (CommunityArticle.ends_on >= today),
        )
        .order_by(CommunityArticle.created_at.desc())
        .limit(limit)
        .subquery()
    )
    featured = (
        select(
            literal("service").label("kind"),
            HsdsService.name.label("title"),
            literal(None, String).label("body"),
            literal(None, String).label("link"),
            cast(HsdsService.id, String).label("service_id"),
            literal(None, CommunityArticle.created_at.type).label("at"),
        )
        .join(Directory, Directory.id == HsdsService.directory_id)
        .where(
            Directory.agency_id == agency.id,
            HsdsService.featured.is_(True),
            HsdsService.status == ServiceStatus.ACTIVE,
        )
        .order_by(HsdsService.name)
        .limit(limit)
        .subquery()
    )
    rows = dbs().execute(union_all(select(articles), select(featured))).all()
    # A union keeps no order: newest articles first, services by name, as each part chose.
    newest_first = sorted((r for r in rows if r.kind == "article"), key=lambda r: r.at)[::-1]
    shown_articles = [ShownArticle(r.title, r.body, r.link) for r in newest_first]
    shown_services = [
        ShownService(uuid.UUID(str(r.service_id)), r.title)
        for r in sorted((r for r in rows if r.kind == "service"), key=lambda r: r.title)
    ]
    if not shown_articles and not shown_services:
        return None
    return {"articles": shown_articles, "featured": shown_services}


def forget_spotlights() -> None:
    _spotlights.clear()


def _spotlight_changed() -> None:
    """After an administrator's change commits, this process shows it at once."""
    after_commit(forget_spotlights)
