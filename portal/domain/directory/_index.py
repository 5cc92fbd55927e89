"""The search index, rebuilt per directory: each service's document, categories and opening
spans."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from sqlalchemy import (
    Table,
    delete,
    select,
    text,
)

from portal.domain.core.session import after_commit, dbs
from portal.domain.core.statuses import ServiceStatus
from portal.domain.directory import opening_hours
from portal.domain.directory._search import forget_searches
from portal.domain.directory._text import _postgres, _summary, categories_of, fold, language_code
from portal.domain.models import (
    Directory,
    DirectoryHours,
    DirectorySearch,
    HsdsAddress,
    HsdsAttribute,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
    HsdsTaxonomyTerm,
)

# --- the index --------------------------------------------------------------------------------


def reindex(directory: Directory) -> int:
    """Rebuild the search rows and opening spans of the directory's services. Returns how many
    services are searchable (active ones)."""
    after_commit(forget_searches)  # every change of directory data comes through here
    dbs().flush()
    _fts_delete(directory)
    dbs().execute(delete(DirectoryHours).where(DirectoryHours.directory_id == directory.id))
    dbs().execute(delete(DirectorySearch).where(DirectorySearch.directory_id == directory.id))
    services = list(
        dbs().scalars(
            select(HsdsService).where(
                HsdsService.directory_id == directory.id, HsdsService.status == ServiceStatus.ACTIVE
            )
        )
    )
    if not services:
        return 0
    known = _known(directory.id)
    rows, hours, fts = [], [], []
    for service in services:
        row, spans = _indexed(service, known, directory.id)
        rows.append(row)
        hours += spans
        fts.append({"service_id": str(service.id), "document": row["document"]})
    dbs().execute(cast(Table, DirectorySearch.__table__).insert(), rows)
    if hours:
        dbs().execute(cast(Table, DirectoryHours.__table__).insert(), hours)
    _fts_insert(directory, fts)
    return len(rows)


@dataclass
class _Known:
    """The directory's rows a service's search row draws on, read once, by owner id."""

    organizations: dict
    links: dict
    locations: dict
    cities: dict
    terms: dict
    languages: dict
    language_words: dict
    schedules: dict


def _known(did: int) -> _Known:
    organizations = {
        o.id: o
        for o in dbs().scalars(select(HsdsOrganization).where(HsdsOrganization.directory_id == did))
    }
    links = defaultdict(list)  # service -> [SAL]
    for link in dbs().scalars(
        select(HsdsServiceAtLocation).where(HsdsServiceAtLocation.directory_id == did)
    ):
        links[link.service_id].append(link)
    locations = {
        loc.id: loc
        for loc in dbs().scalars(select(HsdsLocation).where(HsdsLocation.directory_id == did))
    }
    cities: defaultdict[uuid.UUID | None, list[str]] = defaultdict(list)
    for address in dbs().scalars(
        select(HsdsAddress).where(
            HsdsAddress.directory_id == did, HsdsAddress.location_id.is_not(None)
        )
    ):
        cities[address.location_id] += [address.city or "", address.postal_code or ""]
    terms = defaultdict(list)
    for link_id, name in dbs().execute(
        select(HsdsAttribute.link_id, HsdsTaxonomyTerm.name)
        .join(HsdsTaxonomyTerm, HsdsTaxonomyTerm.id == HsdsAttribute.taxonomy_term_id)
        .where(HsdsAttribute.directory_id == did, HsdsAttribute.link_entity == "service")
    ):
        terms[link_id].append(name)
    languages, language_words = _languages(did)
    return _Known(
        organizations=organizations,
        links=links,
        locations=locations,
        cities=cities,
        terms=terms,
        languages=languages,
        language_words=language_words,
        schedules=_schedules(did),
    )


def _languages(did: int) -> tuple[dict, dict]:
    languages = defaultdict(set)
    language_words = defaultdict(set)
    for language in dbs().scalars(select(HsdsLanguage).where(HsdsLanguage.directory_id == did)):
        code = language_code(language.code, language.name)
        for owner in (language.service_id, language.location_id):
            if owner is not None and code:
                languages[owner].add(code)
            if owner is not None and language.name:
                language_words[owner].add(language.name)
    return languages, language_words


def _schedules(did: int) -> dict:
    schedules = defaultdict(list)  # (level, owner id) -> schedules
    for schedule in dbs().scalars(select(HsdsSchedule).where(HsdsSchedule.directory_id == did)):
        owner = schedule.service_at_location_id or schedule.service_id or schedule.location_id
        if schedule.service_at_location_id:
            schedules[("sal", owner)].append(schedule)
        elif schedule.service_id:
            schedules[("service", owner)].append(schedule)
        else:
            schedules[("location", owner)].append(schedule)
    return schedules


def _indexed(service: HsdsService, known: _Known, did: int) -> tuple[dict, list[dict]]:
    """A service's search row and its opening spans at each of its places."""
    organization = known.organizations.get(service.organization_id)
    words = [service.name, service.alternate_name, service.description]
    words += [service.eligibility_description, service.interpretation_services]
    if organization is not None and not organization.placeholder:
        words.append(organization.name)
    words += known.terms.get(service.id, [])
    spoken = set(known.languages.get(service.id, set()))
    located = False
    hours: list[dict] = []
    for link in known.links.get(service.id, []):
        location = known.locations.get(link.location_id)
        if location is None:
            continue
        words += [location.name, *known.cities.get(location.id, [])]
        spoken |= known.languages.get(location.id, set())
        words += list(known.language_words.get(location.id, []))
        located = located or location.latitude is not None
        effective = (
            known.schedules.get(("sal", link.id))
            or known.schedules.get(("service", service.id))
            or known.schedules.get(("location", location.id))
            or []
        )
        hours += _spans(service.id, location.id, did, effective)
    if not known.links.get(service.id):
        hours += _spans(service.id, None, did, known.schedules.get(("service", service.id), []))
    words += list(known.language_words.get(service.id, []))
    document = fold(" ".join(w for w in words if w))
    row = {
        "service_id": service.id,
        "directory_id": did,
        "name": service.name[:500],
        "summary": _summary(service),
        "document": document,
        "languages": " " + " ".join(sorted(spoken)) + " " if spoken else "",
        "featured": service.featured,
        "located": located,
        "categories": categories_of(document),
    }
    return row, hours


def _spans(service_id, location_id, directory_id, schedules) -> list[dict]:
    out = []
    for schedule in schedules:
        for span in opening_hours.spans_for(schedule):
            out.append(
                {
                    "service_id": service_id,
                    "location_id": location_id,
                    "directory_id": directory_id,
                    "weekday": span.weekday,
                    "opens": span.opens,
                    "closes": span.closes,
                    "nth": span.nth,
                    "spill": span.spill,
                    "valid_from": span.valid_from,
                    "valid_to": span.valid_to,
                }
            )
    return out


def _fts_delete(directory: Directory) -> None:
    """SQLite: the directory's rows leave the FTS5 table (matched by the 32-hex-digit form in
    which SQLite stores the UUIDs); PostgreSQL's tsvector goes with its directory_search row."""
    if _postgres():
        return
    dbs().execute(
        text(
            "DELETE FROM directory_fts WHERE service_id IN "
            "(SELECT service_id FROM directory_search WHERE directory_id = :d)"
        ).bindparams(d=directory.id)
    )


def _fts_insert(directory: Directory, rows: list[dict]) -> None:
    if _postgres():
        dbs().execute(
            text(
                "UPDATE directory_search SET document_tsv = to_tsvector('simple', document) "
                "WHERE directory_id = :d"
            ).bindparams(d=directory.id)
        )
        return
    dbs().execute(
        text("INSERT INTO directory_fts (service_id, document) VALUES (:service_id, :document)"),
        [{"service_id": uuid.UUID(r["service_id"]).hex, "document": r["document"]} for r in rows],
    )
