"""Demo agencies and sign-ins for the one-command development run (never in production)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.domain import directory as search
from portal.domain.accounts import factors, passwords
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.core import clock
from portal.domain.core.roles import Role
from portal.domain.core.session import dbs
from portal.domain.directory import importer as directory_import
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientAccount,
    ClientTask,
    CommunityArticle,
    HsdsService,
    StaffUser,
)

AGENCIES = [
    ("Harbor Outreach (demo)", "America/Los_Angeles"),
    ("Northside Shelter (demo)", "America/Chicago"),
]

STAFF = [
    ("sysadmin@demo.example", "Sam System", Role.SYSTEM_ADMIN, None),
    ("admin@harbor.demo.example", "Alex Admin", Role.AGENCY_ADMIN, 0),
    ("casey@harbor.demo.example", "Casey Case", Role.CASE_MANAGER, 0),
    ("admin@northside.demo.example", "Nora North", Role.AGENCY_ADMIN, 1),
    ("morgan@northside.demo.example", "Morgan Manager", Role.CASE_MANAGER, 1),
]

# (sign-in email or None, personal id, first, last, date of birth, agency, case manager email)
# The first has a portal account; the second is a record staff can invite.
CLIENTS = [
    ("client@demo.example", "DEMO-0001", "Jordan", "Rivera", date(1990, 4, 12), 0),
    (None, "DEMO-0002", "Taylor", "Brooks", date(1985, 9, 3), 0),
]
CASE_MANAGER = "casey@harbor.demo.example"


def _agency(name: str, timezone: str) -> Agency:
    agency = dbs().scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name, timezone=timezone)
        dbs().add(agency)
        dbs().flush()
    return agency


def _client(personal_id, first, last, dob, agency, email) -> Client:
    record = dbs().scalar(select(Client).where(Client.personal_id == personal_id))
    if record is None:
        record = Client(
            personal_id=personal_id,
            owning_agency=agency,
            first_name=first,
            last_name=last,
            name_quality=1,
            dob=dob,
            dob_quality=1,
            email=email,
        )
        dbs().add(record)
        dbs().flush()
    return record


def _ask_for_id(record: Client, case_manager: StaffUser) -> None:
    """A document request on the demo dashboard (once)."""
    from datetime import timedelta

    asked = dbs().scalar(
        select(ClientTask.id).where(
            ClientTask.client_id == record.id, ClientTask.kind == "document"
        )
    )
    if asked is None:
        dbs().add(
            ClientTask(
                client_id=record.id,
                agency_id=record.owning_agency_id,
                kind="document",
                category="photo_id",
                title="A photo of your ID",
                note="Both sides, please.",
                due_on=clock.now().date() + timedelta(days=7),
                created_by_id=case_manager.id,
            )
        )


def create(password: str) -> list[str]:
    """Create (or keep) the demo rows; returns one line per sign-in for the README and console."""
    agencies = [_agency(name, tz) for name, tz in AGENCIES]
    password_hash = passwords.hash_password(password)
    lines = []
    for email, name, role, agency_index in STAFF:
        agency = agencies[agency_index] if agency_index is not None else None
        member = dbs().scalar(select(StaffUser).where(StaffUser.email == email))
        if member is None:
            member = StaffUser(
                email=email,
                display_name=name,
                role=role,
                agency=agency,
                password_hash=password_hash,
            )
            dbs().add(member)
            dbs().flush()
        factors.enrol_demo_app(member)
        lines.append(f"staff  {email:32} {role.value:14} {agency.name if agency else '-'}")
    case_manager = dbs().scalar(select(StaffUser).where(StaffUser.email == CASE_MANAGER))
    if case_manager is not None:
        case_manager.shown_to_clients = True  # the demo dashboard shows a care team
    dbs().flush()
    for sign_in, personal_id, first, last, dob, agency_index in CLIENTS:
        agency = agencies[agency_index]
        record = _client(
            personal_id, first, last, dob, agency, sign_in or f"{first.lower()}@demo.example"
        )
        if case_manager is not None and not record.care_team:
            record.care_team.append(CareTeamMember(staff=case_manager, is_case_manager=True))
        if sign_in is None:
            lines.append(f"record {personal_id:32} {'(invite me)':14} {agency.name}")
            continue
        account = dbs().scalar(select(ClientAccount).where(ClientAccount.email == sign_in))
        if account is None:
            account = ClientAccount(
                email=sign_in, first_name=first, agency=agency, password_hash=password_hash
            )
            dbs().add(account)
        if account.client_id is None:  # also links an account made by an older demo command
            account.client_id = record.id
            account.email_verified_at = clock.now()
            account.privacy_version = PRIVACY_VERSION
        if case_manager is not None:
            _ask_for_id(record, case_manager)
        lines.append(f"client {sign_in:32} {'client':14} {agency.name}")
    dbs().flush()
    _directory(agencies[0])
    return lines


# A small resource directory near downtown Los Angeles (made up; ids stable, so running the
# demo command again changes nothing): (name, description, hours, point, languages, featured)
SERVICES = [
    (
        "Harbor 24-hour shelter",
        "Beds, showers and a hot meal, day and night.",
        [("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59:59")],
        (34.0441, -118.2468),
        "en es",
        True,
    ),
    (
        "Fifth Street food pantry",
        "Groceries and fresh fruit. Bring a bag if you can.",
        [("TU,TH", "10:00", "14:00")],
        (34.0452, -118.2501),
        "en es",
        False,
    ),
    (
        "Weekend showers and laundry",
        "Hot showers, towels and two loads of laundry.",
        [("SA,SU", "08:00", "12:00")],
        (34.0421, -118.2435),
        "en",
        False,
    ),
    (
        "Walk-in health clinic",
        "Check-ups, wound care and medication refills. No ID needed.",
        [("MO,TU,WE,TH,FR", "09:00", "17:00")],
        (34.0489, -118.2540),
        "en es ko",
        False,
    ),
    (
        "Night outreach van",
        "Blankets, water and a ride to shelter.",
        [("MO,TU,WE,TH,FR,SA,SU", "20:00", "04:00")],
        (34.0405, -118.2490),
        "en es",
        False,
    ),
    (
        "Tenant legal help line",
        "Free advice about eviction notices and deposits. By phone.",
        [("MO,WE", "13:00", "16:00")],
        None,
        "en es",
        False,
    ),
    (
        "Job center",
        "Help with resumes, IDs and job applications.",
        [("MO,TU,WE,TH", "09:00", "15:00")],
        (34.0510, -118.2420),
        "en vi",
        False,
    ),
]


def _directory(agency: Agency) -> None:
    directory = directory_import.directory_for(agency)
    directory_import.import_tables(directory, _demo_tables())
    for name, *_rest, featured in SERVICES:
        row = dbs().scalar(
            select(HsdsService).where(
                HsdsService.directory_id == directory.id, HsdsService.name == name
            )
        )
        if row is not None and featured and not row.featured:
            row.featured = True
    search.reindex(directory)
    title = "Cooling center open this week"
    if dbs().scalar(select(CommunityArticle).where(CommunityArticle.title == title)) is None:
        dbs().add(
            CommunityArticle(
                agency_id=agency.id,
                title=title,
                body="The library on 5th Street is a cooling center from noon to 8 pm. "
                "Water and a place to sit. Pets on a leash are welcome.",
                published=True,
            )
        )


def _demo_tables() -> dict[str, list[dict]]:
    """The demo services as HSDS tables, imported as an agency's upload would be."""
    tables: dict[str, list[dict]] = {
        "organization": [{"id": "demo-org", "name": "Harbor Outreach", "description": "Demo"}],
        "service": [],
        "location": [],
        "service_at_location": [],
        "schedule": [],
        "language": [],
        "phone": [],
        "address": [],
    }
    for n, (name, description, hours, point, languages, _featured) in enumerate(SERVICES):
        sid, lid, link = f"demo-svc-{n}", f"demo-loc-{n}", f"demo-sal-{n}"
        tables["service"].append(
            {
                "id": sid,
                "organization_id": "demo-org",
                "name": name,
                "description": description,
                "status": "active",
            }
        )
        lat, lon = point or ("", "")
        tables["location"].append(
            {
                "id": lid,
                "organization_id": "demo-org",
                "name": name,
                "latitude": str(lat),
                "longitude": str(lon),
            }
        )
        tables["service_at_location"].append({"id": link, "service_id": sid, "location_id": lid})
        for k, (byday, opens, closes) in enumerate(hours):
            tables["schedule"].append(
                {
                    "id": f"demo-sch-{n}-{k}",
                    "service_at_location_id": link,
                    "freq": "WEEKLY",
                    "byday": byday,
                    "opens_at": opens,
                    "closes_at": closes,
                }
            )
        for code in languages.split():
            tables["language"].append(
                {"id": f"demo-lang-{n}-{code}", "service_id": sid, "code": code}
            )
        tables["phone"].append(
            {"id": f"demo-ph-{n}", "service_id": sid, "number": f"(213) 555-01{n:02d}"}
        )
        if point:
            tables["address"].append(
                {
                    "id": f"demo-adr-{n}",
                    "location_id": lid,
                    "address_1": f"{500 + n * 10} S San Pedro St",
                    "city": "Los Angeles",
                    "state_province": "CA",
                    "postal_code": "90013",
                    "country": "US",
                }
            )
    return tables
