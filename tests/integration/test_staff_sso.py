"""Staff single sign-on (issue 19) through a real OpenID Connect provider (npm oidc-provider,
`tests/oidc/op.mjs`): the portal's test client starts the sign-in, `requests` plays the
browser at the provider (its sign-in page), and the portal's callback exchanges the code with
the provider over HTTP and checks the ID token with the provider's published keys."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from portal.domain.core.roles import Role
from portal.domain.models import AuditEvent, StaffUser
from portal.extensions import limiter
from portal.integrations import oidc
from portal.settings import SsoProvider
from tests.support import TEST_PASSWORD, staff_sessions, totp_now

BASE = "https://portal.test"
DOMAIN = "harbor.example"


@pytest.fixture
def sso(app, identity_provider, agency_a):
    """The portal with one provider, "harbor" (agency A's; trusted for nothing by default);
    `sso(**changes)` configures it again. The provider's people start empty."""
    identity_provider.people()
    original = app.extensions["portal.settings"]

    def configure(**changes):
        values = {
            "key": "harbor",
            "name": "Harbor work account",
            "discovery_url": identity_provider.discovery_url,
            "client_id": "portal",
            "client_secret": "portal-secret",
            "domains": (DOMAIN,),
            "agency": agency_a.name,
            **changes,
        }
        settings = original.with_overrides(sso_providers=(SsoProvider(**values),))
        app.extensions["portal.settings"] = settings
        oidc.init_app(app, settings)

    configure()
    yield configure
    app.extensions["portal.settings"] = original
    oidc.init_app(app, original)


def at_provider(browser, login: str, *, mfa: bool = False, next_url: str = "") -> str:
    """Start "Sign in with Harbor work account" in `browser` and sign in at the provider as
    `login`: returns the address the provider sends the browser back to (not yet opened)."""
    started = browser.form("/staff/sso/harbor/start", {"next": next_url}, token_from="/privacy")
    assert started.status_code == 303, started.status_code
    url = started.headers["Location"]
    query = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    http = requests.Session()
    for _ in range(10):
        if url.startswith(BASE):
            return url
        answer = http.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            continue
        action = re.search(r'<form method="post" action="([^"]+)"', answer.text).group(1)
        data = {"login": login, "password": "anything", **({"mfa": "1"} if mfa else {})}
        answer = http.post(urljoin(url, action), data=data, allow_redirects=False, timeout=10)
        url = urljoin(url, answer.headers["Location"])
    raise AssertionError(f"the provider never sent the browser back: {url}")


def come_back(browser, url: str):
    parts = urlsplit(url)
    return browser.get(f"{parts.path}?{parts.query}")


def sign_in_through(app, login: str, **kwargs):
    browser = app.test_client()
    return browser, come_back(browser, at_provider(browser, login, **kwargs))


def events(database, member, action: str) -> list[AuditEvent]:
    return database.session.scalars(
        select(AuditEvent).where(
            AuditEvent.subject_id == str(member.public_id), AuditEvent.action == action
        )
    ).all()


def case_manager(make, agency, login: str = "alex", **kwargs) -> StaffUser:
    return make.staff(Role.CASE_MANAGER, agency, email=f"{login}@{DOMAIN}", **kwargs)


@pytest.mark.requirement("R20")
def test_a_first_sign_in_links_by_verified_email_then_asks_the_portals_second_factor(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    browser, back = sign_in_through(app, "alex", next_url="/staff/notifications")
    assert back.status_code == 303 and back.headers["Location"] == "/staff/sign-in/code"
    assert staff_sessions(database, member) == 0  # the provider alone is not enough here
    done = browser.form("/staff/sign-in/code", {"code": totp_now()}, token_from="/privacy")
    assert done.status_code == 303 and done.headers["Location"] == "/staff/notifications"
    assert browser.get("/staff/").status_code == 200 and staff_sessions(database, member) == 1
    database.session.refresh(member)
    assert (member.sso_issuer, member.sso_subject, member.sso_provider) == (
        identity_provider.issuer,
        "alex",
        "harbor",
    )
    assert len(events(database, member, "staff.sso_linked")) == 1
    assert events(database, member, "sign_in.succeeded")[-1].details == {"factor": "totp"}


def test_once_bound_the_email_is_never_matched_again(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    sign_in_through(app, "alex")
    # alex changes their email at the provider: still alex's account (bound by subject).
    identity_provider.people(alex={"email": f"someone-else@{DOMAIN}"})
    _browser, back = sign_in_through(app, "alex")
    assert back.headers["Location"] == "/staff/sign-in/code"
    # Someone else at the provider takes alex's email: refused, nothing bound.
    identity_provider.people(mallory={"email": f"alex@{DOMAIN}", "email_verified": True})
    _browser, back = sign_in_through(app, "mallory")
    assert back.status_code == 200
    assert "linked to another work account" in back.get_data(as_text=True)
    database.session.refresh(member)
    assert member.sso_subject == "alex"
    assert (
        database.session.scalar(select(StaffUser).where(StaffUser.sso_subject == "mallory")) is None
    )


def test_a_wrong_state_and_a_replayed_code_sign_nobody_in(app, make, agency_a, database, sso):
    member = case_manager(make, agency_a)
    browser = app.test_client()
    url = at_provider(browser, "alex")
    forged = re.sub(r"state=[^&]+", "state=forged", url)
    assert come_back(browser, forged).status_code == 400
    # The real answer, once: it works (to the code step) ...
    assert come_back(browser, url).headers["Location"] == "/staff/sign-in/code"
    # ... and a second time it does not, in this browser (its state is used up) ...
    assert come_back(browser, url).status_code == 400
    # ... nor with the used code put in another browser's own new sign-in (the provider
    # refuses a code twice, and PKCE ties it to the browser that asked).
    other = app.test_client()
    fresh = at_provider(other, "alex")
    state = re.search(r"state=([^&]+)", fresh).group(1)
    replayed = re.sub(r"state=[^&]+", f"state={state}", url)
    answer = come_back(other, replayed)
    assert answer.status_code == 400 and "did not work" in answer.get_data(as_text=True)
    assert staff_sessions(database, member) == 0


@pytest.mark.parametrize(
    "wrong",
    [
        {"aud": "another-app"},
        {"aud": "another-app", "azp": "portal"},  # Authlib alone would take this one
        {"aud": ["another-app", "third-app"], "azp": "portal"},
        {"iss": "http://127.0.0.1:1"},
        {"exp_offset": -3600},
    ],
    ids=["another-audience", "azp-ours", "audiences-not-ours", "another-issuer", "expired"],
)
def test_an_id_token_signed_by_the_provider_but_not_for_this_sign_in_is_refused(
    app, make, agency_a, database, sso, identity_provider, wrong
):
    member = case_manager(make, agency_a)
    identity_provider.people(alex={"id_token": wrong})
    _browser, back = sign_in_through(app, "alex")
    assert back.status_code == 400
    database.session.refresh(member)
    assert member.sso_subject is None and staff_sessions(database, member) == 0


def test_an_unverified_email_links_only_where_the_provider_is_trusted_as_it_is(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    identity_provider.people(alex={"email_verified": False})
    _browser, back = sign_in_through(app, "alex")
    assert back.status_code == 200 and "not verified" in back.get_data(as_text=True)
    database.session.refresh(member)
    assert member.sso_subject is None
    sso(trust_email="always")  # Entra ID sends no email_verified: configured to trust it
    _browser, back = sign_in_through(app, "alex")
    assert back.headers["Location"] == "/staff/sign-in/code"
    database.session.refresh(member)
    assert member.sso_subject == "alex"


def test_an_email_of_another_domain_is_refused(
    app, make, agency_a, database, sso, identity_provider
):
    member = make.staff(Role.CASE_MANAGER, agency_a, email="alex@elsewhere.example")
    identity_provider.people(alex={"email": "alex@elsewhere.example"})
    _browser, back = sign_in_through(app, "alex")
    assert back.status_code == 200
    assert "not for email addresses of your organization" in back.get_data(as_text=True)
    database.session.refresh(member)
    assert member.sso_subject is None


def test_deactivation_in_the_portal_wins_over_the_provider(app, make, agency_a, database, sso):
    member = case_manager(make, agency_a)
    sign_in_through(app, "alex")  # bound now
    member.is_active = False
    database.session.commit()
    _browser, back = sign_in_through(app, "alex")
    assert back.status_code == 200 and "cannot be used" in back.get_data(as_text=True)
    assert staff_sessions(database, member) == 0
    # Never bound and deactivated: refused too, and not bound.
    other = case_manager(make, agency_a, login="blake")
    other.is_active = False
    database.session.commit()
    _browser, back = sign_in_through(app, "blake")
    assert back.status_code == 200 and "You are not signed in" in back.get_data(as_text=True)
    database.session.refresh(other)
    assert other.sso_subject is None


def test_a_provider_that_is_down_gives_a_clear_page(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    browser = app.test_client()
    url = at_provider(browser, "alex")
    identity_provider.stop()  # down between its sign-in page and the portal's callback
    try:
        answer = come_back(browser, url)
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert "cannot be reached right now" in answer.get_data(as_text=True)
        assert staff_sessions(database, member) == 0
        sso()  # a portal that never reached it: down at the first step
        started = browser.form("/staff/sso/harbor/start", {"next": ""}, token_from="/privacy")
        assert started.status_code == 503
        assert "Try again in a few minutes" in started.get_data(as_text=True)
        # Accounts not bound to single sign-on still sign in with password and code.
        password = app.test_client().form(
            "/staff/sign-in", {"email": member.email, "password": TEST_PASSWORD}
        )
        assert password.headers["Location"] == "/staff/sign-in/code"
    finally:
        identity_provider.start()


def test_an_agency_that_requires_sso_refuses_password_sign_in_but_not_a_system_admin(
    app, make, agency_a, database, sso
):
    member = case_manager(make, agency_a)
    admin = make.staff(Role.AGENCY_ADMIN, agency_a)
    from tests.support import signed_in

    settings = signed_in(app, admin).form(
        "/staff/agency/settings",
        {"default_roi_days": "365", "require_second_factor": "y", "require_sso": "y"},
    )
    assert settings.status_code == 303
    database.session.refresh(agency_a)
    assert agency_a.require_sso
    # The right password and a wrong one get one answer, which says where work accounts sign
    # in (R17: nothing tells a guesser the password was right), and neither counts a failure.
    answers = []
    for password in (TEST_PASSWORD, "not the password"):
        refused = app.test_client().form(
            "/staff/sign-in", {"email": member.email, "password": password}
        )
        assert refused.status_code == 200
        text = refused.get_data(as_text=True)
        answers.append(re.sub(r'(nonce|value)="[^"]*"', "", text))  # tokens differ per page
    assert answers[0] == answers[1]
    assert "use the work-account button" in text and "Sign in with Harbor work account" in text
    database.session.refresh(member)
    assert member.failed_sign_ins == 0 and staff_sessions(database, member) == 0
    assert len(events(database, member, "sign_in.sso_required")) == 2
    # Through the provider: fine.
    _browser, back = sign_in_through(app, "alex")
    assert back.headers["Location"] == "/staff/sign-in/code"
    # A system administrator is never SSO-only.
    system_admin = make.staff(Role.SYSTEM_ADMIN, None)
    assert signed_in(app, system_admin).get("/staff/").status_code == 200


def test_sso_cannot_be_required_where_no_provider_serves_the_agency(
    app, make, agency_b, database, sso
):
    admin = make.staff(Role.AGENCY_ADMIN, agency_b)  # "harbor" is agency A's alone
    from tests.support import signed_in

    answer = signed_in(app, admin).form(
        "/staff/agency/settings",
        {"default_roi_days": "365", "require_sso": "y", "sso_create_accounts": "y"},
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "cannot be required" in text
    database.session.refresh(agency_b)
    assert not agency_b.require_sso and not agency_b.sso_create_accounts


def test_no_account_is_made_unless_the_agency_allows_it_and_then_it_sees_no_client(
    app, make, agency_a, database, sso
):
    _browser, back = sign_in_through(app, "newcomer")
    assert back.status_code == 200
    assert "no portal account for you yet" in back.get_data(as_text=True)
    assert (
        database.session.scalar(select(StaffUser).where(StaffUser.email == f"newcomer@{DOMAIN}"))
        is None
    )
    agency_a.sso_create_accounts = True
    database.session.commit()
    browser, back = sign_in_through(app, "newcomer")
    created = database.session.scalar(
        select(StaffUser).where(StaffUser.email == f"newcomer@{DOMAIN}")
    )
    assert created.role == Role.NO_ACCESS_YET and created.agency_id == agency_a.id
    assert created.password_hash is None and created.sso_subject == "newcomer"
    # No password: the portal's own second factor, set up now (re-authentication uses it).
    assert back.headers["Location"] == "/staff/sign-in/set-up"
    page = browser.get("/staff/sign-in/set-up").get_data(as_text=True)
    key = re.search(r'class="secret-key"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    setup = re.search(r'name="setup" type="hidden" value="([^"]+)"', page).group(1)
    done = browser.form("/staff/sign-in/set-up", {"setup": setup, "code": totp_now(key)})
    assert done.status_code == 200 and "Your recovery codes" in done.get_data(as_text=True)
    home = browser.get("/staff/").get_data(as_text=True)
    assert "You see no client until an administrator" in home
    assert browser.get("/staff/clients").status_code == 403
    assert len(events(database, created, "staff.created_by_sso")) == 1


@pytest.mark.requirement("R20")
def test_the_providers_own_multi_factor_counts_only_where_trusted_and_used(
    app, make, agency_a, database, sso
):
    member = case_manager(make, agency_a)
    _browser, back = sign_in_through(app, "alex", mfa=True)
    assert back.headers["Location"] == "/staff/sign-in/code"  # not trusted: the portal's own
    sso(trust_mfa=True)
    _browser, back = sign_in_through(app, "alex")  # trusted, but not used this time
    assert back.headers["Location"] == "/staff/sign-in/code"
    browser, back = sign_in_through(app, "alex", mfa=True)
    assert back.status_code == 303 and back.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200 and staff_sessions(database, member) == 1
    assert events(database, member, "sign_in.succeeded")[-1].details == {
        "factor": "provider_mfa",
        "provider": "harbor",
    }
    # A system administrator always gives the portal's own.
    make.staff(Role.SYSTEM_ADMIN, None, email=f"root@{DOMAIN}")
    sso(trust_mfa=True, agency="")
    _browser, back = sign_in_through(app, "root", mfa=True)
    assert back.headers["Location"] == "/staff/sign-in/code"


def test_a_session_is_checked_with_the_provider_within_the_hour(
    app, make, agency_a, database, sso, identity_provider, frozen_clock
):
    member = case_manager(make, agency_a)
    sso(trust_mfa=True)
    browser, _back = sign_in_through(app, "alex", mfa=True)
    frozen_clock.advance(timedelta(minutes=25))
    assert browser.get("/staff/notifications").status_code == 200  # not due
    frozen_clock.advance(timedelta(minutes=25))  # 50 minutes: checked (a refresh grant), held
    checked = browser.get("/staff/notifications?page=2")
    assert checked.status_code == 303  # the same page again, the check's result committed
    assert checked.headers["Location"] == "/staff/notifications?page=2"
    assert browser.get("/staff/notifications").status_code == 200
    identity_provider.people(alex={"disabled": True})  # disabled at the provider now
    frozen_clock.advance(timedelta(minutes=25))
    assert browser.get("/staff/").status_code == 200  # not due yet
    frozen_clock.advance(timedelta(minutes=25))  # within the hour of the last check
    ended = browser.get("/staff/")
    assert ended.status_code == 303 and ended.headers["Location"] == "/staff/sign-in"
    assert staff_sessions(database, member) == 0
    assert "Sign in again with your work account" in browser.get("/staff/sign-in").get_data(
        as_text=True
    )
    assert events(database, member, "session.provider_check_failed")


def test_a_provider_down_at_the_check_is_tried_again_until_the_hour_is_up(
    app, make, agency_a, database, sso, identity_provider, frozen_clock
):
    member = case_manager(make, agency_a)
    sso(trust_mfa=True)
    browser, _back = sign_in_through(app, "alex", mfa=True)
    identity_provider.stop()
    try:
        frozen_clock.advance(timedelta(minutes=25))
        assert browser.get("/staff/").status_code == 200
        frozen_clock.advance(timedelta(minutes=27))  # the check is tried, the provider is down
        assert browser.get("/staff/").status_code == 200
        frozen_clock.advance(timedelta(minutes=4))  # a form before the hour: no check
        saved = browser.form(
            "/staff/account/preferences", {"shown_to_clients": "y"}, token_from="/staff/account"
        )
        assert saved.status_code == 303
        frozen_clock.advance(timedelta(minutes=5))  # the hour is up
        assert browser.get("/staff/").status_code == 303
        assert staff_sessions(database, member) == 0
    finally:
        identity_provider.start()


@pytest.mark.real_commits
def test_two_identities_claiming_one_account_at_once_bind_one(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    database.session.commit()
    identity_provider.people(
        **{
            name: {"email": f"alex@{DOMAIN}", "email_verified": True}
            for name in ("p1", "p2", "p3", "p4")
        }
    )
    ready = []
    for name in ("p1", "p2", "p3", "p4"):
        browser = app.test_client()
        ready.append((browser, at_provider(browser, name)))
    results = []

    def finish(browser, url):
        results.append(come_back(browser, url).status_code)

    threads = [threading.Thread(target=finish, args=pair) for pair in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [200, 200, 200, 303]  # one to the code step, three refused
    database.session.expire_all()
    bound = database.session.get(StaffUser, member.id)
    assert bound.sso_subject in {"p1", "p2", "p3", "p4"}
    assert len(events(database, bound, "staff.sso_linked")) == 1


def test_an_account_without_a_password_confirms_sensitive_steps_with_its_factor_alone(
    app, make, agency_a, database, sso, frozen_clock
):
    agency_a.sso_create_accounts = True
    database.session.commit()
    browser, _back = sign_in_through(app, "newcomer")
    page = browser.get("/staff/sign-in/set-up").get_data(as_text=True)
    key = re.search(r'class="secret-key"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    setup = re.search(r'name="setup" type="hidden" value="([^"]+)"', page).group(1)
    browser.form("/staff/sign-in/set-up", {"setup": setup, "code": totp_now(key)})
    account = browser.get("/staff/account").get_data(as_text=True)
    assert "Harbor work account" in account and "Change your password" not in account
    frozen_clock.advance(timedelta(minutes=6))  # the sign-in is no longer "recent"
    settings = browser.get("/staff/account/second-factor").get_data(as_text=True)
    assert 'name="password"' not in settings and 'name="code"' in settings
    wrong = browser.form("/staff/account/second-factor/confirm", {"code": "000000"})
    assert wrong.status_code == 200 and "That code is not right" in wrong.get_data(as_text=True)
    frozen_clock.advance(timedelta(seconds=30))
    done = browser.form("/staff/account/second-factor/confirm", {"code": totp_now(key)})
    assert done.status_code == 303
    # Five minutes on, a page that asks to confirm first (a new phone's app) asks for the
    # code alone and goes on with it.
    frozen_clock.advance(timedelta(minutes=6))
    asked = browser.get("/staff/account/second-factor/app").get_data(as_text=True)
    assert "Confirm it is you" in asked and 'name="password"' not in asked
    frozen_clock.advance(timedelta(seconds=30))
    confirmed = browser.form(
        "/staff/account/second-factor/app", {"confirming": "1", "code": totp_now(key)}
    )
    assert confirmed.status_code == 303


def test_an_administrator_unlinks_a_work_account_and_the_next_sign_in_links_again(
    app, make, agency_a, database, sso, identity_provider
):
    member = case_manager(make, agency_a)
    admin = make.staff(Role.AGENCY_ADMIN, agency_a)
    browser, _back = sign_in_through(app, "alex")
    browser.form("/staff/sign-in/code", {"code": totp_now()}, token_from="/privacy")
    assert staff_sessions(database, member) == 1
    from tests.support import signed_in

    team = signed_in(app, admin)
    page = team.get(f"/staff/team/{member.public_id}").get_data(as_text=True)
    assert "Signs in with" in page and "Harbor work account" in page
    done = team.form(
        f"/staff/team/{member.public_id}/unlink-work-account",
        token_from=f"/staff/team/{member.public_id}",
    )
    assert done.status_code == 303
    database.session.refresh(member)
    assert member.sso_subject is None and staff_sessions(database, member) == 0
    assert events(database, member, "staff.sso_unlinked")
    # Their new work account (a new subject at the provider) links by verified email.
    identity_provider.people(alex2={"email": member.email})
    _browser, back = sign_in_through(app, "alex2")
    assert back.headers["Location"] == "/staff/sign-in/code"
    database.session.refresh(member)
    assert member.sso_subject == "alex2"


@pytest.mark.requirement("R34")
def test_what_a_provider_says_about_a_new_person_is_checked_like_typed_input(
    app, make, agency_a, database, sso, identity_provider
):
    agency_a.sso_create_accounts = True
    database.session.commit()
    identity_provider.people(
        hostile={"name": "<script>alert(1)</script>\u202e\x00"},
        broken={"email": f"two@at@{DOMAIN}"},
    )
    _browser, back = sign_in_through(app, "hostile")
    assert back.headers["Location"] == "/staff/sign-in/set-up"
    created = database.session.scalar(
        select(StaffUser).where(StaffUser.email == f"hostile@{DOMAIN}")
    )
    assert "\x00" not in created.display_name  # clean_name's rules, as for a typed name
    admin = make.staff(Role.AGENCY_ADMIN, agency_a)
    from tests.support import signed_in

    team = signed_in(app, admin).get("/staff/team").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in team
    _browser, back = sign_in_through(app, "broken")  # not an email address: no account
    assert back.status_code == 200 and "You are not signed in" in back.get_data(as_text=True)
    assert (
        database.session.scalar(select(StaffUser).where(StaffUser.sso_subject == "broken")) is None
    )


def test_a_provider_whose_metadata_names_another_issuer_signs_nobody_in(
    app, make, agency_a, database, sso
):
    member = case_manager(make, agency_a)
    sso(issuer="http://127.0.0.1:1")  # what the deployment pinned, not what the provider says
    _browser, back = sign_in_through(app, "alex")
    assert back.status_code == 400
    database.session.refresh(member)
    assert member.sso_subject is None


def test_an_email_that_only_becomes_an_account_s_email_when_lower_cased_is_refused(
    app, make, agency_a, database, sso, identity_provider
):
    member = make.staff(Role.CASE_MANAGER, agency_a, email=f"kim@{DOMAIN}")
    identity_provider.people(mallory={"email": f"\u212aim@{DOMAIN}"})  # the Kelvin sign
    _browser, back = sign_in_through(app, "mallory")
    assert back.status_code == 200 and "did not tell us your email" in back.get_data(as_text=True)
    database.session.refresh(member)
    assert member.sso_subject is None


def test_an_email_taken_as_it_is_never_links_an_administrator_nor_makes_an_account(
    app, make, agency_a, database, sso, identity_provider
):
    admin = make.staff(Role.AGENCY_ADMIN, agency_a, email=f"ada@{DOMAIN}")
    member = case_manager(make, agency_a)
    agency_a.sso_create_accounts = True
    database.session.commit()
    sso(trust_email="always")
    identity_provider.people(
        ada={"email": admin.email, "email_verified": False},
        alex={"email": member.email, "email_verified": False},
        newcomer={"email": f"newcomer@{DOMAIN}", "email_verified": False},
    )
    _browser, back = sign_in_through(app, "ada")
    assert back.status_code == 200 and "no portal account for you yet" in back.get_data(
        as_text=True
    )  # says nothing about the administrator's account
    _browser, back = sign_in_through(app, "newcomer")
    assert "no portal account for you yet" in back.get_data(as_text=True)
    _browser, back = sign_in_through(app, "alex")  # a case manager: linked, as configured
    assert back.headers["Location"] == "/staff/sign-in/code"
    database.session.refresh(admin)
    database.session.refresh(member)
    assert admin.sso_subject is None and member.sso_subject == "alex"
    assert (
        database.session.scalar(select(StaffUser).where(StaffUser.email == f"newcomer@{DOMAIN}"))
        is None
    )


def test_naughty_strings_from_a_provider_or_a_form_change_nothing_they_should_not(
    app, make, agency_a, database, sso, monkeypatch
):
    """The Big List of Naughty Strings as every claim a provider could send (the ID token's
    signature is not what is tested here) and as the sign-in's `next`: never an error, never
    an account or a binding from a string that is not a right email of the provider's
    domains."""
    import json

    from portal.domain.accounts import sso as single_sign_on
    from portal.settings import current as current_settings
    from tests.support import shared_path

    strings = json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(limiter, "enabled", False)  # the strings, not the per-address limit
    member = case_manager(make, agency_a)
    agency_a.sso_create_accounts = True
    database.session.commit()
    before = database.session.scalar(select(func.count()).select_from(StaffUser))
    with app.test_request_context():
        (provider,) = current_settings().sso_providers
        for text in strings:
            for claims in (
                {"iss": text, "sub": text, "email": text, "email_verified": True},
                {"iss": "https://idp", "sub": "s", "email": f"{text}@{DOMAIN}", "name": text},
                {"iss": "https://idp", "sub": text, "email": member.email, "amr": text},
            ):
                outcome = single_sign_on.sign_in(provider, claims)
                assert outcome.refusal is not None or outcome.member is not None
                database.session.rollback()
    assert database.session.scalar(select(func.count()).select_from(StaffUser)) == before
    browser = app.test_client()
    token = browser.csrf_token("/staff/sign-in")
    for text in strings[::7]:
        started = browser.post("/staff/sso/harbor/start", data={"csrf_token": token, "next": text})
        assert started.status_code == 303


def test_the_sign_in_form_may_leave_only_for_the_providers_own_page(
    app, make, agency_a, database, sso, identity_provider
):
    page = app.test_client().get("/staff/sign-in")
    assert (
        f"form-action 'self' https://www.weather.gov {identity_provider.issuer}"
        in (page.headers["Content-Security-Policy"])
    )
    # A provider whose sign-in page is on another host than its discovery URL (here the same
    # server by name, not by address): one more page, with a link, which CSP leaves alone.
    member = case_manager(make, agency_a)
    identity_provider.people(
        _sign_in_page_at=identity_provider.issuer.replace("127.0.0.1", "localhost")
    )
    sso()
    browser = app.test_client()
    started = browser.form("/staff/sso/harbor/start", {"next": ""}, token_from="/privacy")
    text = started.get_data(as_text=True)
    assert started.status_code == 200 and "Continue to Harbor work account" in text
    link = re.search(r'href="(http://localhost:[^"]+)"', text).group(1).replace("&amp;", "&")
    http = requests.Session()
    url = link
    for _ in range(10):
        if url.startswith(BASE):
            break
        answer = http.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            continue
        action = re.search(r'<form method="post" action="([^"]+)"', answer.text).group(1)
        answer = http.post(
            urljoin(url, action), data={"login": "alex"}, allow_redirects=False, timeout=10
        )
        url = urljoin(url, answer.headers["Location"])
    assert come_back(browser, url).headers["Location"] == "/staff/sign-in/code"
    database.session.refresh(member)
    assert member.sso_subject == "alex"


@pytest.mark.real_commits
def test_one_session_checked_by_several_requests_at_once_stays_signed_in(
    app, make, agency_a, database, sso, identity_provider, frozen_clock
):
    """Four pages of one session ask at the same moment, when the check is due: one asks the
    provider and writes what it found; the others use it (the provider refuses the same
    refresh token twice, and that must not sign the person out)."""
    member = case_manager(make, agency_a)
    sso(trust_mfa=True)  # reads the agency's name: before the test lets go of the database
    database.session.commit()
    browser, _back = sign_in_through(app, "alex", mfa=True)
    cookie = browser.get_cookie("__Host-portal").value
    tabs = []
    for _ in range(4):
        tab = app.test_client()
        tab.set_cookie("__Host-portal", cookie)
        tabs.append(tab)
    for _ in range(2):  # 49 minutes of work (idle for less than 30 at a time)
        frozen_clock.advance(timedelta(minutes=24.5))
        assert browser.get("/staff/").status_code == 200
    frozen_clock.advance(timedelta(minutes=6))  # 55 minutes: every tab finds the check due
    results = []

    def page(tab):
        results.append(tab.get("/staff/notifications").status_code)

    threads = [threading.Thread(target=page, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [200, 200, 200, 303]  # one checked; three used its result
    assert browser.get("/staff/").status_code == 200
    # The next hour's check works with what the first one kept.
    for minutes in (24.5, 24.5, 6):
        frozen_clock.advance(timedelta(minutes=minutes))
        assert browser.get("/staff/").status_code in (200, 303)
    assert browser.get("/staff/").status_code == 200
    assert staff_sessions(database, member) == 1
    assert not events(database, member, "session.provider_check_failed")


def test_requiring_sso_ends_sessions_begun_with_a_password_but_the_administrators_own(
    app, make, agency_a, database, sso
):
    member = case_manager(make, agency_a)
    other = case_manager(make, agency_a, login="blake")
    admin = make.staff(Role.AGENCY_ADMIN, agency_a)
    from tests.support import signed_in

    signed_in(app, member)
    through_provider, _back = sign_in_through(app, "blake")
    through_provider.form("/staff/sign-in/code", {"code": totp_now()}, token_from="/privacy")
    assert staff_sessions(database, other) == 1
    settings = signed_in(app, admin)
    answer = settings.form(
        "/staff/agency/settings",
        {"default_roi_days": "365", "require_second_factor": "y", "require_sso": "y"},
    )
    assert answer.status_code == 303
    assert staff_sessions(database, member) == 0  # began with a password: ended
    assert staff_sessions(database, other) == 1  # began through the provider: kept
    assert settings.get("/staff/agency/settings").status_code == 200  # the admin's own kept
