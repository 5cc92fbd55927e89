"""Issue 9: the resource directory with 10,000 services. The ILAO directory (HSDS 1.1, 429
services) is multiplied and varied: new names and ids, synthetic coordinates within ~40 miles
of downtown Chicago, a mix of hours (the feed's own, overnight, weekdays only, monthly) and
languages. Prints the import time and the median and p95 server time of the Find help page
for a keyword search, a category with "open now", and a distance search from a ZIP code.

    .venv/bin/python benchmarks/directory.py           # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/directory.py

Target (issue 9): p95 under 50 ms.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from portal.domain.core import clock
from portal.domain.directory import importer as di
from portal.domain.models import DirectorySearch
from portal.extensions import db, limiter
from tests.support import SHARED, TEST_PASSWORD, Factories, build_app

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
SERVICES = int(os.environ.get("BENCH_SERVICES", "10000"))
ILAO = SHARED / "data" / "hsds-real" / "ilao-hsds"
WORDS = ["North", "South", "East", "West", "Central", "Community", "Family", "Youth", "Senior"]
HOURS = [
    ("MO,TU,WE,TH,FR", "09:00", "17:00"),
    ("MO,TU,WE,TH,FR,SA,SU", "20:00", "08:00"),  # overnight
    ("SA,SU", "10:00", "14:00"),
    ("MO,WE,FR", "08:30", "12:00"),
]
LANGUAGES = ["en", "es", "pl", "zh", "vi", "ar"]


def read(name: str) -> list[dict]:
    with open(ILAO / name, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def generate(count: int, seed: int = 7) -> dict[str, list[dict]]:
    """HSDS 3 tables with `count` services, one location each, from the ILAO rows."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, reproducible
    base = [s for s in read("services.csv") if s["name"].strip()]
    schedules = {}
    for row in read("regular_schedules.csv"):
        schedules.setdefault(row["location_id"], []).append(row)
    feed_hours = list(schedules.values())
    tables: dict[str, list[dict]] = {
        k: []
        for k in (
            "organization",
            "service",
            "location",
            "service_at_location",
            "schedule",
            "language",
            "phone",
            "address",
        )
    }
    for n in range(count):
        source = base[n % len(base)]
        org, sid, lid, link = (f"{kind}-{n}" for kind in ("org", "svc", "loc", "sal"))
        if n % 10 == 0:
            tables["organization"].append(
                {"id": org, "name": f"Agency {n // 10}", "description": ""}
            )
        org = f"org-{n - n % 10}"
        word = WORDS[rng.randrange(len(WORDS))]
        tables["service"].append(
            {
                "id": sid,
                "organization_id": org,
                "name": f"{source['name'][:80]} – {word} {n}",
                "description": source["description"][:600],
                "status": "active",
            }
        )
        lat = 41.8858 + rng.uniform(-0.55, 0.55)
        lon = -87.6181 + rng.uniform(-0.7, 0.35)
        tables["location"].append(
            {
                "id": lid,
                "organization_id": org,
                "name": f"{word} site {n}",
                "latitude": lat,
                "longitude": lon,
            }
        )
        tables["service_at_location"].append({"id": link, "service_id": sid, "location_id": lid})
        choice = rng.randrange(6)
        if choice < 2:
            for row in feed_hours[n % len(feed_hours)]:
                day = row["weekday"][:2].upper()
                tables["schedule"].append(
                    {
                        "id": f"sch-{n}-{day}",
                        "service_at_location_id": link,
                        "freq": "WEEKLY",
                        "byday": day,
                        "opens_at": row["opens_at"],
                        "closes_at": row["closes_at"],
                    }
                )
        elif choice < 5:
            byday, opens, closes = HOURS[choice - 2]
            tables["schedule"].append(
                {
                    "id": f"sch-{n}",
                    "service_at_location_id": link,
                    "freq": "WEEKLY",
                    "byday": byday,
                    "opens_at": opens,
                    "closes_at": closes,
                }
            )
        else:
            tables["schedule"].append(
                {
                    "id": f"sch-{n}",
                    "service_at_location_id": link,
                    "freq": "MONTHLY",
                    "byday": "1SA",
                    "opens_at": "09:00",
                    "closes_at": "13:00",
                }
            )
        for code in rng.sample(LANGUAGES, rng.randrange(1, 3)):
            tables["language"].append({"id": f"lang-{n}-{code}", "service_id": sid, "code": code})
        tables["phone"].append(
            {"id": f"ph-{n}", "service_id": sid, "number": f"(312) 555-{n % 10000:04d}"}
        )
        tables["address"].append(
            {
                "id": f"adr-{n}",
                "location_id": lid,
                "address_1": f"{n} Main St",
                "city": "Chicago",
                "state_province": "IL",
                "postal_code": "60601",
                "country": "US",
            }
        )
    return {k: [{c: str(v) for c, v in row.items()} for row in rows] for k, rows in tables.items()}


def measure(browser, path: str) -> tuple[float, float]:
    assert browser.get(path).status_code == 200, path
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        FlaskClient.open(browser, path, base_url="https://localhost")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.sqlite3'}"
    app = build_app(root, url, sign_in_ip_limit="100000 per minute")
    engine = url.split(":", 1)[0]
    print(f"Resource directory on {engine}: {SERVICES} services, {REQUESTS} requests per search")
    tables = generate(SERVICES)
    with app.app_context():
        make = Factories(db.session)
        agency = make.agency("Directory bench", timezone="America/Chicago")
        account = make.client_account(agency)
        email = account.email
        with app.test_request_context():
            started = time.perf_counter()
            report = di.import_tables(di.directory_for(agency), tables)
            db.session.commit()
            imported_in = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            for table in (
                "directory_search",
                "directory_hours",
                "hsds_locations",
                "hsds_service_at_location",
                "hsds_services",
            ):
                db.session.execute(text(f"ANALYZE {table}"))
            db.session.commit()
        searchable = db.session.scalar(select(func.count()).select_from(DirectorySearch))
        db.session.remove()
    print(
        f"  imported and indexed in {imported_in:.1f} s; {searchable} searchable"
        f" ({report.tables['schedule'].inserted} schedules)"
    )
    # A Saturday at noon in Chicago (the time the hours are compared with).
    clock.freeze(datetime.fromisoformat("2026-11-21T18:00:00+00:00"))
    limiter.reset()
    browser = app.test_client()
    browser.form("/sign-in", {"email": email, "password": TEST_PASSWORD})
    for label, path in (
        ("keyword (eviction)", "/resources?q=eviction"),
        ("keyword, 2 words", "/resources?q=legal+aid"),
        ("category + open now", "/resources?category=legal&open_now=y"),
        ("distance (60601, 10 mi)", "/resources?q=help&zip=60601&radius=10"),
        ("category + distance", "/resources?category=legal&zip=60601&radius=5"),
        ("open now + distance", "/resources?open_now=y&zip=60601&radius=10"),
    ):
        median, p95 = measure(browser, path)
        print(f"    {label:26} median {median:6.1f} ms   p95 {p95:6.1f} ms")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
