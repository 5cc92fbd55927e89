"""Issue 9: finding help. Open now (overnight hours, closed days, monthly rules, the days the
clocks change) in SQL and in Python alike, keywords and categories through one full-text
interface, languages, distance from a ZIP code or the phone, the pages clients use."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from portal.domain import directory as search
from portal.domain.directory import importer as di
from portal.domain.directory import opening_hours
from portal.domain.directory._search import _recent as kept_searches  # the search cache
from portal.domain.models import AuditEvent, HsdsSchedule, HsdsService
from tests.support import shared_path

ORG = "11111111-1111-4111-8111-111111111111"


def sid(n: int) -> str:
    return f"22222222-2222-4222-8222-{n:012d}"


def lid(n: int) -> str:
    return f"33333333-3333-4333-8333-{n:012d}"


SERVICES = [
    # n, name, description, (lat, lon) or None, schedules [(freq, byday, opens, closes)], lang
    (
        1,
        "Night shelter",
        "Beds for the night",
        (41.8858, -87.6181),
        [("WEEKLY", "", "20:00", "08:00")],
        "en",
    ),
    (
        2,
        "Weekday food pantry",
        "Groceries and hot meals",
        (41.90, -87.65),
        [("WEEKLY", "MO,TU,WE,TH,FR", "09:00", "17:00")],
        "es",
    ),
    (
        3,
        "First Sunday clínica",
        "Free health clinic",
        (41.95, -87.70),
        [("MONTHLY", "1SU", "10:00", "14:00")],
        "en",
    ),
    (
        4,
        "Crisis line",
        "Call any time",
        (42.30, -87.90),
        [("DAILY", "", "00:00", "23:59:59")],
        "en",
    ),
    (5, "Legal help desk", "Eviction defense", None, [], "en"),
    (
        6,
        "Far away showers",
        "Showers and laundry",
        (40.0, -89.0),
        [("WEEKLY", "SA,SU", "08:00", "12:00")],
        "en",
    ),
]


def write_package(folder):
    folder.mkdir()
    rows = {
        "organizations": [["id", "name", "description"], [ORG, "Harbor Services", "Help"]],
        "services": [["id", "organization_id", "name", "description", "status"]],
        "locations": [["id", "organization_id", "name", "latitude", "longitude"]],
        "service_at_location": [["id", "service_id", "location_id"]],
        "schedules": [["id", "service_at_location_id", "freq", "byday", "opens_at", "closes_at"]],
        "languages": [["id", "service_id", "name", "code"]],
        "phones": [["id", "service_id", "number"]],
        "addresses": [
            ["id", "location_id", "address_1", "city", "state_province", "postal_code", "country"]
        ],
    }
    for n, name, description, point, schedules, language in SERVICES:
        rows["services"].append([sid(n), ORG, name, description, "active"])
        lat, lon = point or ("", "")
        rows["locations"].append([lid(n), ORG, f"{name} building", lat, lon])
        link = f"44444444-4444-4444-8444-{n:012d}"
        rows["service_at_location"].append([link, sid(n), lid(n)])
        for k, (freq, byday, opens, closes) in enumerate(schedules):
            schedule = f"55555555-5555-4555-8555-{n:010d}{k:02d}"
            rows["schedules"].append([schedule, link, freq, byday, opens, closes])
        rows["languages"].append([f"66666666-6666-4666-8666-{n:012d}", sid(n), "", language])
        rows["phones"].append([f"77777777-7777-4777-8777-{n:012d}", sid(n), f"(312) 555-01{n:02d}"])
        rows["addresses"].append(
            [
                f"88888888-8888-4888-8888-{n:012d}",
                lid(n),
                f"{n} Main St",
                "Chicago",
                "IL",
                "60601",
                "US",
            ]
        )
    import csv

    for name, table in rows.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(table)


@pytest.fixture
def directory(app, database, make, tmp_path):
    agency = make.agency("Harbor", timezone="America/Chicago")
    write_package(tmp_path / "package")
    with app.test_request_context():
        found = di.directory_for(agency)
        report = di.import_tables(found, di.read_source(tmp_path / "package"))
        database.session.commit()
    assert report.searchable == len(SERVICES)
    return found


def chicago(*args) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


def open_names(app, when) -> set[str]:
    with app.test_request_context():
        page = search.search(search.Query(open_now=True), when)
        assert all(r.open_now for r in page.results)  # Python agrees with the SQL filter
        return {r.name for r in page.results}


@pytest.mark.parametrize(
    "when, expected",
    [
        # Saturday 21 November 2026, 23:00: the shelter's evening, the crisis line.
        (chicago(2026, 11, 21, 23, 0), {"Night shelter", "Crisis line"}),
        # Sunday 07:59: still the shelter's night (hours past midnight); the showers not yet.
        (chicago(2026, 11, 22, 7, 59), {"Night shelter", "Crisis line"}),
        # Sunday 08:00: the shelter has closed; weekend showers open.
        (chicago(2026, 11, 22, 8, 0), {"Crisis line", "Far away showers"}),
        # A weekday noon: the pantry; closed days stay closed.
        (chicago(2026, 11, 23, 12, 0), {"Weekday food pantry", "Crisis line"}),
        # The first Sunday of December: the monthly clinic; not on the second Sunday.
        (chicago(2026, 12, 6, 11, 0), {"First Sunday clínica", "Crisis line", "Far away showers"}),
        (chicago(2026, 12, 13, 11, 0), {"Crisis line", "Far away showers"}),
        # The clocks go back on 1 November 2026: 01:30 happens twice, open both times.
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), {"Night shelter", "Crisis line"}),
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), {"Night shelter", "Crisis line"}),
        # The clocks go forward on 14 March 2027: 03:30 CDT, the shelter's night goes on.
        (datetime(2027, 3, 14, 8, 30, tzinfo=UTC), {"Night shelter", "Crisis line"}),
        # ... and 08:00 CDT (13:00 UTC, not 14:00) is when it closes.
        (datetime(2027, 3, 14, 13, 0, tzinfo=UTC), {"Crisis line", "Far away showers"}),
    ],
)
def test_open_now(app, directory, when, expected):
    assert open_names(app, when) == expected


def test_opens_at_and_closing_times(app, directory):
    saturday_noon = chicago(2026, 11, 21, 12, 0)
    with app.test_request_context():
        page = search.search(search.Query(text="pantry"), saturday_noon)
    [pantry] = page.results
    assert pantry.open_now is False
    assert pantry.opens_at.isoformat() == "2026-11-23T09:00:00-06:00"  # Monday, local time
    with app.test_request_context():
        [shelter] = search.search(search.Query(text="shelter"), chicago(2026, 11, 21, 22)).results
    assert shelter.open_now and shelter.closes == 24 * 60 + 8 * 60  # 8:00 the next morning
    with app.test_request_context():
        [legal] = search.search(search.Query(text="eviction"), saturday_noon).results
    assert legal.open_now is None and legal.opens_at is None  # no hours listed


def test_spans_match_their_schedules():
    class Row:
        valid_from = valid_to = None

        def __init__(self, freq, byday, opens, closes):
            from datetime import time

            self.freq, self.byday = freq, byday
            self.opens_at = time(*map(int, opens.split(":")))
            self.closes_at = time(*map(int, closes.split(":")))

    night = opening_hours.spans_for(Row("WEEKLY", "FR", "22:00", "02:00"))
    assert [(s.weekday, s.opens, s.closes, s.spill) for s in night] == [
        (4, 1320, 1440, False),
        (5, 0, 120, True),
    ]
    assert opening_hours.spans_for(Row("WEEKLY", "1MO", "09:00", "10:00")) == []
    assert opening_hours.spans_for(Row("YEARLY", "", "09:00", "10:00")) == []
    last_friday = opening_hours.spans_for(Row("MONTHLY", "-1FR", "09:00", "10:00"))
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/Chicago")
    assert opening_hours.is_open(last_friday, datetime(2026, 11, 27, 9, 30, tzinfo=zone))
    assert not opening_hours.is_open(last_friday, datetime(2026, 11, 20, 9, 30, tzinfo=zone))


def test_keywords_categories_and_languages(app, directory):
    now = chicago(2026, 11, 23, 12)

    def names(**query):
        with app.test_request_context():
            return {r.name for r in search.search(search.Query(**query), now).results}

    assert names(text="shelt") == {"Night shelter"}  # prefixes match
    assert names(text="CLINICA") == {"First Sunday clínica"}  # case and accents folded
    assert names(text="hot meals") == {"Weekday food pantry"}  # every word must match
    assert names(text="harbor") == {s[1] for s in SERVICES}  # the organization's name
    assert names(category="food") == {"Weekday food pantry"}
    assert names(category="legal") == {"Legal help desk"}
    assert names(category="showers") == {"Far away showers"}
    assert names(language="es") == {"Weekday food pantry"}
    assert names(text='" * ( ^ - :') == {s[1] for s in SERVICES}  # no words: everything
    assert names(text="harbor OR zzzz") == set()  # OR is a word here, not an operator
    # Words that name categories find those categories' services (issue 17), whatever else.
    assert names(text="shelter OR pantry") == {"Night shelter", "Weekday food pantry"}
    assert names(text="zzzz") == set()


def test_distance_from_a_zip_code_or_the_phone(app, directory):
    now = chicago(2026, 11, 23, 12)
    with app.test_request_context():
        place = search.place_from_zip("60601")
        page = search.search(search.Query(place=place, radius=10), now)
    order = [r.name for r in page.results]
    # Within 10 miles, nearest first; then the one with no coordinates; beyond it, nothing.
    assert order == [
        "Night shelter",
        "Weekday food pantry",
        "First Sunday clínica",
        "Legal help desk",
    ]
    assert page.results[0].distance < 0.5 and page.results[-1].distance is None
    with app.test_request_context():
        wider = search.search(search.Query(place=place, radius=50), now)
    assert "Crisis line" in {r.name for r in wider.results}
    assert "Far away showers" not in {r.name for r in wider.results}
    phone = search.place_from_device("41.88581234", "-87.61811234")
    assert (phone.latitude, phone.longitude) == (41.89, -87.62)  # about 1 km, never finer
    for bad in ("abcde", "1234", "00000"):
        with pytest.raises(search.PlaceUnknown):
            search.place_from_zip(bad)
    with pytest.raises(search.PlaceUnknown):
        search.place_from_device("91", "0")


def test_the_search_page_and_a_service_page(app, directory, me, database):
    events = database.session.scalar(select(func.count()).select_from(AuditEvent))
    page = me.get("/resources", query_string={"q": "shelter", "zip": "60601"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Night shelter" in html and 'href="tel:3125550101"' in html
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=41.88580,-87.61810" in html
    assert "1 place found" in html
    wrong = me.get("/resources", query_string={"q": "food", "zip": "99999"})
    assert wrong.status_code == 400 and "We do not know this ZIP code" in wrong.get_data(
        as_text=True
    )
    # What a client searched for is not written down anywhere with who they are.
    assert database.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    service = me.get(f"/resources/{sid(1)}").get_data(as_text=True)
    assert "Night shelter" in service and "(next day)" in service and "1 Main St" in service
    assert me.get(f"/resources/{uuid.uuid4()}").status_code == 404
    assert me.get("/resources/not-an-id").status_code == 404
    categories = me.get("/resources", query_string={"category": "food"}).get_data(as_text=True)
    assert "Weekday food pantry" in categories and "Night shelter" not in categories


@pytest.mark.requirement("R34", "R36")
def test_naughty_strings_as_search_terms(app, directory, me):
    strings = json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))
    for text in strings:
        answer = me.get("/resources", query_string={"q": text, "zip": text[:10]})
        assert answer.status_code in (200, 400), text
        assert "<script>alert(" not in answer.get_data(as_text=True)


def test_the_legacy_directory_can_be_searched(app, database, agency_a, make):
    with app.test_request_context():
        directory = di.directory_for(agency_a)
        di.import_tables(directory, di.read_source(shared_path("data", "hsds-real", "ilao-hsds")))
        database.session.commit()
        now = chicago(2026, 11, 21, 12)
        eviction = search.search(search.Query(text="eviction"), now)
        near = search.search(
            search.Query(text="eviction", place=search.place_from_zip("60601")), now
        )
    assert eviction.total > 10
    # The feed has no coordinates: every result is "distance unknown", none is guessed.
    assert near.total == eviction.total and all(r.distance is None for r in near.results)
    assert database.session.scalar(select(func.count()).select_from(HsdsSchedule)) == 2492
    # Many results come in pages of 20, with links to the next and previous pages.
    from tests.support import signed_in

    browser = signed_in(app, make.client_account(agency_a))
    first = browser.get("/resources", query_string={"category": "legal"}).get_data(as_text=True)
    assert "page 1 of" in first and "page=2" in first and "Previous page" not in first
    second = browser.get("/resources", query_string={"category": "legal", "page": 2})
    html = second.get_data(as_text=True)
    assert "page 2 of" in html and "Previous page" in html and html.count('class="result"') == 20


def test_open_now_near_me_measures_to_a_place_that_is_open(app, database, make):
    """A service at two places: near but closed, 8 miles away and open. "Open now" near
    60601 shows it at the open place and that distance, never "open" at the closed one."""
    agency = make.agency("Two places", timezone="America/Chicago")
    tables = {
        "service": [{"id": "two-svc", "name": "Two site pantry", "status": "active"}],
        "location": [
            {"id": "near", "name": "Near hall", "latitude": "41.8858", "longitude": "-87.6181"},
            {"id": "far", "name": "Far hall", "latitude": "41.9999", "longitude": "-87.6181"},
        ],
        "service_at_location": [
            {"id": "sal-near", "service_id": "two-svc", "location_id": "near"},
            {"id": "sal-far", "service_id": "two-svc", "location_id": "far"},
        ],
        "schedule": [
            {
                "id": "h-near",
                "service_at_location_id": "sal-near",
                "freq": "WEEKLY",
                "byday": "MO",
                "opens_at": "09:00",
                "closes_at": "10:00",
            },
            {
                "id": "h-far",
                "service_at_location_id": "sal-far",
                "freq": "WEEKLY",
                "byday": "SA",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
        ],
    }
    saturday_noon = chicago(2026, 11, 21, 12)
    with app.test_request_context():
        di.import_tables(di.directory_for(agency), tables)
        database.session.commit()
        place = search.place_from_zip("60601")
        [result] = search.search(
            search.Query(open_now=True, place=place, radius=10), saturday_noon
        ).results
        anywhere = search.search(search.Query(place=place, radius=10), saturday_noon).results
    assert (result.location_name, result.open_now) == ("Far hall", True)
    assert 7.5 < result.distance < 8.5
    assert (anywhere[0].location_name, anywhere[0].open_now) == ("Near hall", False)
    assert anywhere[0].distance < 0.5


def test_open_now_near_me_keeps_a_service_open_at_a_place_without_coordinates(app, database, make):
    agency = make.agency("Unplaced", timezone="America/Chicago")
    tables = {
        "service": [{"id": "u-svc", "name": "Pop-up clinic", "status": "active"}],
        "location": [
            {"id": "u-near", "name": "Mapped hall", "latitude": "41.8858", "longitude": "-87.6181"},
            {"id": "u-van", "name": "Clinic van"},
        ],
        "service_at_location": [
            {"id": "u-sal-near", "service_id": "u-svc", "location_id": "u-near"},
            {"id": "u-sal-van", "service_id": "u-svc", "location_id": "u-van"},
        ],
        "schedule": [
            {
                "id": "u-h1",
                "service_at_location_id": "u-sal-near",
                "freq": "WEEKLY",
                "byday": "MO",
                "opens_at": "09:00",
                "closes_at": "10:00",
            },
            {
                "id": "u-h2",
                "service_at_location_id": "u-sal-van",
                "freq": "WEEKLY",
                "byday": "SA",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
        ],
    }
    with app.test_request_context():
        di.import_tables(di.directory_for(agency), tables)
        database.session.commit()
        page = search.search(
            search.Query(open_now=True, place=search.place_from_zip("60601")),
            chicago(2026, 11, 21, 12),
        )
    [result] = page.results
    assert (result.name, result.distance, result.open_now) == ("Pop-up clinic", None, True)
    assert result.location_name == "Clinic van"


def _statements_of(app, run) -> int:
    from portal.extensions import db
    from tests.support import statements_run

    with statements_run(db.engine) as seen, app.test_request_context():
        run()
    return len(seen)


def test_a_search_asked_again_in_the_same_minute_is_answered_without_running_again(app, directory):
    """Public data, the same for everyone: a crowd asking for "shelter" costs one search a
    minute; the next minute ("open now" may have changed) runs it again."""
    noon = chicago(2026, 11, 23, 12, 0, 5)
    query = search.Query(text="shelter", open_now=False)
    first = _statements_of(app, lambda: search.search(query, noon))
    assert first > 0
    again = _statements_of(app, lambda: search.search(query, noon + timedelta(seconds=50)))
    assert again == 0
    assert _statements_of(app, lambda: search.search(query, noon + timedelta(minutes=1))) > 0
    other_agency = search.Query(text="shelter", home_directory=directory.id)
    assert _statements_of(app, lambda: search.search(other_agency, noon)) > 0  # featured differ


def test_a_search_from_a_place_is_never_kept(app, directory):
    noon = chicago(2026, 11, 23, 12)
    with app.test_request_context():
        place = search.place_from_zip("60601")
    query = search.Query(place=place, radius=10)
    assert _statements_of(app, lambda: search.search(query, noon)) > 0
    assert _statements_of(app, lambda: search.search(query, noon)) > 0
    assert all(key[0] is not None and len(key) == 7 for key in kept_searches)  # no places


def test_a_directory_change_is_found_at_once(app, directory, database):
    noon = chicago(2026, 11, 23, 12)

    def names():
        with app.test_request_context():
            return {r.name for r in search.search(search.Query(text="bank"), noon).results}

    assert names() == set()
    service = database.session.scalar(
        select(HsdsService).where(HsdsService.name == "Weekday food pantry")
    )
    service.name = "Weekday food bank"
    search.reindex(directory)
    database.session.commit()
    assert names() == {"Weekday food bank"}  # found at once, not a minute later


def test_a_service_open_day_and_night_says_so_instead_of_midnight_to_midnight(app, directory, me):
    """Issue 17: a 24-hour service listed every day as from 12:00 AM to 12:00 AM."""
    page = me.get(f"/resources/{sid(4)}").get_data(as_text=True)
    hours = BeautifulSoup(page, "html.parser").select("dl.hours")
    assert hours, "the service page lists its hours"
    shown = " ".join(h.get_text(" ", strip=True) for h in hours)
    assert "12:00" not in shown and "Every day" in shown and "Open 24 hours" in shown


def test_a_search_in_spanish_finds_the_services_of_the_categories_its_words_name(app, directory):
    """Issue 17: "albergue", "comida", "refugio" (the page's own example) found nothing: the
    category lists held them, but typed words only went to full text over English data."""
    now = chicago(2026, 11, 23, 12)

    def names(**query):
        with app.test_request_context():
            return {r.name for r in search.search(search.Query(**query), now).results}

    english = {"shelter", "food", "showers", "health", "legal", "jobs", "benefits"}
    assert set(search.CATEGORIES) == english  # a new category gets its Spanish words here
    spanish = {
        "shelter": ["albergue", "refugio", "Albergues"],
        "food": ["comida", "COMIDA caliente"],
        "showers": ["ducha", "duchas"],
        "health": ["salud", "Salud mental"],
        "legal": ["abogado", "abogada"],
        "jobs": ["empleo", "empleos", "trabajo"],
        "benefits": ["beneficio", "beneficios"],
    }
    for code, words in spanish.items():
        for word in words:
            assert code in search.named_categories(search.tokens(word)), word
        in_category = names(category=code)
        if code in ("jobs", "benefits"):
            assert in_category == set()  # none in the fixture: the words are checked above
            continue
        assert in_category, code
        for word in words:
            found = names(text=word)
            assert in_category <= found, (word, in_category, found)
    # Only a word that starts with a category's stem names it: "men" is not mental health.
    assert search.named_categories(["men", "home", "car", "med"]) == []
    assert names(text="refugio") == {"Night shelter"}
    assert names(text="comida") == {"Weekday food pantry"}
    # Near a place (sorted by distance, no ranking) the same words find the same services.
    with app.test_request_context():
        place = search.place_from_zip("60601")
        near = search.search(search.Query(text="albergue", place=place, radius=10), now)
    assert {r.name for r in near.results} == {"Night shelter"}


def test_a_search_opens_at_its_results(app, directory, me):
    """Issue 17: on a phone the results were 2-3 screens below the form. The form, the
    category links and the pages of results all go to #results, the heading that says how
    many were found (focusable, so a screen reader starts there)."""
    page = BeautifulSoup(
        me.get("/resources", query_string={"q": "shelter"}).get_data(as_text=True), "html.parser"
    )
    assert page.select_one("form[role=search]")["action"].endswith("/resources#results")
    links = page.select("a.category")
    assert links and all(a["href"].endswith("#results") for a in links)
    heading = page.select_one("#results")
    assert heading.name == "h2" and heading["tabindex"] == "-1"
    assert "1 place found" in heading.get_text()


def test_client_pages_need_no_emoji_font(app, directory, me):
    """Issue 17: the kinds of help were emoji (empty boxes on phones without the font; the
    clinic's needs Android 10): small inline SVG icons beside the words instead."""
    import re

    emoji = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")
    for path in ("/resources", "/resources?category=health", "/updates", "/home", "/documents"):
        page = me.get(path)
        assert page.status_code == 200, path
        assert not emoji.findall(page.get_data(as_text=True)), path
    categories = BeautifulSoup(me.get("/resources").get_data(as_text=True), "html.parser")
    links = categories.select("a.category")
    assert len(links) == len(search.CATEGORIES)
    assert all(a.select_one("svg[aria-hidden=true]") and a.get_text(strip=True) for a in links)
