"""R15: passwords are stored as Argon2id at least at m=19 MiB, t=2, p=1, and a sign-in rehashes
a stored password when the configured parameters were raised since it was hashed.

The passwords here are set through the real pages (a client redeeming an invitation or
following a reset link, a staff member following their invitation or reset link), with the
shipped Argon2 settings (the suite's own are cheap, m=8 KiB, t=1, so tests run fast).
"""

from __future__ import annotations

import base64
import re
from contextlib import contextmanager
from dataclasses import fields
from datetime import date

import pytest
from sqlalchemy import select

from portal.domain.accounts import passwords
from portal.domain.core import crypto
from portal.domain.core.roles import Role
from portal.domain.models import CareTeamMember, ClientAccount, OutboxMessage, StaffUser
from portal.settings import Settings
from tests.support import TEST_PASSWORD, link_in, signed_in

NEW_PASSWORD = "harbor lantern quietly ninety"
FLOOR = {"m": 19456, "t": 2, "p": 1}  # 19 MiB, 2 passes, 1 lane (OWASP, R15)
SHIPPED = {f.name: f.default for f in fields(Settings) if f.name.startswith("argon2_")}
ENCODED = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<digest>[A-Za-z0-9+/]+)"
)


def decoded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def argon2_of(stored: str | None) -> dict:
    """The parameters of a stored hash: it must be Argon2id, version 19 (0x13)."""
    match = ENCODED.fullmatch(stored or "")
    assert match, f"not an Argon2id hash: {stored!r}"
    return {
        "m": int(match["m"]),
        "t": int(match["t"]),
        "p": int(match["p"]),
        "salt": decoded(match["salt"]),
        "digest": decoded(match["digest"]),
    }


def configured(memory_kib: int, time_cost: int, parallelism: int) -> dict:
    return {
        "argon2_memory_kib": memory_kib,
        "argon2_time_cost": time_cost,
        "argon2_parallelism": parallelism,
    }


@contextmanager
def argon2_settings(app, **values):
    """Run with other Argon2 settings, as a deployment that changed them would."""
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(**values)
    try:
        yield
    finally:
        app.extensions["portal.settings"] = original


def assert_at_least_the_floor(stored: str, settings: dict) -> None:
    found = argon2_of(stored)
    assert found["m"] >= FLOOR["m"] and found["t"] >= FLOOR["t"] and found["p"] >= FLOOR["p"]
    assert (found["m"], found["t"], found["p"]) == (
        settings["argon2_memory_kib"],
        settings["argon2_time_cost"],
        settings["argon2_parallelism"],
    )
    assert len(found["salt"]) >= 16 and len(found["digest"]) >= 32  # salt: R15 asks 32 bits


def outbox_path(database, template: str, address: str) -> str:
    message = database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == template, OutboxMessage.to_address == address)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return link_in(message).replace("https://portal.test", "")


def reloaded(database, model, row_id):
    database.session.expire_all()
    return database.session.get(model, row_id)


# --- passwords set through the pages ---------------------------------------------------------


@pytest.mark.requirement("R15")
def test_the_shipped_argon2_settings_are_at_least_the_floor():
    assert SHIPPED["argon2_memory_kib"] >= FLOOR["m"]
    assert SHIPPED["argon2_time_cost"] >= FLOOR["t"]
    assert SHIPPED["argon2_parallelism"] >= FLOOR["p"]


@pytest.mark.requirement("R15")
def test_a_client_redeeming_an_invitation_gets_an_argon2id_hash(
    app, make, agency_a, case_manager_user, database
):
    record = make.client(agency_a, email="robin@example.org", dob=date(1990, 6, 1))
    database.session.add(CareTeamMember(client=record, staff=case_manager_user))
    database.session.commit()
    staff = signed_in(app, case_manager_user)
    staff.form(
        f"/staff/clients/{record.public_id}/identity-check",
        {"name_confirmed": "y", "facts": ["dob", "photo"]},
    )
    invited = staff.form(f"/staff/clients/{record.public_id}/invite", {"delivery": "email"})
    assert invited.status_code == 303
    path = outbox_path(database, "client_invitation", "robin@example.org")
    browser = app.test_client()
    with argon2_settings(app, **SHIPPED):
        assert browser.form(path, token_from=path).status_code == 303
        steps = [
            ("/invitation/date-of-birth", {"day": "1", "month": "6", "year": "1990"}),
            ("/invitation/email", {"email": "robin@example.org"}),
        ]
        for step, data in steps:
            assert browser.form(step, data).status_code == 303, step
        code = database.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "client_email_code")
            .order_by(OutboxMessage.id.desc())
        ).first()
        secret = crypto.decrypt_json(code.secret_params)["code"]
        assert browser.form("/invitation/verify", {"code": secret}).status_code == 303
        assert browser.form("/invitation/privacy", {"accept": "y"}).status_code == 303
        done = browser.form("/invitation/password", {"password": NEW_PASSWORD})
        assert done.status_code == 303
    account = database.session.scalar(
        select(ClientAccount).where(ClientAccount.client_id == record.id)
    )
    assert_at_least_the_floor(account.password_hash, SHIPPED)


@pytest.mark.requirement("R15")
def test_a_client_reset_link_stores_an_argon2id_hash(app, anonymous, make, agency_a, database):
    account = make.client_account(agency_a)
    assert anonymous.form("/forgot-password", {"email": account.email}).status_code == 200
    path = outbox_path(database, "password_reset", account.email)
    with argon2_settings(app, **SHIPPED):
        assert anonymous.form(path, {"password": NEW_PASSWORD}).status_code == 303
    stored = reloaded(database, ClientAccount, account.id).password_hash
    assert_at_least_the_floor(stored, SHIPPED)
    assert passwords.verify(stored, NEW_PASSWORD)


@pytest.mark.requirement("R15")
def test_a_staff_invitation_link_stores_an_argon2id_hash(app, agency_admin, database):
    invited = agency_admin.form(
        "/staff/team/invite",
        {"display_name": "Riley Rivera", "email": "riley@agency.test", "role": "case_manager"},
    )
    assert invited.status_code == 303
    path = outbox_path(database, "staff_invite", "riley@agency.test")
    with argon2_settings(app, **SHIPPED):
        assert app.test_client().form(path, {"password": NEW_PASSWORD}).status_code == 303
    riley = select(StaffUser).where(StaffUser.email == "riley@agency.test")
    assert_at_least_the_floor(database.session.scalar(riley).password_hash, SHIPPED)


@pytest.mark.requirement("R15")
def test_a_staff_reset_link_stores_an_argon2id_hash_with_a_fresh_salt(
    app, anonymous, make, agency_a, database
):
    first, second = (make.staff(Role.CASE_MANAGER, agency_a) for _ in range(2))
    stored = []
    with argon2_settings(app, **SHIPPED):
        for member in (first, second):  # the same new password for both
            anonymous.form("/staff/forgot-password", {"email": member.email})
            path = outbox_path(database, "password_reset", member.email)
            assert anonymous.form(path, {"password": NEW_PASSWORD}).status_code == 303
            stored.append(reloaded(database, StaffUser, member.id).password_hash)
    for each in stored:
        assert_at_least_the_floor(each, SHIPPED)
    assert argon2_of(stored[0])["salt"] != argon2_of(stored[1])["salt"]
    assert stored[0] != stored[1]


# --- rehashing at sign-in ------------------------------------------------------------------

RAISED = configured(FLOOR["m"], FLOOR["t"], FLOOR["p"])
RAISED_AGAIN = configured(24576, 3, 2)


def sign_in_wrongly(app, account) -> None:
    path = "/staff/sign-in" if account.kind == "staff" else "/sign-in"
    answer = app.test_client().form(path, {"email": account.email, "password": "not it at all"})
    assert answer.status_code == 200 and "not right" in answer.get_data(as_text=True)


def stored_hash(database, account) -> str:
    return reloaded(database, type(account), account.id).password_hash


@pytest.mark.requirement("R15")
@pytest.mark.parametrize("kind", ["client", "staff"])
def test_signing_in_rehashes_when_the_parameters_were_raised_and_failing_does_not(
    app, make, agency_a, database, kind
):
    account = make.client_account(agency_a) if kind == "client" else make.staff(agency=agency_a)
    cheap = stored_hash(database, account)
    assert argon2_of(cheap)["m"] < FLOOR["m"]  # hashed with the suite's cheap settings

    with argon2_settings(app, **RAISED):
        sign_in_wrongly(app, account)
        assert stored_hash(database, account) == cheap  # a wrong password changes nothing
        signed_in(app, account)
        rehashed = stored_hash(database, account)
        assert_at_least_the_floor(rehashed, RAISED)
        assert passwords.verify(rehashed, TEST_PASSWORD)
        signed_in(app, account)  # already at these parameters: not hashed again
        assert stored_hash(database, account) == rehashed

    with argon2_settings(app, **RAISED_AGAIN):
        sign_in_wrongly(app, account)
        assert stored_hash(database, account) == rehashed
        signed_in(app, account)
        assert_at_least_the_floor(stored_hash(database, account), RAISED_AGAIN)
