"""Issue 9: agency administrators keep their resource directory: HSDS uploads, services with
their main location and hours, featured services, community articles on clients' home page."""

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.domain.core import clock
from portal.domain.models import (
    CommunityArticle,
    HsdsSchedule,
    HsdsService,
)
from tests.support import shared_path

SERVICE = {
    "name": "Lakeside warming centre",
    "organization": "Lakeside Mutual Aid",
    "description": "A warm room, coffee and blankets. Pets welcome.",
    "status": "active",
    "featured": "y",
    "phone": "(312) 555-0199",
    "url": "https://lakeside.example.org",
    "languages": "en, es",
    "location_name": "Lakeside church hall",
    "address_1": "100 N Lake St",
    "city": "Chicago",
    "state": "IL",
    "postal_code": "60601",
    "latitude": "41.8858",
    "longitude": "-87.6181",
    "fr_opens": "20:00",
    "fr_closes": "08:00",
    "sa_opens": "9:00",
    "sa_closes": "5:00 pm",
}


def hsds_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in shared_path("data", "hsds", "v3.0", "csv").glob("*.csv"):
            archive.write(path, path.name)
    return buffer.getvalue()


def test_an_administrator_imports_an_hsds_package(agency_admin, case_manager, database):
    page = "/staff/directory/import"
    token = agency_admin.csrf_token(page)
    answer = agency_admin.post(
        page,
        data={"csrf_token": token, "file": (io.BytesIO(hsds_zip()), "hsds.zip")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "service: 1 imported (1 new, 0 changed, 0 unchanged), 0 skipped" in html
    assert database.session.scalar(select(func.count()).select_from(HsdsService)) == 1
    refused = agency_admin.post(
        page,
        data={"csrf_token": token, "file": (io.BytesIO(b"not a zip"), "hsds.zip")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "This file cannot be read as HSDS data" in refused.get_data(as_text=True)
    assert case_manager.get(page).status_code == 403
    assert case_manager.get("/staff/directory").status_code == 403


def test_a_service_added_by_hand_is_found_by_clients(app, agency_admin, me, database):
    added = agency_admin.form("/staff/directory/services/new", SERVICE)
    assert added.status_code == 303, added.get_data(as_text=True)[:2000]
    service = database.session.scalar(select(HsdsService))
    assert service.featured and service.organization_id is not None
    days = {s.byday for s in database.session.scalars(select(HsdsSchedule))}
    assert days == {"FR", "SA"}
    clock.freeze(datetime(2026, 11, 21, 7, 0, tzinfo=UTC))  # Saturday 01:00 in Chicago
    found = me.get("/resources", query_string={"q": "warming", "open_now": "y", "zip": "60601"})
    html = found.get_data(as_text=True)
    assert "Lakeside warming centre" in html and "Open now" in html  # Friday night's hours
    assert 'href="tel:3125550199"' in html
    home = me.get("/home").get_data(as_text=True)
    assert "Lakeside warming centre" in home  # featured on the spotlight panel

    page = f"/staff/directory/services/{service.id}"
    form = agency_admin.get(page).get_data(as_text=True)
    assert 'value="Lakeside church hall"' in form and 'value="20:00"' in form
    hidden = agency_admin.form(page, {**SERVICE, "status": "inactive", "featured": ""})
    assert hidden.status_code == 303
    gone = me.get("/resources", query_string={"q": "warming"}).get_data(as_text=True)
    assert "Lakeside warming centre" not in gone
    assert me.get(f"/resources/{service.id}").status_code == 404


def test_wrong_service_fields_are_refused_and_nothing_changes(agency_admin, database):
    refused = agency_admin.form(
        "/staff/directory/services/new",
        {
            **SERVICE,
            "name": "",
            "fr_opens": "25:00",
            "latitude": "41.9",
            "longitude": "",
            "languages": "english",
            "url": "javascript:alert(1)",
        },
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    for message in (
        "Enter the service&#39;s name.",
        "Enter a time like 9:00 or 17:30.",
        "Enter both latitude and longitude as numbers",
        "Use two-letter language codes",
        "Enter a web address starting with https://",
    ):
        assert message in html, message
    assert database.session.scalar(select(func.count()).select_from(HsdsService)) == 0


def test_only_the_agency_edits_its_services(agency_admin, other_agency_admin, database):
    agency_admin.form("/staff/directory/services/new", SERVICE)
    service = database.session.scalar(select(HsdsService))
    page = f"/staff/directory/services/{service.id}"
    assert other_agency_admin.get(page).status_code == 404
    taken = other_agency_admin.form(
        page, {**SERVICE, "name": "Taken over"}, token_from="/staff/directory"
    )
    assert taken.status_code == 404
    database.session.expire_all()
    assert database.session.get(HsdsService, service.id).name == SERVICE["name"]
    assert "Lakeside" not in other_agency_admin.get("/staff/directory").get_data(as_text=True)


def test_community_articles_fill_the_spotlight(app, agency_admin, me, database):
    def write(**values):
        base = {
            "title": "Warming centre open",
            "body": "Open every night below 32°F.",
            "language": "",
            "published": "y",
        }
        return agency_admin.form("/staff/directory/articles/new", {**base, **values})

    assert write().status_code == 303
    assert write(title="Solo en español", language="es").status_code == 303
    assert write(title="Draft news", published="").status_code == 303
    past = write(title="Old news", ends_day="1", ends_month="1", ends_year="2020")
    assert past.status_code == 400 and "Choose a date from today on." in past.get_data(as_text=True)
    bad_link = write(title="Link", link="javascript:alert(1)")
    assert bad_link.status_code == 400
    assert database.session.scalar(select(func.count()).select_from(CommunityArticle)) == 3
    home = me.get("/home").get_data(as_text=True)
    assert "In your community" in home and "Warming centre open" in home
    assert "Solo en español" not in home and "Draft news" not in home


@pytest.mark.requirement("R34")
def test_naughty_strings_in_the_directory_forms(agency_admin, naughty_strings_list, database):
    from tests.integration.test_blns_forms import batches

    fields = [
        "name",
        "organization",
        "description",
        "phone",
        "languages",
        "address_1",
        "latitude",
        "mo_opens",
        "mo_closes",
        "url",
    ]
    token = agency_admin.csrf_token("/staff/directory/services/new")
    for values in batches(naughty_strings_list, fields):
        answer = agency_admin.post(
            "/staff/directory/services/new",
            data={"csrf_token": token, "status": "active", **values},
        )
        assert answer.status_code in (303, 400), values
        assert "<script>alert(" not in answer.get_data(as_text=True)
    token = agency_admin.csrf_token("/staff/directory/articles/new")
    for values in batches(naughty_strings_list, ["title", "body", "link", "ends_day"]):
        answer = agency_admin.post(
            "/staff/directory/articles/new", data={"csrf_token": token, **values}
        )
        assert answer.status_code in (303, 400), values


@pytest.fixture(scope="module")
def naughty_strings_list():
    return json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))


def test_editing_an_imported_service_keeps_what_the_form_does_not_show(
    app, agency_admin, agency_a, database
):
    from portal.domain.directory import importer as di
    from portal.domain.models import HsdsLanguage, HsdsLocation

    tables = {
        "service": [
            {"id": "svc-1", "name": "Imported clinic", "status": "active"},
            {"id": "svc-2", "name": "Second service here", "status": "active"},
        ],
        "location": [
            {
                "id": "loc-1",
                "name": "Shared hall",
                "latitude": "41.885812",
                "longitude": "-87.618134",
            }
        ],
        "service_at_location": [
            {"id": "sal-1", "service_id": "svc-1", "location_id": "loc-1"},
            {"id": "sal-2", "service_id": "svc-2", "location_id": "loc-1"},
        ],
        "schedule": [
            {
                "id": "s-1",
                "service_at_location_id": "sal-1",
                "freq": "WEEKLY",
                "byday": "MO,TU,WE",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
            {
                "id": "s-2",
                "service_at_location_id": "sal-1",
                "freq": "MONTHLY",
                "byday": "1SA",
                "opens_at": "10:00",
                "closes_at": "12:00",
            },
        ],
        "language": [{"id": "l-1", "service_id": "svc-1", "name": "Polish", "code": ""}],
    }
    with app.test_request_context():
        di.import_tables(di.directory_for(agency_a), tables)
        database.session.commit()
    service = database.session.scalar(
        select(HsdsService).where(HsdsService.name == "Imported clinic")
    )
    page = f"/staff/directory/services/{service.id}"
    html = agency_admin.get(page).get_data(as_text=True)
    assert "imported hours this form cannot show" in html
    assert html.count('value="09:00"') == 3  # Monday to Wednesday, split into days
    # Post the form as shown, with only the description changed.
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    values = {
        i["name"]: i.get("value", "")
        for i in soup.select("form input")
        if i.get("name") and i.get("type") not in ("checkbox", "radio")
    }
    values.pop("csrf_token")
    values["status"] = "active"
    values["description"] = "Now with a nurse on Mondays."
    saved = agency_admin.form(page, values)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    database.session.expire_all()
    schedules = database.session.scalars(select(HsdsSchedule)).all()
    assert sorted(s.byday for s in schedules) == ["1SA", "MO,TU,WE"]  # untouched
    assert database.session.scalar(select(func.count()).select_from(HsdsLanguage)) == 1
    location = database.session.scalar(select(HsdsLocation))
    assert (location.name, location.latitude) == ("Shared hall", 41.885812)  # not rounded
    assert (
        database.session.get(HsdsService, service.id).description == "Now with a nurse on Mondays."
    )


def test_places_of_a_service_are_added_and_changed(
    app, agency_admin, other_agency_admin, me, database
):
    from portal.domain.models import HsdsLocation

    agency_admin.form("/staff/directory/services/new", SERVICE)
    service = database.session.scalar(select(HsdsService))
    page = f"/staff/directory/services/{service.id}"
    assert "Lakeside church hall" in agency_admin.get(page).get_data(as_text=True)
    added = agency_admin.form(
        f"{page}/places/new",
        {
            "location_name": "Northside annex",
            "address_1": "9 N Clark St",
            "city": "Chicago",
            "state": "IL",
            "postal_code": "60610",
            "latitude": "41.9000",
            "longitude": "-87.6300",
            "sa_opens": "10:00",
            "sa_closes": "16:00",
        },
    )
    assert added.status_code == 303
    database.session.expire_all()
    annex = database.session.scalar(
        select(HsdsLocation).where(HsdsLocation.name == "Northside annex")
    )
    place = f"{page}/places/{annex.id}"
    form = agency_admin.get(place).get_data(as_text=True)
    assert 'value="9 N Clark St"' in form and 'value="10:00"' in form
    wrong = agency_admin.form(place, {"location_name": "Annex", "sa_opens": "10:00"})
    assert wrong.status_code == 400 and "Enter both times, or neither." in wrong.get_data(
        as_text=True
    )
    changed = agency_admin.form(
        place, {"location_name": "North annex", "latitude": "41.9", "longitude": "-87.63"}
    )
    assert changed.status_code == 303
    database.session.expire_all()
    assert database.session.get(HsdsLocation, annex.id).name == "North annex"
    found = me.get("/resources", query_string={"q": "warming"}).get_data(as_text=True)
    assert "Lakeside warming centre" in found
    assert other_agency_admin.get(place).status_code == 404
    assert agency_admin.get(f"{page}/places/{me.record.public_id}").status_code == 404
    assert agency_admin.get(f"{page}/places/not-an-id").status_code == 404


def test_imported_places_edit_without_surprises(app, agency_admin, agency_a, me, database):
    """A service the feed calls temporarily closed, a place with a postal and a street
    address, hours until midnight: the place form saves, shows the street address, keeps
    "24:00", and an empty new place is refused."""
    from portal.domain.directory import importer as di
    from portal.domain.models import HsdsAddress, HsdsLocation

    tables = {
        "service": [{"id": "svc-9", "name": "Night café", "status": "temporarily closed"}],
        "location": [{"id": "loc-9", "name": "Corner hall"}],
        "service_at_location": [{"id": "sal-9", "service_id": "svc-9", "location_id": "loc-9"}],
        "address": [
            {
                "id": "a-post",
                "location_id": "loc-9",
                "address_1": "PO Box 9",
                "city": "Chicago",
                "address_type": "postal",
                "country": "US",
            },
            {
                "id": "a-street",
                "location_id": "loc-9",
                "address_1": "1  Main  St",
                "city": "Chicago",
                "address_type": "physical",
                "country": "CA",
            },
        ],
        "schedule": [
            {
                "id": "h-9",
                "service_at_location_id": "sal-9",
                "freq": "WEEKLY",
                "byday": "FR",
                "opens_at": "18:00",
                "closes_at": "24:00",
            }
        ],
    }
    with app.test_request_context():
        di.import_tables(di.directory_for(agency_a), tables)
        database.session.commit()
    service = database.session.scalar(select(HsdsService))
    page = f"/staff/directory/services/{service.id}"
    html = agency_admin.get(page).get_data(as_text=True)
    assert 'value="1  Main  St"' in html and "PO Box 9" not in html.split("places")[0]
    assert "temporarily closed" in html
    location = database.session.scalar(select(HsdsLocation))
    place = f"{page}/places/{location.id}"
    form = agency_admin.get(place).get_data(as_text=True)
    assert 'value="1  Main  St"' in form
    assert 'value="24:00"' in form
    unchanged = agency_admin.form(
        place,
        {
            "location_name": "Corner hall",
            "address_1": "1 Main St",
            "city": "Chicago",
            "fr_opens": "18:00",
            "fr_closes": "24:00",
        },
    )
    assert unchanged.status_code == 303, unchanged.get_data(as_text=True)[:2000]
    database.session.expire_all()
    [schedule] = database.session.scalars(select(HsdsSchedule)).all()
    assert schedule.id.hex and schedule.closes_at.strftime("%H:%M:%S") == "23:59:59"
    street = database.session.scalar(
        select(HsdsAddress).where(HsdsAddress.address_type == "physical")
    )
    assert street.country == "CA" and street.address_1 == "1  Main  St"  # nothing rewritten
    assert database.session.scalar(select(func.count()).select_from(HsdsAddress)) == 2
    empty = agency_admin.form(f"{page}/places/new", {})
    assert empty.status_code == 400
    assert "Give the place a name or a street address." in empty.get_data(as_text=True)
