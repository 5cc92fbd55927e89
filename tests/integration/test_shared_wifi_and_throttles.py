"""Issue 15: limits that fit a shelter's shared Wi-Fi, and "throttled means throttled" on every
check of a current password (both account kinds)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import settings as settings_module
from portal.domain.accounts import passwords
from portal.domain.accounts import signin as accounts
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock
from portal.domain.core.roles import Role
from portal.domain.models import AuditEvent, ClientAccount, StaffUser
from tests.support import TEST_PASSWORD, signed_in

SHELTER = {"REMOTE_ADDR": "203.0.113.7"}
NEW = "quiet harbor evening lantern"
WRONG = "not the password at all"


def _browser(app, address=SHELTER):
    browser = app.test_client()
    browser.environ_base.update(address)
    return browser


def _sign_in(browser, email: str, password: str):
    return browser.form("/sign-in", {"email": email, "password": password})


# --- shared Wi-Fi ----------------------------------------------------------------------------


def test_two_hundred_clients_sign_in_from_one_shelter_address_without_a_refusal(
    app, make, database
):
    agency = make.agency()
    emails = []
    shared_hash = hash_password(TEST_PASSWORD)
    for n in range(200):
        record = make.client(agency, first_name=f"Guest{n}", email=f"guest{n}@shelter.test")
        database.session.add(
            ClientAccount(
                email=f"guest{n}@shelter.test",
                first_name=f"Guest{n}",
                agency=agency,
                client_id=record.id,
                password_hash=shared_hash,
                email_verified_at=clock.now(),
                privacy_version=PRIVACY_VERSION,
            )
        )
        emails.append(f"guest{n}@shelter.test")
    database.session.commit()
    answers = []
    for n, email in enumerate(emails):
        browser = _browser(app)
        if n % 10 == 0:  # one in ten mistypes first, as people do on a phone
            answers.append(_sign_in(browser, email, WRONG).status_code)
        answers.append(_sign_in(browser, email, TEST_PASSWORD).status_code)
    assert 429 not in answers
    assert answers.count(303) == 200 and answers.count(200) == 20


@pytest.mark.requirement("R16")
def test_a_guesser_on_one_address_is_stopped_there_and_others_keep_signing_in(app, make):
    accounts_ = [make.client_account() for _ in range(3)]
    guesser = _browser(app, {"REMOTE_ADDR": "198.51.100.9"})
    limit = int(settings_module.Settings().sign_in_ip_limit.split()[0])
    answers = [_sign_in(guesser, f"nobody{n}@example.org", WRONG).status_code for n in range(limit)]
    assert answers == [200] * limit
    stopped = _sign_in(guesser, accounts_[0].email, TEST_PASSWORD)
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 60
    elsewhere = _browser(app)  # the shelter down the road is not affected
    assert _sign_in(elsewhere, accounts_[1].email, TEST_PASSWORD).status_code == 303


@pytest.mark.requirement("R16")
def test_guessing_one_account_from_many_addresses_is_stopped_by_its_own_throttle(
    app, make, database
):
    account = make.client_account()
    for n in range(accounts.DELAY_AFTER_FAILURES):
        browser = _browser(app, {"REMOTE_ADDR": f"192.0.2.{n + 1}"})
        assert _sign_in(browser, account.email, WRONG).status_code == 200
    fresh = _browser(app, {"REMOTE_ADDR": "192.0.2.200"})
    assert _sign_in(fresh, account.email, TEST_PASSWORD).status_code == 200  # refused
    database.session.expire_all()
    assert database.session.get(ClientAccount, account.id).throttled_until > clock.now()


# --- throttled means throttled ----------------------------------------------------------------


def _people(app, make, agency_a):
    client = make.client_account(agency_a)
    staff = make.staff(Role.CASE_MANAGER, agency_a)
    return [
        ("client", client, signed_in(app, client), "/account"),
        ("staff", staff, signed_in(app, staff), "/staff/account"),
    ]


def _throttle(database, account) -> None:
    database.session.expire_all()
    fresh = database.session.get(type(account), account.id)
    fresh.failed_sign_ins = accounts.DELAY_AFTER_FAILURES
    fresh.throttled_until = clock.now() + timedelta(minutes=5)
    database.session.commit()


def _hash_of(database, account) -> str:
    database.session.expire_all()
    return database.session.get(type(account), account.id).password_hash


def _actions(database, action: str) -> list[AuditEvent]:
    return database.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_changing_the_password_while_throttled_is_refused_even_with_the_right_one(
    app, make, agency_a, database
):
    for _kind, account, browser, page in _people(app, make, agency_a):
        before = _hash_of(database, account)
        _throttle(database, account)
        refused = browser.form(page, {"current_password": TEST_PASSWORD, "new_password": NEW})
        assert refused.status_code == 200
        assert "wrong password too many times" in refused.get_data(as_text=True)
        assert _hash_of(database, account) == before
    assert len(_actions(database, "password_change.throttled")) == 2


@pytest.mark.requirement("R57")
def test_wrong_current_passwords_count_and_soon_stop_being_checked(app, make, agency_a, database):
    """From an unlocked session: after 5 wrong answers the account waits, like sign-in."""
    for _kind, account, browser, page in _people(app, make, agency_a):
        before = _hash_of(database, account)
        for _ in range(accounts.DELAY_AFTER_FAILURES):
            wrong = browser.form(page, {"current_password": WRONG, "new_password": NEW})
            assert "current password is not right" in wrong.get_data(as_text=True)
        late = browser.form(page, {"current_password": TEST_PASSWORD, "new_password": NEW})
        assert "wrong password too many times" in late.get_data(as_text=True)
        database.session.expire_all()
        stored = database.session.get(type(account), account.id)
        assert stored.failed_sign_ins == accounts.DELAY_AFTER_FAILURES
        assert stored.password_hash == before
    assert len(_actions(database, "password_change.failed")) == 2 * accounts.DELAY_AFTER_FAILURES


@pytest.mark.parametrize(
    ("kind", "path", "data", "token_from"),
    [
        ("client", "/account/sessions/end", {"session": "others"}, "/account/sessions"),
        ("client", "/account/deactivate", {"confirm": "y"}, "/account/deactivate"),
        ("client", "/account/email", {"new_email": "new@example.org"}, "/account/email"),
        ("staff", "/staff/account/sessions/end", {"session": "others"}, "/staff/account/sessions"),
    ],
)
@pytest.mark.requirement("R27")
def test_every_re_authentication_refuses_a_throttled_account(
    app, make, agency_a, database, frozen_clock, kind, path, data, token_from
):
    account = make.client_account(agency_a) if kind == "client" else make.staff(agency=agency_a)
    browser = signed_in(app, account)
    frozen_clock.advance(timedelta(minutes=6))  # the password typed at sign-in is not recent
    _throttle(database, account)
    answer = browser.form(path, {**data, "password": TEST_PASSWORD}, token_from=token_from)
    assert answer.status_code == 200
    assert "wrong password too many times" in answer.get_data(as_text=True)
    assert _actions(database, "reauth.throttled")
    database.session.expire_all()
    assert database.session.get(type(account), account.id).is_active  # nothing happened


@pytest.mark.requirement("R17")
def test_a_suspended_or_throttled_account_is_refused_before_the_password_is_looked_at(
    make, database, monkeypatch
):
    staff = make.staff()
    staff.suspended_at = clock.now()
    checked: list = []
    real = passwords.verify
    monkeypatch.setattr(
        passwords, "verify", lambda stored, pw: checked.append(stored) or real(stored, pw)
    )
    assert accounts.check_current_password(staff, TEST_PASSWORD) == "throttled"
    assert checked == [None]  # the same work, on the dummy hash only
    staff.suspended_at = None
    assert accounts.check_current_password(staff, TEST_PASSWORD) is None
    assert isinstance(staff, StaffUser)


def test_production_refuses_to_serve_when_several_processes_would_count_limits_apart(
    tmp_path, caplog
):
    """A gunicorn config file can ask for 4 workers where the start-up check cannot see it;
    the WSGI server says so on every request (`wsgi.multiprocess`)."""
    import logging

    from portal import create_app
    from tests.support import make_settings

    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        env="production",
        secret_key="p" * 48,
        data_encryption_key="x" * 44,
        allow_sqlite_in_production=True,
        allow_local_storage_in_production=True,
        allow_unscanned_files=True,
        argon2_time_cost=2,
        argon2_memory_kib=19456,
        ratelimit_storage_uri="memory://",
    )
    app = create_app(settings)
    caplog.set_level(logging.CRITICAL, logger="portal")
    one = app.test_client().get("/", base_url="https://localhost")
    assert one.status_code == 200
    several = app.test_client().get(
        "/", base_url="https://localhost", environ_overrides={"wsgi.multiprocess": True}
    )
    assert several.status_code == 503
    assert any("in-memory rate-limit store" in r.getMessage() for r in caplog.records)
