"""The load accounts on the stack: an agency, case managers and clients with active, verified
portal accounts on their care teams, made (idempotently) in the stack's database through the
portal's models, as the schema owner. The load run (benchmarks/stack_load.py) and the fault
tests (tests/stack) sign in as them."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from deploy import stack

PASSWORD = "load harbor lantern river 73"
# The load's case managers sign in with an authenticator app too (issue 19); this is its key.
LOAD_TOTP_KEY = "LOADHARBORLANTERNRIVERSEVENTHREE"
AGENCY = "Load Test Agency (stack)"
AGENCY_TIMEZONE = "America/Los_Angeles"


def client_email(n: int) -> str:
    return f"load-client-{n:04d}@load.example"


def staff_email(n: int) -> str:
    return f"load-staff-{n:02d}@load.example"


def personal_id(n: int) -> str:
    return f"LOAD-{n:05d}"


# --- the portal, in this process, as the schema owner ------------------------------------


def portal_app():
    from portal import create_app
    from portal.settings import from_env

    return create_app(from_env({**os.environ, **stack.portal_environment(owner=True)}))


@dataclass
class Seeded:
    client_ids: dict[str, int]  # email -> clients.id
    staff_ids: dict[str, int]  # email -> staff_users.id
    made: Counter
    quota_room: int  # the fewest uploads any load client may still keep


def seed(app, clients: int, staff: int) -> Seeded:
    """Agency, case managers, clients with verified accounts, care teams; what exists stays."""
    from sqlalchemy import func, select

    from portal.domain.accounts import passwords
    from portal.domain.accounts.onboarding import PRIVACY_VERSION
    from portal.domain.core import clock
    from portal.domain.core.roles import Role
    from portal.domain.models import (
        Agency,
        CareTeamMember,
        Client,
        ClientAccount,
        Document,
        StaffFactor,
        StaffUser,
    )
    from portal.extensions import db
    from tests.support import enrol_app

    made: Counter = Counter()
    hashed: list[str] = []

    def password_hash() -> str:  # one Argon2 hash for every account, only when needed
        if not hashed:
            hashed.append(passwords.hash_password(PASSWORD))
        return hashed[0]

    with app.app_context():
        s = db.session
        agency = s.scalar(select(Agency).where(Agency.name == AGENCY))
        if agency is None:
            agency = Agency(name=AGENCY, timezone=AGENCY_TIMEZONE)
            s.add(agency)
            s.flush()
            made["agency"] += 1

        staff_emails = [staff_email(n) for n in range(staff)]
        members = {
            u.email: u
            for u in s.scalars(select(StaffUser).where(StaffUser.email.in_(staff_emails)))
        }
        for n, email in enumerate(staff_emails):
            if email in members and passwords.needs_rehash(members[email].password_hash):
                members[email].password_hash = password_hash()  # the production cost changed
            if email not in members:
                members[email] = StaffUser(
                    email=email,
                    display_name=f"Load Manager {n:02d}",
                    role=Role.CASE_MANAGER,
                    agency=agency,
                    password_hash=password_hash(),
                    shown_to_clients=True,
                )
                s.add(members[email])
                made["staff"] += 1
        s.flush()
        with_app = set(
            s.scalars(
                select(StaffFactor.staff_id).where(
                    StaffFactor.staff_id.in_([m.id for m in members.values()]),
                    StaffFactor.confirmed_at.is_not(None),
                )
            )
        )
        for member in members.values():
            if member.id not in with_app:  # every load case manager's app has LOAD_TOTP_KEY
                enrol_app(s, member.id, LOAD_TOTP_KEY)
                made["staff apps"] += 1
        s.flush()

        ids = [personal_id(n) for n in range(clients)]
        records = {
            c.personal_id: c for c in s.scalars(select(Client).where(Client.personal_id.in_(ids)))
        }
        for n, pid in enumerate(ids):
            if pid not in records:
                records[pid] = Client(
                    personal_id=pid,
                    owning_agency=agency,
                    first_name=f"Load{n:04d}",
                    last_name="Person",
                    name_quality=1,
                    dob=date(1970, 1, 1) + timedelta(days=n * 37),
                    dob_quality=1,
                    email=client_email(n),
                )
                s.add(records[pid])
                made["clients"] += 1
        s.flush()

        record_ids = [records[pid].id for pid in ids]
        with_team = set(
            s.scalars(
                select(CareTeamMember.client_id).where(CareTeamMember.client_id.in_(record_ids))
            )
        )
        for n, pid in enumerate(ids):
            if records[pid].id not in with_team:
                manager = members[staff_emails[n % staff]]
                s.add(
                    CareTeamMember(
                        client_id=records[pid].id, staff_id=manager.id, is_case_manager=True
                    )
                )
                made["care_team_seats"] += 1

        emails = [client_email(n) for n in range(clients)]
        accounts = {
            a.email: a
            for a in s.scalars(select(ClientAccount).where(ClientAccount.email.in_(emails)))
        }
        for n, email in enumerate(emails):
            account = accounts.get(email)
            if account is not None and passwords.needs_rehash(account.password_hash):
                account.password_hash = password_hash()  # the production cost changed
            if account is None:
                account = ClientAccount(
                    email=email,
                    first_name=f"Load{n:04d}",
                    agency=agency,
                    password_hash=password_hash(),
                )
                s.add(account)
                made["client_accounts"] += 1
            if account.client_id is None:
                account.client_id = records[ids[n]].id
                account.email_verified_at = clock.now()
                account.privacy_version = PRIVACY_VERSION
        s.commit()

        kept = dict(
            s.execute(
                select(Document.client_id, func.count(Document.id))
                .where(
                    Document.client_id.in_(record_ids),
                    Document.uploaded_by_account_id.is_not(None),
                    Document.review_status != "rejected",
                    Document.scan_status.not_in(("infected", "missing")),
                )
                .group_by(Document.client_id)
            ).all()
        )
        quota = app.extensions["portal.settings"].client_quota_files
        room = min((quota - kept.get(i, 0) for i in record_ids), default=quota)
        result = Seeded(
            client_ids={client_email(n): records[pid].id for n, pid in enumerate(ids)},
            staff_ids={email: members[email].id for email in staff_emails},
            made=made,
            quota_room=room,
        )
        s.remove()
    return result
