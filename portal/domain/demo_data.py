"""Demo agencies and sign-ins for the one-command development run (never in production)."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain import passwords
from portal.domain.models import Agency, ClientAccount, StaffUser
from portal.domain.roles import Role
from portal.domain.session import dbs

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

CLIENTS = [("client@demo.example", "Jordan", 0)]


def _agency(name: str, timezone: str) -> Agency:
    agency = dbs().scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name, timezone=timezone)
        dbs().add(agency)
        dbs().flush()
    return agency


def create(password: str) -> list[str]:
    """Create (or keep) the demo rows; returns one line per sign-in for the README and console."""
    agencies = [_agency(name, tz) for name, tz in AGENCIES]
    password_hash = passwords.hash_password(password)
    lines = []
    for email, name, role, agency_index in STAFF:
        agency = agencies[agency_index] if agency_index is not None else None
        if dbs().scalar(select(StaffUser).where(StaffUser.email == email)) is None:
            dbs().add(
                StaffUser(
                    email=email,
                    display_name=name,
                    role=role,
                    agency=agency,
                    password_hash=password_hash,
                )
            )
        lines.append(f"staff  {email:32} {role.value:14} {agency.name if agency else '-'}")
    for email, first_name, agency_index in CLIENTS:
        if dbs().scalar(select(ClientAccount).where(ClientAccount.email == email)) is None:
            dbs().add(
                ClientAccount(
                    email=email,
                    first_name=first_name,
                    agency=agencies[agency_index],
                    password_hash=password_hash,
                )
            )
        lines.append(f"client {email:32} {'client':14} {agencies[agency_index].name}")
    dbs().flush()
    return lines
