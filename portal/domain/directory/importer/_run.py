"""An import: the agency's directory, each table's rows checked and upserted, links guessed."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict

from sqlalchemy import insert, select

from portal.domain import directory as search
from portal.domain.core import audit, clock
from portal.domain.core.session import dbs, get_or_create
from portal.domain.directory.importer._report import ImportRefused, ImportReport
from portal.domain.directory.importer._specs import (
    _BYDAY,
    ATTRIBUTE_ENTITIES,
    LEGACY_NAMESPACE,
    LEGACY_TABLES,
    NOT_KEPT,
    ORDER,
    SPECS,
)
from portal.domain.directory.importer._values import (
    _from_legacy,
    _max_lengths,
    _text,
    _uuid,
    _value,
)
from portal.domain.models import (
    Directory,
    HsdsLocation,
    HsdsOrganization,
    HsdsService,
    HsdsServiceAtLocation,
)

# --- the import ---------------------------------------------------------------------------------


def directory_for(agency, *, timezone: str | None = None) -> Directory:
    """The agency's directory, made on first use (its time zone: the agency's; one per agency,
    so two first uses at once make one)."""

    def make() -> Directory:
        directory = Directory(
            agency_id=agency.id, name=agency.name, timezone=timezone or agency.timezone
        )
        dbs().add(directory)
        dbs().flush()
        return directory

    return get_or_create(
        lambda: dbs().scalar(select(Directory).where(Directory.agency_id == agency.id)), make
    )


def import_tables(
    directory: Directory, tables: dict[str, list[dict]], *, actor=None
) -> ImportReport:
    """Upsert the tables into the directory; returns the report. One transaction: the caller
    commits (or rolls back to undo the whole import)."""
    report = ImportReport()
    tables = _kept_tables(tables, report)
    known: dict[str, set[uuid.UUID]] = {t: set() for t in SPECS}  # ids that will exist
    brought: dict[str, set[uuid.UUID]] = {t: set() for t in SPECS}  # ids this import upserts
    existing: dict[str, dict[uuid.UUID, object]] = {}
    for table in ORDER:
        model = SPECS[table].model
        existing[table] = {
            row.id: row
            for row in dbs().scalars(select(model).where(model.directory_id == directory.id))
        }
        known[table] |= set(existing[table])
    for table in ORDER:
        if tables.get(table):
            brought[table] |= _import_table(
                table, tables[table], directory, report, known, existing
            )
    if report.legacy and not tables.get("service_at_location"):
        _link_by_organization(directory, report, brought["service"], brought["location"])
    dbs().flush()

    report.searchable = search.reindex(directory)
    audit.record(
        "directory.imported",
        directory,
        actor=actor,
        details={"tables": report.summary(), "legacy": report.legacy},
    )
    return report


def _kept_tables(tables: dict[str, list[dict]], report: ImportReport) -> dict[str, list[dict]]:
    """The tables the portal keeps (HSDS 1.1 ones turned into HSDS 3); the others reported."""
    tables = dict(tables)
    report.legacy = bool(LEGACY_TABLES & set(tables))
    for name in sorted(set(tables)):
        if name in NOT_KEPT:
            report.warn(f"table {name} is not kept by the portal")
            tables.pop(name)
        elif name not in SPECS and name not in LEGACY_TABLES and name != "holiday_schedule":
            report.warn(f"unknown table {name} was ignored")
            tables.pop(name)
    if report.legacy:
        _from_legacy(tables, report)
    if not any(tables.get(t) for t in SPECS):
        raise ImportRefused("no HSDS tables found (organizations, services, locations…)")
    return tables


def _import_table(table, rows, directory, report, known, existing) -> set[uuid.UUID]:
    """One table's rows checked and upserted; returns the ids it brought."""
    spec = SPECS[table]
    result = report.tables[table]
    unknown = {c for row in rows[:1] for c in row} - set(spec.columns) - {"id"}
    for column in sorted(unknown):
        report.warn(f"column {table}.{column} is not kept by the portal")
    prepared = _prepared(table, rows, directory, report, known, existing)
    if report.legacy and table in ("location", "service"):
        _add_placeholders(prepared, directory, known, existing, report)
    merged: dict[uuid.UUID, tuple[int, dict]] = {}
    for number, values in prepared:
        reason = _check_refs(table, spec, values, known, report)
        if reason:
            result.skip(number, reason)
            known[table].discard(values["id"])
            continue
        if values["id"] in merged:  # nested JSON repeats an object: one row, fields merged
            first = merged[values["id"]][1]
            for column, value in values.items():
                if first.get(column) is None:
                    first[column] = value
            continue
        merged[values["id"]] = (number, values)
    inserts: list[dict] = []
    for values in (v for _n, v in merged.values()):
        _upsert(table, values, directory, existing, result, inserts)
    for start in range(0, len(inserts), 1000):  # new rows in bulk
        dbs().execute(insert(spec.model), inserts[start : start + 1000])
    dbs().flush()
    return set(merged)


def _prepared(table, rows, directory, report, known, existing) -> list[tuple[int, dict]]:
    """The rows whose values can be read, as (row number, values); never another agency's."""
    spec = SPECS[table]
    result = report.tables[table]
    lengths = _max_lengths(spec.model)
    prepared = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        values, reason = _prepare(table, spec, row, directory, report, lengths)
        if reason:
            result.skip(number, reason)
            continue
        prepared.append((number, values))
        known[table].add(values["id"])
    foreign = _foreign_ids(
        spec.model, [v["id"] for _n, v in prepared if v["id"] not in existing[table]], directory
    )
    if not foreign:
        return prepared
    kept = []  # never taken over, and nothing of this import may point at them
    for number, values in prepared:
        if values["id"] in foreign:
            result.skip(number, "the id is in another agency's directory")
            known[table].discard(values["id"])
        else:
            kept.append((number, values))
    return kept


def _prepare(table, spec, row, directory, report, lengths):
    """(values, skip reason)."""
    raw_id = _text(row.get("id"))
    if raw_id is None:
        content = json.dumps({k: v for k, v in sorted(row.items()) if v}, sort_keys=True)
        row_id = uuid.uuid5(LEGACY_NAMESPACE, f"{directory.public_id}/{table}/content/{content}")
    else:
        row_id = _uuid(raw_id, table=table, directory=directory)
    values = {"id": row_id}
    for column, kind in spec.columns.items():
        value, problem = _value(
            kind, row.get(column), column=column, table=table, directory=directory
        )
        if problem:
            if column in spec.required:
                return None, f"{column} is {problem}"
            report.warn(f"{table}.{column}: a value that is {problem} was left empty")
        if isinstance(value, str) and column in lengths and len(value) > lengths[column]:
            if column in spec.required:
                return None, f"{column} is longer than {lengths[column]} characters"
            report.warn(f"{table}.{column}: a value longer than {lengths[column]} was left empty")
            value = None
        values[column] = value
    for column in spec.required:
        if values.get(column) is None:
            return None, f"{column} is missing"
    normalize = _NORMALIZE.get(table)
    reason = normalize(values, row, directory, report) if normalize else None
    if reason:
        return None, reason
    # A column the source does not have leaves the stored value alone (an update) or takes
    # its default (a new row): a services.csv without "status" does not re-show hidden ones.
    kept = {"id", "link_id", "link_entity", "link_type"}
    return {k: v for k, v in values.items() if k in kept or k in row}, None


def _normal_location(values, row, directory, report) -> None:
    lat, lon = values.get("latitude"), values.get("longitude")
    if (lat is None) != (lon is None) or (
        lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
    ):
        report.warn("location: coordinates out of range were left empty")
        values["latitude"] = values["longitude"] = None
    values["location_type"] = (values.get("location_type") or "physical").lower()
    if values["location_type"] not in ("physical", "postal", "virtual"):
        values["location_type"] = "physical"


def _normal_service(values, row, directory, report) -> None:
    values["status"] = (values.get("status") or "active").lower()
    if values["status"] not in ("active", "inactive", "defunct", "temporarily closed"):
        report.warn(f"service.status: {values['status'][:40]!r} was read as active")
        values["status"] = "active"


def _normal_schedule(values, row, directory, report) -> None:
    byday = (values.get("byday") or "").replace(" ", "").upper() or None
    if byday and not _BYDAY.match(byday):
        report.warn("schedule.byday: an unreadable value was left empty")
        byday = None
    values["byday"] = byday
    values["freq"] = (values.get("freq") or "").upper() or None
    values["wkst"] = (values.get("wkst") or "").upper()[:2] or None


def _normal_attribute(values, row, directory, report) -> str | None:
    entity = (values.get("link_entity") or "").lower()
    if entity not in ATTRIBUTE_ENTITIES:
        return "link_entity must be service, organization, location or service_at_location"
    values["link_entity"] = entity
    values["link_type"] = values.get("link_type") or "category"
    link_id = _text(row.get("link_id"))
    if not link_id:
        return "link_id is missing"
    values["link_id"] = _uuid(link_id, table=entity, directory=directory)
    return None


def _normal_address(values, row, directory, report) -> None:
    values["address_type"] = (values.get("address_type") or "physical").lower()
    country = (values.get("country") or "").upper()
    values["country"] = country if re.fullmatch(r"[A-Z]{2}", country) else None


# Each table's own rules, after the columns are read: (values, row, directory, report) ->
# a reason to skip the row, or None.
_NORMALIZE = {
    "location": _normal_location,
    "service": _normal_service,
    "schedule": _normal_schedule,
    "attribute": _normal_attribute,
    "address": _normal_address,
}


def _check_refs(table, spec, values, known, report) -> str | None:
    for column, target in spec.refs.items():
        ref = values.get(column)
        if ref is None:
            if column in spec.required_refs:
                return f"{column} is missing"
            continue
        if ref in known[target]:
            continue
        if column in spec.required_refs:
            return f"{column} names {_a(target)} that is not in this import or the directory"
        report.warn(f"{table}.{column} named {_a(target)} that does not exist: cleared")
        values[column] = None
    if spec.one_of and all(values.get(c) is None for c in spec.one_of):
        owners = " or ".join(c.removesuffix("_id") for c in spec.one_of)
        return f"belongs to no {owners} the portal keeps"
    if table == "attribute" and values["link_id"] not in known[values["link_entity"]]:
        return (
            f"link_id names {_a(values['link_entity'])} that is not in this import or the directory"
        )
    return None


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _add_placeholders(prepared, directory, known, existing, report) -> None:
    """A legacy feed's rows name organizations it does not include: one stand-in each, so
    the services stay (clients see the service and its locations, not the stand-in)."""
    made = 0
    for _number, values in prepared:
        ref = values.get("organization_id")
        if ref is None or ref in known["organization"]:
            continue
        if dbs().get(HsdsOrganization, ref) is not None:
            continue  # another directory's: the reference is cleared by the check
        dbs().add(
            HsdsOrganization(
                id=ref,
                directory_id=directory.id,
                name="Organization not in the feed",
                placeholder=True,
            )
        )
        known["organization"].add(ref)
        existing["organization"][ref] = {"id": ref}
        made += 1
    if made:
        dbs().flush()
        report.tables["organization"].inserted += made
        report.warn(f"{made} organizations named but not included were added as stand-ins")


def _foreign_ids(model, ids: list[uuid.UUID], directory: Directory) -> set[uuid.UUID]:
    """Which of these ids are rows of another directory."""
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), 1000):
        found |= set(
            dbs().scalars(
                select(model.id).where(
                    model.id.in_(ids[start : start + 1000]), model.directory_id != directory.id
                )
            )
        )
    return found


INSERT_DEFAULTS = {
    "service": {"status": "active"},
    "location": {"location_type": "physical"},
    "address": {"address_type": "physical"},
}


def _upsert(table, values, directory, existing, result, inserts: list[dict]) -> None:
    row = existing[table].get(values["id"])
    if row is None:
        inserts.append(
            {
                **dict.fromkeys(SPECS[table].columns),
                **INSERT_DEFAULTS.get(table, {}),
                "directory_id": directory.id,
                "updated_at": clock.now(),
                **values,
            }
        )
        existing[table][values["id"]] = values
        result.inserted += 1
        return
    if isinstance(row, dict):  # inserted earlier in this import
        result.unchanged += 1
        return
    changed = False
    for column, value in values.items():
        if column != "id" and getattr(row, column) != value:
            setattr(row, column, value)
            changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1


def _guessed_link(service_id: uuid.UUID, location_id: uuid.UUID) -> uuid.UUID:
    """The id of the link a feed without service_at_location makes (stable: an import of the
    same feed again finds it)."""
    return uuid.uuid5(LEGACY_NAMESPACE, f"{service_id}@{location_id}")


def _link_by_organization(
    directory: Directory,
    report: ImportReport,
    services: set[uuid.UUID],
    locations: set[uuid.UUID],
) -> None:
    """Legacy feeds without service_at_location: each service this import brings, at the
    locations of its organization this import brings. A service the import does not bring is
    never touched, nor one offered somewhere by a stated link (a feed's service_at_location or
    an administrator's place); one offered only by links guessed like these is guessed again
    (a place the feed adds later is added). A service is never linked twice to the same
    location, whatever the id of the link it has."""
    at_organization = defaultdict(list)
    for location_id, organization_id in dbs().execute(
        select(HsdsLocation.id, HsdsLocation.organization_id).where(
            HsdsLocation.directory_id == directory.id, HsdsLocation.organization_id.is_not(None)
        )
    ):
        if location_id in locations:
            at_organization[organization_id].append(location_id)
    linked: set[tuple[uuid.UUID, uuid.UUID]] = set()  # (service, location)
    stated: set[uuid.UUID] = set()  # services offered somewhere by a link not guessed here
    for link_id, service_id, location_id in dbs().execute(
        select(
            HsdsServiceAtLocation.id,
            HsdsServiceAtLocation.service_id,
            HsdsServiceAtLocation.location_id,
        ).where(HsdsServiceAtLocation.directory_id == directory.id)
    ):
        linked.add((service_id, location_id))
        if link_id != _guessed_link(service_id, location_id):
            stated.add(service_id)
    result = report.tables["service_at_location"]
    for service_id, organization_id in dbs().execute(
        select(HsdsService.id, HsdsService.organization_id).where(
            HsdsService.directory_id == directory.id
        )
    ):
        if service_id not in services or service_id in stated:
            continue
        for location_id in at_organization.get(organization_id, []):
            if (service_id, location_id) in linked:
                result.unchanged += 1
                continue
            dbs().add(
                HsdsServiceAtLocation(
                    id=_guessed_link(service_id, location_id),
                    directory_id=directory.id,
                    service_id=service_id,
                    location_id=location_id,
                )
            )
            linked.add((service_id, location_id))
            result.inserted += 1
    if result.inserted:
        report.warn(
            "the feed has no service_at_location: each service is offered at its "
            "organization's locations"
        )
