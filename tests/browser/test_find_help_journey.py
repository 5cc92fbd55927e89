"""Issue 9 on a phone (375x667, touch): a client searches "shelter", filters "open now", uses
the phone's location (permission granted), opens a result with a call link and directions;
a wrong ZIP code first; axe-core on every page, the error too."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from portal.domain.directory import importer as di
from portal.domain.models import Agency
from portal.extensions import db
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import heading, tap_and_load

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

ORG = "aaaaaaaa-0000-4000-8000-000000000001"


SHELTERS_AND_A_PANTRY = [
    ("Harbor night and day shelter", "Beds, showers and meals", (41.8858, -87.6181), True),
    ("Winter overflow shelter", "Extra beds in cold weather", (41.90, -87.64), False),
    ("Northside food pantry", "Groceries on Tuesdays", (41.95, -87.66), False),
]


def seed_directory(app, suffix: str, services=SHELTERS_AND_A_PANTRY) -> None:
    """Services (name, description, (lat, lon), open day and night): by default two shelters
    (one open day and night, one whose hours are not listed) and a pantry."""
    tables: dict[str, list[dict]] = {
        "organization": [{"id": ORG, "name": f"Harbor Services {suffix}", "description": ""}],
        "service": [],
        "location": [],
        "service_at_location": [],
        "schedule": [],
        "phone": [],
        "address": [],
    }
    for n, (name, description, (lat, lon), always) in enumerate(services, start=1):
        sid, lid, link = (f"{kind}-{suffix}-{n}" for kind in ("svc", "loc", "sal"))
        tables["service"].append(
            {
                "id": sid,
                "organization_id": ORG,
                "name": name,
                "description": description,
                "status": "active",
            }
        )
        tables["location"].append(
            {
                "id": lid,
                "organization_id": ORG,
                "name": f"{name} building",
                "latitude": str(lat),
                "longitude": str(lon),
            }
        )
        tables["service_at_location"].append({"id": link, "service_id": sid, "location_id": lid})
        if always:
            tables["schedule"].append(
                {
                    "id": f"sch-{suffix}-{n}",
                    "service_at_location_id": link,
                    "freq": "DAILY",
                    "opens_at": "00:00",
                    "closes_at": "23:59:59",
                }
            )
        tables["phone"].append(
            {"id": f"ph-{suffix}-{n}", "service_id": sid, "number": f"(312) 555-01{n:02d}"}
        )
        tables["address"].append(
            {
                "id": f"adr-{suffix}-{n}",
                "location_id": lid,
                "address_1": f"{n}00 W Lake St",
                "city": "Chicago",
                "state_province": "IL",
                "postal_code": "60601",
                "country": "US",
            }
        )
    with app.app_context():
        agency = Agency(name=f"Directory {suffix}", timezone="America/Chicago")
        db.session.add(agency)
        db.session.commit()
        with app.test_request_context():
            di.import_tables(di.directory_for(agency), tables)
            db.session.commit()
        db.session.remove()


def test_a_client_finds_a_shelter_open_now_near_them(live_server, phones):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    seed_directory(live_server.app, people["client_email"].split("@")[0][-8:])

    phone = phones.open(
        geolocation={"latitude": 41.8851234, "longitude": -87.6201234},
        permissions=["geolocation"],
    )
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    tap_and_load(phone, phone.get_by_role("link", name="Find help"))
    expect(heading(phone, "Find help")).to_be_visible()
    assert_accessible(phone)

    phone.get_by_label("What do you need?").fill("shelter")
    phone.get_by_label("ZIP code").fill("123")
    tap_and_load(phone, phone.get_by_role("button", name="Search"))
    expect(phone.locator(".error-summary")).to_contain_text("Enter a 5-digit ZIP code")
    assert_accessible(phone)

    phone.get_by_label("ZIP code").fill("")
    tap_and_load(phone, phone.get_by_role("button", name="Search"))
    results = phone.locator(".result")
    expect(results).to_have_count(2)  # both shelters, no pantry
    expect(phone.get_by_text("Hours not listed")).to_be_visible()
    assert_accessible(phone)

    phone.get_by_label("Open now").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Use my location instead").tap()  # asks, then searches
    expect(results).to_have_count(1)
    expect(phone.get_by_text("Nearest to your location first.")).to_be_visible()
    assert "lat=41.89" in phone.url and "lon=-87.62" in phone.url  # rounded, about 1 km
    first = results.first
    expect(first.get_by_role("heading", name="Harbor night and day shelter")).to_be_visible()
    expect(first.get_by_text("Open 24 hours")).to_be_visible()
    expect(first.get_by_text(re.compile(r"0\.\d miles away"))).to_be_visible()
    assert_accessible(phone)

    tap_and_load(phone, first.get_by_role("link", name="Harbor night and day shelter", exact=True))
    expect(heading(phone, "Harbor night and day shelter")).to_be_visible()
    call = phone.get_by_role("link", name="(312) 555-0101")
    expect(call).to_have_attribute("href", "tel:3125550101")
    directions = phone.get_by_role("link", name=re.compile("^Directions"))
    expect(directions).to_have_attribute("href", re.compile(r"destination=41\.88580,-87\.61810"))
    expect(phone.locator(".state-open")).to_have_text("Open 24 hours")
    # Its weekly hours say so too, once, not midnight to midnight seven times (issue 17).
    expect(phone.locator("dl.hours").first).to_have_text(re.compile(r"Every day\s*Open 24 hours"))
    assert_accessible(phone)
    print(f"\n[journey find help] {time.perf_counter() - started:.1f} s")


def test_an_administrator_adds_a_service_and_a_community_article(live_server, phones):
    """The staff side on a phone: the directory, a refused service, a saved one with hours,
    the import page, a community article; axe-core on every page, errors too."""
    from tests.browser.test_staff_journey import staff_sign_in
    from tests.support import TEST_PASSWORD

    admin = live_server.create_agency_admin(name="Alex Admin")
    page = phones.open()
    page.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(page, admin["email"], TEST_PASSWORD)
    tap_and_load(page, page.get_by_role("link", name="Resource directory"))
    expect(heading(page, "Resource directory")).to_be_visible()
    assert_accessible(page)

    tap_and_load(page, page.get_by_role("link", name="Add a service"))
    page.get_by_role("group", name="Monday").get_by_label("Opens").fill("25:00")
    tap_and_load(page, page.get_by_role("button", name="Save"))
    expect(page.locator(".error-summary")).to_contain_text("Enter the service's name.")
    expect(page.locator(".error-summary")).to_contain_text("Enter a time like 9:00 or 17:30.")
    assert_accessible(page)

    page.get_by_label("Service name").fill("Lakeside warming centre")
    page.get_by_label("Yes, clients can find it").check()
    monday = page.get_by_role("group", name="Monday")
    monday.get_by_label("Opens").fill("20:00")
    monday.get_by_label("Closes").fill("08:00")
    tap_and_load(page, page.get_by_role("button", name="Save"))
    expect(page.get_by_text("Saved. Clients see the change in their search now.")).to_be_visible()
    expect(page.get_by_role("link", name="Lakeside warming centre")).to_be_visible()
    assert_accessible(page)

    tap_and_load(page, page.get_by_role("link", name="Import HSDS data"))
    expect(heading(page, "Import HSDS data")).to_be_visible()
    assert_accessible(page)
    page.go_back()
    tap_and_load(page, page.get_by_role("link", name="Community information"))
    tap_and_load(page, page.get_by_role("link", name="Write a piece"))
    page.get_by_label("Title").fill("Warming centre open tonight")
    page.get_by_label("Text (plain words, up to 1,000 characters)").fill("Coffee and blankets.")
    page.get_by_label("Show it on clients' home page").check()
    tap_and_load(page, page.get_by_role("button", name="Save"))
    expect(page.get_by_role("link", name="Warming centre open tonight")).to_be_visible()
    assert_accessible(page)
