"""Issue 21, at once (SQLite and PostgreSQL, rows committed for real): clients check in while
two administrators make exports and two staff mark the same changes done. Every check-in a
303 acknowledged is an entry; every entry is in at most one export and every exported row in
exactly one; of two marks of one entry, one counts."""

from __future__ import annotations

import csv
import io
import threading
import uuid
import zipfile
from collections import Counter
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    AuditEvent,
    Client,
    ClientAccount,
    Enrollment,
    HmisEntry,
    HmisExport,
    HmisUser,
    Organization,
    Project,
    StaffUser,
)
from tests.support import TEST_PASSWORD, enrol_app, signed_in

pytestmark = pytest.mark.real_commits

CLIENTS = 4
CHECK_INS = 5  # per client


@pytest.fixture
def agency_with_clients(app, database):
    session = database.session
    tag = uuid.uuid4().hex[:6]
    agency = Agency(name=f"Bridge {tag}", timezone="America/Los_Angeles", hmis_user_id="29")
    session.add(agency)
    session.flush()
    session.add(
        HmisUser(
            agency_id=agency.id, hud_user_id="29", first_name="Intake", imported_at=clock.now()
        )
    )
    staff = []
    for n, role in enumerate((Role.AGENCY_ADMIN, Role.AGENCY_ADMIN, Role.CASE_MANAGER)):
        member = StaffUser(
            email=f"s{n}-{tag}@staff.test",
            display_name=f"Staff {n}",
            role=role,
            agency=agency,
            password_hash=hash_password(TEST_PASSWORD),
        )
        session.add(member)
        session.flush()
        enrol_app(session, member.id)
        staff.append(SimpleNamespace(email=member.email, kind="staff"))
    organization = Organization(hud_organization_id=f"o-{tag}", name="Org", agency=agency)
    session.add(organization)
    session.flush()
    project = Project(
        hud_project_id=f"p-{tag}",
        organization_id=organization.id,
        name="Outreach",
        project_type=4,
        operating_start=date(2019, 1, 1),
    )
    session.add(project)
    session.flush()
    clients = []
    for n in range(CLIENTS):
        email = f"c{n}-{tag}@client.test"
        record = Client(
            personal_id=f"{tag}{n}",
            owning_agency=agency,
            first_name=f"C{n}",
            dob=date(1980, 1, 1),
            dob_quality=1,
            email=email,
        )
        session.add(record)
        session.flush()
        session.add(
            Enrollment(
                hud_enrollment_id=f"e-{tag}-{n}",
                client_id=record.id,
                project_id=project.id,
                entry_date=date(2020, 1, 1),
                relationship_to_hoh=1,
            )
        )
        session.add(
            ClientAccount(
                email=email,
                first_name=f"C{n}",
                agency=agency,
                client_id=record.id,
                password_hash=hash_password(TEST_PASSWORD),
                email_verified_at=clock.now(),
                privacy_version=PRIVACY_VERSION,
            )
        )
        clients.append(SimpleNamespace(email=email, kind="client"))
    agency_id = agency.id
    session.commit()
    session.remove()  # the test thread holds no transaction while the threads run
    return SimpleNamespace(agency_id=agency_id, staff=staff, clients=clients)


def _rows(content: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        text = archive.read("CurrentLivingSituation.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_check_ins_and_exports_at_once_put_every_change_in_exactly_one_export(
    app, database, agency_with_clients
):
    people = agency_with_clients
    browsers = [signed_in(app, person) for person in people.clients]
    admins = [signed_in(app, person) for person in people.staff[:2]]
    statuses: Counter = Counter()
    acknowledged = Counter()
    lock = threading.Lock()
    done = threading.Event()

    def check_ins(n, browser):
        for _ in range(CHECK_INS):
            status = browser.form("/check-in", token_from="/home").status_code
            with lock:
                statuses[("check-in", status)] += 1
                if status == 303:
                    acknowledged[n] += 1

    def exports(admin):
        while not done.is_set():
            status = admin.form("/staff/hmis/exports", token_from="/staff/hmis/exports").status_code
            with lock:
                statuses[("export", status)] += 1

    clients = [threading.Thread(target=check_ins, args=(n, b)) for n, b in enumerate(browsers)]
    makers = [threading.Thread(target=exports, args=(admin,)) for admin in admins]
    for thread in clients + makers:
        thread.start()
    for thread in clients:
        thread.join(timeout=120)
    done.set()
    for thread in makers:
        thread.join(timeout=120)
    # what is left goes in one last export
    admins[0].form("/staff/hmis/exports", token_from="/staff/hmis/exports")

    assert {key for key in statuses if key[0] == "check-in"} == {("check-in", 303)}, statuses
    assert {status for kind, status in statuses if kind == "export"} <= {200, 303}, statuses
    session = database.session
    entries = session.scalars(
        select(HmisEntry).join(Client).where(Client.owning_agency_id == people.agency_id)
    ).all()
    assert len(entries) == sum(acknowledged.values()) == CLIENTS * CHECK_INS
    assert all(entry.export_id is not None for entry in entries)
    made = session.scalars(select(HmisExport).where(HmisExport.agency_id == people.agency_id)).all()
    rows = [row for export in made for row in _rows(crypto.decrypt_bytes(export.content_encrypted))]
    ids = [row["CurrentLivingSitID"] for row in rows]
    assert len(ids) == len(set(ids)) == len(entries)
    assert set(ids) == {entry.public_id.hex for entry in entries}
    by_export = Counter(entry.export_id for entry in entries)
    assert {export.id: export.counts["entries"] for export in made} == dict(by_export)
    assert sorted(export.sequence for export in made) == list(range(1, len(made) + 1))
    session.remove()


def test_two_marks_of_one_change_at_once_count_once(app, database, agency_with_clients):
    people = agency_with_clients
    client = signed_in(app, people.clients[0])
    assert client.form("/check-in", token_from="/home").status_code == 303
    entry_id = database.session.scalar(
        select(HmisEntry.public_id).join(Client).where(Client.owning_agency_id == people.agency_id)
    )
    database.session.remove()
    marks = [signed_in(app, person) for person in (people.staff[0], people.staff[2])]
    barrier = threading.Barrier(len(marks))
    statuses = []

    def mark(browser):
        token = browser.csrf_token("/staff/hmis/worklist")
        barrier.wait()
        response = browser.post(
            f"/staff/hmis/worklist/{entry_id}/entered", data={"csrf_token": token}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=mark, args=(b,)) for b in marks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    events = database.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "hmis_entry.entered", AuditEvent.subject_id.is_not(None))
        .where(AuditEvent.details["entry"].as_string() == str(entry_id))
    )
    assert events == 1
    database.session.remove()


def test_marks_by_hand_during_exports_never_put_a_change_in_both(
    app, database, agency_with_clients
):
    """Staff mark changes done by hand while an administrator makes exports: each change is
    either in an export or marked by hand, never both (the HMIS would have it twice)."""
    people = agency_with_clients
    for person in people.clients:
        browser = signed_in(app, person)
        for _ in range(3):
            assert browser.form("/check-in", token_from="/home").status_code == 303
    ids = database.session.scalars(
        select(HmisEntry.public_id).join(Client).where(Client.owning_agency_id == people.agency_id)
    ).all()
    database.session.remove()
    admin = signed_in(app, people.staff[0])
    marker = signed_in(app, people.staff[2])
    token = marker.csrf_token("/staff/hmis/worklist")
    start = threading.Barrier(2)
    statuses: Counter = Counter()

    def export():
        start.wait()
        for _ in range(3):
            statuses[
                admin.form("/staff/hmis/exports", token_from="/staff/hmis/exports").status_code
            ] += 1

    def mark():
        start.wait()
        for public_id in ids:
            path = f"/staff/hmis/worklist/{public_id}/entered"
            statuses[marker.post(path, data={"csrf_token": token}).status_code] += 1

    threads = [threading.Thread(target=export), threading.Thread(target=mark)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(statuses) <= {200, 303}, statuses
    rows = database.session.scalars(
        select(HmisEntry).join(Client).where(Client.owning_agency_id == people.agency_id)
    ).all()
    assert len(rows) == len(ids)
    assert not [row for row in rows if row.export_id is not None and row.entered_at is not None]
    assert all(row.export_id is not None or row.entered_at is not None for row in rows)
    database.session.remove()
