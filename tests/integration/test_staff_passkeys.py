"""Staff passkeys (issue 19): added from My account, used as the second step of a sign-in.
The server's checks are py_webauthn's, fed by a software passkey (tests/softkey.py) with real
signatures: user verification required, the portal's own origin and RP ID, each challenge
once, and a passkey answers only for the person who added it."""

from datetime import timedelta

from sqlalchemy import select

from portal.domain.accounts import factors, passkeys
from portal.domain.core.roles import Role
from portal.domain.models import AuditEvent, StaffFactor
from tests.softkey import SoftPasskey, options_in
from tests.support import TEST_PASSWORD, signed_in, staff_sessions

ORIGIN = "https://portal.test"  # the tests' BASE_URL: RP ID portal.test


def add_passkey(browser, device, name="Work phone"):
    page = browser.get("/staff/account/passkeys/new")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    answer = device.create(options_in(page.get_data(as_text=True)))
    return browser.form(
        "/staff/account/passkeys/new",
        {"answer": answer, "name": name},
        token_from="/staff/account/second-factor",  # the page itself would make a new challenge
    )


def to_code_page(app, member):
    browser = app.test_client()
    answer = browser.form("/staff/sign-in", {"email": member.email, "password": TEST_PASSWORD})
    assert answer.headers["Location"] == "/staff/sign-in/code"
    return browser, browser.get("/staff/sign-in/code").get_data(as_text=True)


def passkey_step(browser, answer):
    return browser.form("/staff/sign-in/passkey", {"answer": answer}, token_from="/privacy")


def test_a_case_manager_adds_a_passkey_and_signs_in_with_it(
    app, make, agency_a, frozen_clock, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    device = SoftPasskey(ORIGIN)
    added = add_passkey(signed_in(app, member), device)
    # The first passkey of someone without recovery codes: ten, shown once.
    assert added.status_code == 200 and "Your recovery codes" in added.get_data(as_text=True)
    (stored,) = passkeys.passkeys_of(member)
    assert stored.name == "Work phone" and stored.credential_id == device.credential_id
    frozen_clock.advance(timedelta(minutes=1))
    browser, page = to_code_page(app, member)
    answer = passkey_step(browser, device.get(options_in(page)))
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200
    event = database.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_id == str(member.public_id),
            AuditEvent.action == "sign_in.succeeded",
        )
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.details == {"factor": "passkey"}


def test_a_passkey_of_one_account_is_refused_for_another(app, make, agency_a, database):
    owner, other = make.staff(Role.CASE_MANAGER, agency_a), make.staff(Role.CASE_MANAGER, agency_a)
    device, others_device = SoftPasskey(ORIGIN), SoftPasskey(ORIGIN)
    add_passkey(signed_in(app, owner), device)
    add_passkey(signed_in(app, other), others_device)
    browser, page = to_code_page(app, other)
    refused = passkey_step(browser, device.get(options_in(page)))  # the owner's, validly signed
    assert refused.status_code == 200 and "did not work" in refused.get_data(as_text=True)
    assert other.failed_sign_ins == 1 and staff_sessions(database, other) == 1  # one from above


def test_no_user_verification_another_origin_or_a_replay_is_refused(app, make, agency_a):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    device = SoftPasskey(ORIGIN)
    add_passkey(signed_in(app, member), device)
    browser, page = to_code_page(app, member)
    unverified = passkey_step(browser, device.get(options_in(page), user_verified=False))
    assert "did not work" in unverified.get_data(as_text=True)
    page = unverified.get_data(as_text=True)  # a new challenge on the page again
    elsewhere = passkey_step(browser, device.get(options_in(page), origin="https://evil.test"))
    assert "did not work" in elsewhere.get_data(as_text=True)
    page = elsewhere.get_data(as_text=True)
    good = device.get(options_in(page))
    assert passkey_step(browser, good).status_code == 303
    # The same signed answer again, in another browser at the code step: its challenge is gone.
    again, _page = to_code_page(app, member)
    assert "did not work" in passkey_step(again, good).get_data(as_text=True)
    assert member.failed_sign_ins == 1  # counted (the success in between started again at 0)


def test_adding_is_refused_for_a_wrong_challenge_or_the_same_passkey_twice(
    app, make, agency_a, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    browser = signed_in(app, member)
    device = SoftPasskey(ORIGIN)
    page = browser.get("/staff/account/passkeys/new").get_data(as_text=True)
    stale = device.create(options_in(page))
    browser.get("/staff/account/passkeys/new")  # a newer challenge replaces that one
    refused = browser.form(
        "/staff/account/passkeys/new",
        {"answer": stale, "name": "x"},
        token_from="/staff/account/second-factor",
    )
    assert refused.status_code == 200 and "was not added" in refused.get_data(as_text=True)
    assert passkeys.passkeys_of(member) == []
    assert add_passkey(browser, device).status_code in (200, 303)
    twice = add_passkey(browser, device)
    assert "added already" in twice.get_data(as_text=True)
    assert len(passkeys.passkeys_of(member)) == 1


def test_a_passkey_can_be_removed_while_another_factor_remains(app, make, agency_a, database):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    browser = signed_in(app, member)
    add_passkey(browser, SoftPasskey(ORIGIN))
    (stored,) = passkeys.passkeys_of(member)
    settings = browser.get("/staff/account/second-factor").get_data(as_text=True)
    assert "Passkey: Work phone" in settings
    done = browser.form(
        f"/staff/account/second-factor/{stored.public_id}/remove",
        token_from="/staff/account/second-factor",
    )
    assert done.status_code == 303 and passkeys.passkeys_of(member) == []
    # The app is the last one left, and a case manager of this agency needs one.
    (app_factor,) = factors.confirmed(member)
    browser.form(
        f"/staff/account/second-factor/{app_factor.public_id}/remove",
        token_from="/staff/account/second-factor",
    )
    assert database.session.scalar(select(StaffFactor.id).where(StaffFactor.id == app_factor.id))


def test_an_ip_address_cannot_be_a_relying_party(app, monkeypatch):
    settings = app.extensions["portal.settings"]
    with app.app_context():
        assert passkeys.relying_party().id == "portal.test"
        monkeypatch.setitem(
            app.extensions,
            "portal.settings",
            settings.with_overrides(base_url="http://127.0.0.1:5000"),
        )
        assert passkeys.relying_party() is None


def test_a_passkey_confirms_it_is_you_instead_of_a_code(
    app, make, agency_a, frozen_clock, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    browser = signed_in(app, member)
    device = SoftPasskey(ORIGIN)
    add_passkey(browser, device)
    frozen_clock.advance(timedelta(minutes=6))  # the sign-in no longer counts as fresh
    page = browser.get("/staff/account/second-factor").get_data(as_text=True)
    assert "Make new recovery codes" not in page  # first: confirm it is you
    wrong = browser.form(
        "/staff/account/second-factor/confirm",
        {"password": TEST_PASSWORD, "passkey": device.get(options_in(page), user_verified=False)},
        token_from="/privacy",
    )
    assert wrong.status_code == 200 and member.failed_sign_ins == 1
    page = wrong.get_data(as_text=True)
    done = browser.form(
        "/staff/account/second-factor/confirm",
        {"password": TEST_PASSWORD, "passkey": device.get(options_in(page))},
        token_from="/privacy",
    )
    assert done.status_code == 303
    assert "Make new recovery codes" in browser.get("/staff/account/second-factor").get_data(
        as_text=True
    )
    actions = database.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.subject_id == str(member.public_id),
            AuditEvent.action == "reauth.succeeded",
        )
    ).all()
    assert actions == [{"factor": "passkey"}]


def test_an_absurd_answer_is_refused_without_an_error(app, make, agency_a, database):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    add_passkey(signed_in(app, member), SoftPasskey(ORIGIN))
    browser, _page = to_code_page(app, member)
    for answer in ("[" * 5000 + "]" * 5000, "{}", '{"rawId": 5}', "x" * 20_000, "null"):
        refused = passkey_step(browser, answer)
        assert refused.status_code == 200 and "did not work" in refused.get_data(as_text=True)
