"""Issue 9: importing Open Referral HSDS into the resource directory: HSDS 3 CSV datapackages
and JSON shapes, legacy HSDS 1.1 feeds, references checked, idempotent upserts, a report."""

import csv
import io
import json
import shutil
import uuid
import zipfile
from collections import defaultdict
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from portal.domain import directory as search
from portal.domain.directory import importer as di
from portal.domain.directory.importer import _sources as di_sources  # where the limit is read
from portal.domain.models import (
    AuditEvent,
    HsdsAddress,
    HsdsAttribute,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
)
from tests.support import shared_path

ILAO = ("data", "hsds-real", "ilao-hsds")
V30 = ("data", "hsds", "v3.0")
V31 = ("data", "hsds", "3.1-dev")


def count(database, model, directory=None):
    query = select(func.count()).select_from(model)
    if directory is not None:
        query = query.where(model.directory_id == directory.id)
    return database.session.scalar(query)


def run_import(app, database, agency, source, kind=None):
    with app.test_request_context():
        directory = di.directory_for(agency)
        report = di.import_tables(directory, di.read_source(source, kind))
        database.session.commit()
    return directory, report


def test_the_real_legacy_directory_imports_every_service_with_its_schedules(
    app, database, agency_a
):
    source = shared_path(*ILAO)
    directory, report = run_import(app, database, agency_a, source)
    assert report.legacy
    services = report.tables["service"]
    # 430 rows: 429 services and one row that is empty but for an organization id.
    assert services.inserted == 429
    assert dict(services.skipped) == {"name is missing": 1}
    assert count(database, HsdsService, directory) == 429
    assert count(database, HsdsLocation, directory) == 520
    assert count(database, HsdsSchedule, directory) == 2492  # every regular schedule kept
    assert count(database, HsdsAddress, directory) == 33  # postal addresses of organizations
    assert dict(report.tables["phone"].skipped) == {"number is missing": 19}
    # 33 organizations in the feed, 280 more named by its rows: stand-ins keep their services.
    assert count(database, HsdsOrganization, directory) == 33 + 280
    stand_ins = database.session.scalar(
        select(func.count()).select_from(HsdsOrganization).where(HsdsOrganization.placeholder)
    )
    assert stand_ins == 280
    # No coordinates in the feed: none are made up.
    assert (
        database.session.scalar(
            select(func.count()).select_from(HsdsLocation).where(HsdsLocation.latitude.is_not(None))
        )
        == 0
    )
    # Every service is offered somewhere (its organization's locations).
    unlinked = database.session.scalar(
        select(func.count())
        .select_from(HsdsService)
        .where(
            ~select(HsdsServiceAtLocation.id)
            .where(HsdsServiceAtLocation.service_id == HsdsService.id)
            .exists()
        )
    )
    assert unlinked == 0
    # Integer ids became stable uuid5 ids; the library's Sunday hours are kept.
    library = uuid.uuid5(di.LEGACY_NAMESPACE, f"{directory.public_id}/location/135831")
    sunday = database.session.scalar(
        select(HsdsSchedule).where(HsdsSchedule.location_id == library, HsdsSchedule.byday == "SU")
    )
    assert (sunday.freq, sunday.opens_at, sunday.closes_at) == ("WEEKLY", time(11), time(20))
    assert database.session.get(HsdsLocation, library).name == "Arlington Heights Memorial Library"

    # Idempotent: the same feed again changes nothing.
    _directory, again = run_import(app, database, agency_a, source)
    for table, result in again.tables.items():
        assert result.inserted == result.updated == 0, table
    assert count(database, HsdsService, directory) == 429
    assert (
        count(database, HsdsServiceAtLocation, directory)
        == report.tables["service_at_location"].inserted
    )


HARBOR = "6e4a4d4e-2a0c-4b66-9a7e-0f1e2d3c4b5b"
EARLIER = {  # service id: (name, its place), one organization with four places
    "7d1c3b2a-0000-4000-8000-000000000101": ("Weekday food pantry", "Pantry hall"),
    "7d1c3b2a-0000-4000-8000-000000000102": ("Night shelter", "Shelter house"),
    "7d1c3b2a-0000-4000-8000-000000000103": ("Health clinic", "Clinic rooms"),
    "7d1c3b2a-0000-4000-8000-000000000104": ("Job center", "Job center office"),
}


def write_earlier_directory(folder):
    """A directory that has services before the ILAO feed comes: Harbor's four services, each
    at its own place, and two of the library organization's (ILAO 91676), each at one place
    stated by a service_at_location: the feed's own library (135836 at 135831, the ids the
    feed uses) and an outreach desk the feed does not have."""
    folder.mkdir()
    rows = {
        "organizations": [["id", "name"], [HARBOR, "Harbor Services"], ["91676", "Library"]],
        "services": [["id", "organization_id", "name", "status"]],
        "locations": [["id", "organization_id", "name"]],
        "addresses": [["id", "location_id", "address_1", "city"]],
        "service_at_location": [["id", "service_id", "location_id"]],
    }
    for n, (service, (name, place)) in enumerate(EARLIER.items(), start=1):
        location = f"9d1c3b2a-0000-4000-8000-{n:012d}"
        rows["services"].append([service, HARBOR, name, "active"])
        rows["locations"].append([location, HARBOR, place])
        rows["addresses"].append([f"ad1c3b2a-0000-4000-8000-{n:012d}", location, f"{n} Harbor St"])
        rows["service_at_location"].append([f"8d1c3b2a-0000-4000-8000-{n:012d}", service, location])
    rows["services"] += [
        ["135836", "91676", "Free legal information and forms in Cook County", "active"],
        ["outreach-1", "91676", "Library outreach", "active"],
    ]
    rows["locations"] += [
        ["135831", "91676", "Arlington Heights Memorial Library"],
        ["desk-1", "91676", "Library outreach desk"],
    ]
    rows["service_at_location"] += [
        ["earlier-1", "135836", "135831"],
        ["earlier-2", "outreach-1", "desk-1"],
    ]
    for name, table in rows.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(table)


def places(database, directory) -> dict[uuid.UUID, list[uuid.UUID]]:
    """service -> the locations it is offered at, one entry per link (a pair linked twice
    shows twice)."""
    found = defaultdict(list)
    for service_id, location_id in database.session.execute(
        select(HsdsServiceAtLocation.service_id, HsdsServiceAtLocation.location_id).where(
            HsdsServiceAtLocation.directory_id == directory.id
        )
    ):
        found[service_id].append(location_id)
    return {service: sorted(locations) for service, locations in found.items()}


def test_a_feed_without_service_at_location_links_only_what_it_brings(
    app, database, agency_a, tmp_path
):
    """Issue 17: the ILAO feed (no service_at_location) imported into a directory that has
    services: each earlier service keeps exactly its places, the feed's services are offered
    only at the places the feed brings, and no service is linked twice to one place."""
    source = shared_path(*ILAO)
    write_earlier_directory(tmp_path / "earlier")
    directory, _report = run_import(app, database, agency_a, tmp_path / "earlier")
    before = places(database, directory)
    assert len(before) == len(EARLIER) + 2
    assert all(len(locations) == 1 for locations in before.values())

    _directory, report = run_import(app, database, agency_a, source)
    assert report.legacy and report.tables["service_at_location"].inserted > 0
    after = places(database, directory)
    for service, locations in before.items():
        assert after[service] == locations, service  # exactly its places, none twice
    for service, locations in after.items():
        assert len(set(locations)) == len(locations), service  # never a pair twice

    # The feed's services of the library organization: at the library's places in the feed,
    # never at the outreach desk the feed does not have.
    def legacy(table, raw):
        return uuid.uuid5(di.LEGACY_NAMESPACE, f"{directory.public_id}/{table}/{raw}")

    desk = legacy("location", "desk-1")
    library_places = set(
        database.session.scalars(
            select(HsdsLocation.id).where(
                HsdsLocation.organization_id == legacy("organization", "91676"),
                HsdsLocation.id != desk,
            )
        )
    )
    assert len(library_places) > 1
    assert set(after[legacy("service", "129071")]) == library_places
    assert [s for s, locations in after.items() if desk in locations] == [
        legacy("service", "outreach-1")
    ]
    # "pantry" finds the pantry, and only the pantry.
    with app.test_request_context():
        found = search.search(search.Query(text="pantry"), datetime.now(UTC))
    assert [r.name for r in found.results] == ["Weekday food pantry"]

    # The same feed again links nothing more.
    _directory, again = run_import(app, database, agency_a, source)
    assert again.tables["service_at_location"].inserted == 0
    assert places(database, directory) == after


@pytest.mark.parametrize("version", [V30, V31])
def test_an_hsds3_datapackage_checks_every_reference(app, database, agency_a, version):
    _directory, report = run_import(app, database, agency_a, shared_path(*version, "csv"))
    assert not report.legacy
    for table in ("organization", "service", "location", "service_at_location", "address"):
        assert report.tables[table].inserted == 1, table
    for table in ("phone", "schedule", "language", "taxonomy", "taxonomy_term"):
        assert report.tables[table].inserted == 1, table
    # The example's attribute names no entity the portal knows: skipped, with the reason.
    assert dict(report.tables["attribute"].skipped) == {
        "link_entity must be service, organization, location or service_at_location": 1
    }
    warnings = "\n".join(report.warnings)
    assert "location.organization_id named an organization that does not exist: cleared" in (
        warnings
    )
    assert "table contacts is not kept by the portal" in warnings
    assert "location: coordinates out of range were left empty" in warnings  # 100, 101
    location = database.session.scalar(select(HsdsLocation))
    assert location.organization_id is None and location.latitude is None
    phone = database.session.scalar(select(HsdsPhone))
    assert phone.number == "+44 1234 234567"  # the doubled CSV quotes are gone
    service = database.session.scalar(select(HsdsService))
    assert service.name == "Community Counselling" and service.minimum_age == 12

    _directory, again = run_import(app, database, agency_a, shared_path(*version, "csv"))
    assert all(r.inserted == r.updated == 0 for r in again.tables.values())


def test_the_json_shapes_import_like_the_tables(app, database, agency_a, agency_b):
    _directory, _report = run_import(
        app, database, agency_a, shared_path(*V30, "json", "service_full.json")
    )
    service = database.session.scalar(select(HsdsService))
    assert service.name == "Community Counselling"
    assert service.organization_id is not None  # the nested organization
    assert count(database, HsdsServiceAtLocation) == 1
    assert count(database, HsdsSchedule) >= 1 and count(database, HsdsPhone) >= 1
    _directory, again = run_import(
        app, database, agency_a, shared_path(*V30, "json", "service_full.json")
    )
    assert all(r.inserted == r.updated == 0 for r in again.tables.values())
    # The same example in tabular.json lands on the same rows (the same HSDS ids).
    _directory, tabular = run_import(
        app, database, agency_a, shared_path(*V30, "json", "tabular.json")
    )
    assert tabular.tables["service"].inserted == 0
    assert count(database, HsdsService) == 1
    # Another agency cannot take those rows over by importing the same ids.
    other, foreign = run_import(
        app, database, agency_b, shared_path(*V30, "json", "service_full.json")
    )
    assert foreign.tables["service"].skipped == {"the id is in another agency's directory": 1}
    assert count(database, HsdsService) == 1
    for model in (HsdsService, HsdsPhone, HsdsSchedule, HsdsServiceAtLocation, HsdsLocation):
        assert count(database, model, other) == 0, model  # nothing points into agency A's


def test_unknown_tables_columns_and_bad_rows_are_reported(app, database, agency_a, tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    org = "6e4a4d4e-2a0c-4b66-9a7e-0f1e2d3c4b5a"
    (folder / "organizations.csv").write_text(
        f"id,name,description,favourite_colour\n{org},Harbor Food Bank,Food,green\n"
    )
    (folder / "services.csv").write_text(
        "id,organization_id,name,status,minimum_age\n"
        f"7d1c3b2a-0000-4000-8000-000000000001,{org},Hot meals,active,eighteen\n"
        f"7d1c3b2a-0000-4000-8000-000000000002,{org},,active,\n"
        f"7d1c3b2a-0000-4000-8000-000000000003,{org},{'x' * 600},active,\n"
    )
    (folder / "service_at_location.csv").write_text(
        "id,service_id,location_id\n"
        "8d1c3b2a-0000-4000-8000-000000000001,7d1c3b2a-0000-4000-8000-000000000009,"
        "9d1c3b2a-0000-4000-8000-000000000001\n"
    )
    (folder / "wishes.csv").write_text("id,wish\n1,sunshine\n")
    _directory, report = run_import(app, database, agency_a, folder)
    assert "unknown table wishes was ignored" in report.warnings
    assert "column organization.favourite_colour is not kept by the portal" in report.warnings
    assert "service.minimum_age: a value that is not a number was left empty" in report.warnings
    services = report.tables["service"]
    assert services.inserted == 1
    assert services.examples == [(3, "name is missing"), (4, "name is longer than 500 characters")]
    assert dict(report.tables["service_at_location"].skipped) == {
        "service_id names a service that is not in this import or the directory": 1
    }
    lines = "\n".join(report.lines())
    assert "service: 1 imported (1 new, 0 changed, 0 unchanged), 2 skipped" in lines

    # A changed value is an update, the rest unchanged.
    (folder / "services.csv").write_text(
        "id,organization_id,name,status\n"
        f"7d1c3b2a-0000-4000-8000-000000000001,{org},Hot meals every day,active\n"
    )
    _directory, again = run_import(app, database, agency_a, folder)
    assert (again.tables["service"].updated, again.tables["organization"].unchanged) == (1, 1)
    event = database.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "directory.imported")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.details["tables"]["service"]["updated"] == 1


def test_zipped_datapackages_and_refusals(app, database, agency_a, tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in shared_path(*V30, "csv").glob("*.csv"):
            archive.write(path, f"hsds/{path.name}")  # a folder inside the zip is fine
    archive_path = tmp_path / "package.zip"
    archive_path.write_bytes(buffer.getvalue())
    _directory, report = run_import(app, database, agency_a, archive_path)
    assert report.tables["service"].inserted == 1

    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(di.ImportRefused):
        di.read_source(tmp_path / "not.zip")
    monkeypatch.setattr(di_sources, "MAX_MEMBER_BYTES", 100)  # a member bigger than the limit
    with pytest.raises(di.ImportRefused, match="larger than the limit"):
        di.read_source(archive_path)
    (tmp_path / "list.json").write_text('{"contents": [{"hello": "world"}]}')
    with pytest.raises(di.ImportRefused):
        di.read_source(tmp_path / "list.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(di.ImportRefused):
        di.read_source(tmp_path / "empty")


def test_the_import_command(app, database, agency_a, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["import-directory", str(shared_path(*ILAO)), "--agency", agency_a.name]
    )
    assert result.exit_code == 0, result.output
    assert "service: 429 imported (429 new, 0 changed, 0 unchanged), 1 skipped" in result.output
    assert result.output.strip().endswith("Imported. (HSDS 1.1 feed)")
    assert count(database, HsdsService) == 429
    unknown = runner.invoke(
        args=["import-directory", str(shared_path(*ILAO)), "--agency", "Nobody"]
    )
    assert unknown.exit_code != 0 and "No agency is called" in unknown.output
    broken = tmp_path / "broken"
    shutil.copytree(shared_path(*V30, "csv"), broken)
    for path in broken.glob("*.csv"):
        path.rename(path.with_suffix(".txt"))
    refused = runner.invoke(args=["import-directory", str(broken), "--agency", agency_a.name])
    assert refused.exit_code != 0 and "Nothing was imported" in refused.output
    assert count(database, HsdsAttribute) == 0


@pytest.mark.parametrize("version", [V30, V31])
@pytest.mark.parametrize(
    "name", ["service_full.json", "organization_full.json", "service_at_location_full.json"]
)
def test_every_full_json_shape_imports(app, database, agency_a, version, name):
    _directory, report = run_import(app, database, agency_a, shared_path(*version, "json", name))
    assert report.tables["service"].inserted == 1
    assert report.tables["location"].inserted >= 1
    _directory, again = run_import(app, database, agency_a, shared_path(*version, "json", name))
    assert all(r.inserted == r.updated == 0 for r in again.tables.values())


def test_awkward_input_is_refused_or_reported_never_a_crash(app, database, agency_a, tmp_path):
    legacy = {
        "organization": [{"id": "7", "name": "Old Org", "year_incorporated": "1e20"}],
        "postal_address": [{"id": "1", "organization_id": "7", "address_1": "PO Box 9"}],
        "physical_address": [{"id": "1", "organization_id": "7", "address_1": "12 Main St"}],
        "regular_schedule": [{"location_id": "x", "weekday": "Funday"}],
    }
    with app.test_request_context():
        report = di.import_tables(di.directory_for(agency_a), legacy)
        database.session.commit()
    # Postal 1 and physical 1 are two addresses, not one.
    assert sorted(a.address_1 for a in database.session.scalars(select(HsdsAddress))) == [
        "12 Main St",
        "PO Box 9",
    ]
    assert "organization.year_incorporated: a value that is out of range was left empty" in (
        report.warnings
    )
    assert "a regular schedule without a readable weekday was left out" in report.warnings

    nested: dict = {"id": "o-end", "name": "End", "website": "https://example.org"}
    for n in range(20):  # organization > service > organization > ... 40 levels
        nested = {
            "id": f"o-{n}",
            "name": "Org",
            "website": "https://example.org",
            "services": [{"id": f"s-{n}", "name": "S", "status": "active", "organization": nested}],
        }
    with pytest.raises(di.ImportRefused, match="nests too deeply"):
        di.read_json(json.dumps(nested))
    with pytest.raises(di.ImportRefused):
        di.read_json("[" * 100_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(di.MAX_MEMBERS + 1):
            archive.writestr(f"t{n}.csv", "id\n1\n")
    with pytest.raises(di.ImportRefused, match="more than"):
        di.read_zip(buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("services.csv", b"\xff\xfe not text")
        archive.writestr("unknown_things.csv", "id\n1\n")
    with pytest.raises(di.ImportRefused, match="not UTF-8"):
        di.read_zip(buffer.getvalue())


def test_columns_a_source_does_not_have_are_left_alone(app, database, agency_a, tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    sid = "7d1c3b2a-0000-4000-8000-00000000000a"
    (folder / "services.csv").write_text(
        f"id,name,description,status\n{sid},Pantry,Groceries on Tuesdays,active\n"
    )
    run_import(app, database, agency_a, folder)
    service = database.session.get(HsdsService, uuid.UUID(sid))
    service.status = "inactive"  # hidden by an administrator
    database.session.commit()
    (folder / "services.csv").write_text(f"id,name\n{sid},Food pantry\n")
    _directory, report = run_import(app, database, agency_a, folder)
    assert report.tables["service"].updated == 1
    database.session.expire_all()
    service = database.session.get(HsdsService, uuid.UUID(sid))
    assert (service.name, service.description, service.status) == (
        "Food pantry",
        "Groceries on Tuesdays",
        "inactive",
    )
