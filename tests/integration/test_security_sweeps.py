"""Sweeps of every route as every role, built on the access matrix's URL-map walk.

- R32: extra fields (`role`, `agency_id`, `is_active`, `client_id`, `dob`, `ssn`,
  `password_hash`, ...) posted to every POST route change no sensitive column of any account or
  client; real writes with those extras change only what their form allows; no answer carries a
  password hash, a token hash, a key, a second-factor secret or a full SSN.
- R21: every page with a password field is on a list that says whose password it is; posting
  new passwords to every route sets nobody else's.
- R19: no page and no form class has a password hint or a security question.
- R44 (with R23, R42, R43): the header and cookie check of every response, which stands in for
  ZAP's baseline and the Mozilla Observatory (they need the internet).
"""

from __future__ import annotations

import hashlib
import importlib
import re
import secrets
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.models import (
    AccountToken,
    Client,
    ClientAccount,
    ClientInvitation,
    ContactEvent,
    RecoveryCode,
    ReviewItem,
    StaffFactor,
    StaffUser,
    UserSession,
)
from portal.extensions import limiter
from tests.integration import test_access_matrix as matrix
from tests.integration.test_access_matrix import ROLES, SKIP_POST, routes, url_for_rule
from tests.support import TEST_PASSWORD, second_step, signed_in

# The access matrix's accounts for every role and the objects its routes point at (a fixture
# here too): `(accounts, target)`.
people = matrix.people

WRITERS = ["client", "case_manager_a", "agency_admin_a", "system_admin"]
NEW_PASSWORD = "quartz lagoon thimble orchard"  # passes the policy; never anyone's yet
SSN = "518274439"
OTHER_SSN = "623145678"

# The columns no stray form field may touch, per table.
SENSITIVE = {
    StaffUser: (
        "role",
        "agency_id",
        "is_active",
        "password_hash",
        "email",
        "deactivated_at",
        "suspended_at",
        "sso_subject",
    ),
    ClientAccount: (
        "agency_id",
        "is_active",
        "password_hash",
        "email",
        "client_id",
        "email_verified_at",
        "privacy_version",
        "deactivated_at",
        "suspended_at",
    ),
    Client: (
        "owning_agency_id",
        "dob",
        "dob_quality",
        "ssn_encrypted",
        "ssn_last4",
        "ssn_quality",
        "email",
        "first_name",
        "last_name",
        "deleted_at",
    ),
}


# --- the sweep ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_page_linting(monkeypatch):
    """The checking client lints every HTML page it fetches (`tests.support.check_page`); the
    access matrix does that for every route and role already, and these sweeps fetch each page
    several times over, so here it is left out (a third of the time)."""
    monkeypatch.setattr("tests.support.check_page", lambda response: None)


def browsers_for(app, accounts, roles):
    """One signed-in test client per role, made once (sign-in costs a hash and a code)."""
    browsers = {}
    for role in roles:
        limiter.reset()
        browsers[role] = (
            app.test_client() if role == "anonymous" else signed_in(app, accounts[role])
        )
    return browsers


def get_sweep(app, browsers, target):
    """(role, rule, response) for every GET route as every role in `browsers`."""
    for rule, _view in routes(app):
        if "GET" not in rule.methods:
            continue
        url = url_for_rule(rule, target)
        for role, browser in browsers.items():
            yield role, rule, browser.get(url)


def post_sweep(app, browsers, target, data):
    """(role, rule, response) for every POST route (but the sign-in and sign-out ones) as
    every role in `browsers`, each with a valid CSRF token and `data`. A browser's token is
    fetched once, and again only if a session change made it stale."""
    tokens: dict[str, str] = {}
    for rule, _view in routes(app):
        if "POST" not in rule.methods or rule.endpoint in SKIP_POST:
            continue
        url = url_for_rule(rule, target)
        for role, browser in browsers.items():
            limiter.reset()  # a rate limit would stop a handler before it reads the form
            for _try in range(2):
                if role not in tokens:
                    tokens[role] = browser.csrf_token("/privacy")
                response = browser.post(url, data={**data, "csrf_token": tokens[role]})
                if not csrf_refused(response):
                    break
                del tokens[role]
            yield role, rule, response


def csrf_refused(response) -> bool:
    """The CSRF check (not the form) refused it: the generic 400 page, no form errors."""
    return response.status_code == 400 and b"There is a problem" not in response.data


def handled(response) -> bool:
    """The route's own handler answered (not the access check: 403, 404 or a sign-in)."""
    location = response.headers.get("Location", "")
    sign_in = location.startswith(("/sign-in", "/staff/sign-in"))
    return response.status_code not in (403, 404) and not sign_in


def snapshot(database):
    """{(table, id): (sensitive column values)} of every account and client row."""
    database.session.expire_all()
    rows = {}
    for model, columns in SENSITIVE.items():
        for row in database.session.execute(
            select(model.id, *(getattr(model, c) for c in columns))
        ):
            rows[(model.__tablename__, row[0])] = dict(zip(columns, row[1:], strict=True))
    return rows


def changed(before, after):
    return {
        key: {c: (v, after[key][c]) for c, v in values.items() if after[key][c] != v}
        for key, values in before.items()
        if key in after and after[key] != values
    }


def with_ssns(database, accounts, target):
    """Give the matrix's client and the target client a full SSN each (to look for)."""
    own = database.session.get(Client, accounts["client"].client_id)
    for record, number in ((own, SSN), (target.client, OTHER_SSN)):
        record.ssn_encrypted = crypto.encrypt_text(number)
        record.ssn_last4 = number[-4:]
        record.ssn_quality = 1
    database.session.commit()
    return own


def extras(other_agency, other_client):
    """Fields no form of the portal should take from a request."""
    return {
        "role": Role.SYSTEM_ADMIN.value,
        "agency_id": str(other_agency.id),
        "agency": str(other_agency.public_id),
        "owning_agency_id": str(other_agency.id),
        "is_active": "0",
        "client_id": str(other_client.public_id),
        "dob": "1911-11-11",
        "ssn": "123456789",
        "password_hash": "x",
        "email_verified_at": "2020-01-01",
        "deactivated_at": "2020-01-01",
        "privacy_version": "0",
        # The caller's own password (so the handlers behind a re-authentication read on), and
        # a new one under every name a password field has.
        "password": TEST_PASSWORD,
        "new_password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }


# --- R32: field allowlists on writes --------------------------------------------------------


@pytest.mark.requirement("R32")
def test_extra_fields_posted_to_every_route_change_no_sensitive_column(
    app, people, make, agency_b, database
):
    accounts, target = people
    other_client = make.client(agency_b, first_name="Other")
    make.client_account(agency_b)  # another agency's client account, in the snapshot too
    with_ssns(database, accounts, target)
    browsers = browsers_for(app, accounts, WRITERS)
    before = snapshot(database)
    reached = dict.fromkeys(WRITERS, 0)
    token_refused = []
    for role, rule, response in post_sweep(app, browsers, target, extras(agency_b, other_client)):
        assert response.status_code < 500, f"{role} POST {rule.rule}: {response.status_code}"
        if csrf_refused(response):
            token_refused.append(f"{role} {rule.rule}")
        reached[role] += handled(response)
    assert token_refused == []  # every POST reached its handler with the extras
    after = snapshot(database)
    assert changed(before, after) == {}
    assert set(after) == set(before)  # and no account or client was made from the extras
    # The sweep went through every role's own routes, signed in to the end.
    assert reached["client"] >= 25 and reached["case_manager_a"] >= 35
    assert reached["agency_admin_a"] >= 50 and reached["system_admin"] >= 15
    for role, browser in browsers.items():
        home = "/home" if role == "client" else "/staff/"
        assert browser.get(home).status_code == 200, f"{role} was signed out by the sweep"


@pytest.mark.requirement("R32", "R33")
def test_a_clients_real_writes_take_only_their_own_fields(app, people, make, agency_b, database):
    accounts, _target = people
    account = accounts["client"]
    other_client = make.client(agency_b, first_name="Other")
    browser = signed_in(app, account)
    junk = extras(agency_b, other_client)
    before = snapshot(database)
    last_event = database.session.scalar(select(func.max(ContactEvent.id))) or 0
    # A check-in: a contact event of the client's own record, nothing else.
    assert browser.form("/check-in", junk, token_from="/home").status_code == 303
    assert changed(before, snapshot(database)) == {}
    events = database.session.scalars(
        select(ContactEvent).where(ContactEvent.kind == "check_in", ContactEvent.id > last_event)
    )
    assert [event.client_id for event in events] == [account.client_id]
    # A new contact email: staged for review (R33), the payload holds the email alone. The
    # record's phone goes back as the form shows it (left out, it would be a removal).
    items_before = set(database.session.scalars(select(ReviewItem.id)))
    phone = {"phone_1_number": matrix.OWN_PHONE, "phone_1_kind": "mobile", "phone_1_text": "y"}
    sent = browser.form("/contact", {**junk, **phone, "email": "fresh.address@example.org"})
    assert sent.status_code in (200, 303)
    assert changed(before, snapshot(database)) == {}
    staged = database.session.scalars(
        select(ReviewItem).where(ReviewItem.id.not_in(items_before))
    ).all()
    assert [item.kind for item in staged] == ["contact_email"]
    assert crypto.decrypt_json(staged[0].payload_encrypted) == {
        "email": "fresh.address@example.org"
    }
    assert staged[0].client_id == account.client_id
    assert staged[0].agency_id == account.agency_id
    # Preferences: the language changes, the rest of the account does not.
    browser.form("/account/preferences", {**junk, "language": "es"}, token_from="/account")
    database.session.refresh(account)
    assert account.preferred_language == "es"
    assert changed(before, snapshot(database)) == {}


@pytest.mark.requirement("R32")
def test_an_agency_admin_changing_a_role_changes_the_role_alone(app, people, agency_b, database):
    accounts, target = people
    admin = signed_in(app, accounts["agency_admin_a"])
    page = f"/staff/team/{target.public_id}"
    junk = {
        **extras(agency_b, target.client),
        "email": "taken.over@evil.example",
        "display_name": "Renamed",
    }
    before = snapshot(database)
    # The real form, with a role it does not offer: refused, nothing changes.
    refused = admin.form(f"{page}/role", {**junk, "role": "system_admin"}, token_from=page)
    assert refused.status_code == 200 and b"There is a problem" in refused.data
    assert changed(before, snapshot(database)) == {}
    # A role it offers, with the extras: the role changes and nothing else.
    done = admin.form(f"{page}/role", {**junk, "role": "agency_admin"}, token_from=page)
    assert done.status_code == 303
    assert changed(before, snapshot(database)) == {
        ("staff_users", target.id): {"role": ("case_manager", "agency_admin")}
    }
    database.session.refresh(target)
    assert target.display_name == "Target Person"


@pytest.mark.requirement("R32", "R33")
def test_staff_accepting_a_review_item_apply_its_payload_alone(
    app, people, make, agency_b, database
):
    accounts, target = people
    item = target.review_item  # a new contact email for target.client
    browser = signed_in(app, accounts["case_manager_a"])
    page = f"/staff/review/{item.public_id}"
    junk = {
        **extras(agency_b, make.client(agency_b)),
        "first_name": "Mallory",
        "owning_agency_id": str(agency_b.id),
    }
    before = snapshot(database)
    done = browser.form(page, {**junk, "action": "accept", "version": str(item.version)})
    assert done.status_code == 303
    record = ("clients", target.client.id)
    assert changed(before, snapshot(database)) == {
        record: {"email": (before[record]["email"], "new@example.org")}
    }


# --- R32: no hashes or secrets in answers ---------------------------------------------------


def _secrets_in_database(app, database):
    """Every value no answer may carry, with what it is."""
    database.session.expire_all()
    found = {}
    for model in (StaffUser, ClientAccount):
        for value in database.session.scalars(select(model.password_hash)):
            if value:
                found[value] = f"{model.__tablename__}.password_hash"
    for column in (
        AccountToken.token_hash,
        ClientInvitation.token_hash,
        ClientInvitation.binding_hash,
        ClientInvitation.email_link_hash,
        RecoveryCode.code_hash,
        ClientAccount.pending_email_code_hmac,
        UserSession.sid_hash,
    ):
        for value in database.session.scalars(select(column).where(column.is_not(None))):
            found[value] = f"{column.class_.__tablename__}.{column.key}"
    for factor in database.session.scalars(
        select(StaffFactor).where(StaffFactor.secret_encrypted.is_not(None))
    ):
        found[crypto.decrypt_text(factor.secret_encrypted)] = "staff_factors.secret"
    settings = app.extensions["portal.settings"]
    for name in ("secret_key", "data_encryption_key", "s3_secret_access_key"):
        value = getattr(settings, name, "")
        for part in (value or "").split(","):
            if part.strip():
                found[part.strip()] = name
    for number in (SSN, OTHER_SSN):
        found[number] = "a full SSN"
        found[f"{number[:3]}-{number[3:5]}-{number[5:]}"] = "a full SSN"
        found[f"{number[:3]} {number[3:5]} {number[5:]}"] = "a full SSN"
    return found


def _leaks(response, wanted: dict[str, str]) -> list[str]:
    body = response.get_data()
    seen = body + "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
    compact = re.sub(rb"\s+", b"", body)  # a key shown in groups of four
    hits = [what for value, what in wanted.items() if value.encode() in seen]
    hits += [
        what
        for value, what in wanted.items()
        if what == "staff_factors.secret" and value.encode() in compact
    ]
    if b"$argon2" in seen:
        hits.append("an argon2 hash")
    return sorted(set(hits))


@pytest.mark.requirement("R32", "R63")
def test_no_answer_carries_a_hash_a_key_a_second_factor_secret_or_a_full_ssn(
    app, people, make, database
):
    accounts, target = people
    with_ssns(database, accounts, target)
    # A live reset token of the matrix's client: its hash is in the database.
    database.session.add(
        AccountToken(
            token_hash=hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest(),
            purpose="reset",
            account_kind="client",
            account_id=accounts["client"].id,
            expires_at=clock.now() + timedelta(hours=1),
        )
    )
    database.session.commit()
    browsers = browsers_for(app, accounts, ROLES)
    wanted = _secrets_in_database(app, database)  # after the sign-ins: their session hashes
    kinds = set(wanted.values())
    assert {"staff_users.password_hash", "client_accounts.password_hash"} <= kinds
    assert {"account_tokens.token_hash", "user_sessions.sid_hash"} <= kinds
    assert {"staff_factors.secret", "secret_key", "a full SSN"} <= kinds
    leaks, pages = [], 0
    for role, rule, response in get_sweep(app, browsers, target):
        pages += response.status_code == 200
        for what in _leaks(response, wanted):
            leaks.append(f"{role} GET {rule.rule}: {what}")
    assert leaks == [], "\n".join(leaks)
    assert pages > 150


def _form_as_shown(html: str) -> dict[str, str]:
    """What a browser sends back for a page's form, untouched: every field's shown value."""
    soup = BeautifulSoup(html, "html.parser")
    values = {}
    for tag in soup.find_all("input"):
        kind, name = tag.get("type", "text"), tag.get("name")
        if name and (kind not in ("checkbox", "radio") or tag.has_attr("checked")):
            values[name] = tag.get("value", "")
    for tag in soup.find_all("select"):
        chosen = tag.find("option", selected=True) or tag.find("option")
        values[tag["name"]] = chosen.get("value", "") if chosen else ""
    for tag in soup.find_all("textarea"):
        values[tag["name"]] = tag.get_text()
    return values


@pytest.mark.requirement("R32", "R63")
def test_the_staff_edit_form_shows_the_last_four_of_an_ssn_and_keeps_the_number(
    app, people, database
):
    accounts, target = people
    record = target.client
    with_ssns(database, accounts, target)
    browser = signed_in(app, accounts["case_manager_a"])
    url = f"/staff/clients/{record.public_id}/edit"
    shown = browser.get(url).get_data(as_text=True)
    assert OTHER_SSN not in shown and "623-14-5678" not in shown
    values = _form_as_shown(shown)
    assert values["ssn"] == "XXX-XX-5678"
    # Saved as shown (a name corrected): the stored number stays whole.
    assert browser.form(url, {**values, "middle_name": "Lee"}).status_code == 303
    database.session.refresh(record)
    assert record.middle_name == "Lee" and crypto.decrypt_text(record.ssn_encrypted) == OTHER_SSN
    assert record.ssn_quality == 1 and record.ssn_last4 == "5678"
    # A number typed in replaces it.
    assert browser.form(url, {**values, "ssn": "518-27-4439"}).status_code == 303
    database.session.refresh(record)
    assert crypto.decrypt_text(record.ssn_encrypted) == SSN and record.ssn_last4 == "4439"


# --- R21: nobody sets another person's password ---------------------------------------------

# Pages with a field for a NEW password, and whose password it sets.
NEW_PASSWORD_PAGES = {
    "client.my_account": "the signed-in client's own, with their current password",
    "staff_bridge.my_account": "the signed-in staff member's own, with their current password",
    "client.invitation_password": "the invitation holder's own, at the end of onboarding",
    "client.reset_password": "the reset link holder's own (a link sent to their email)",
    "client.reset_code": "the holder of a printed reset code: their own account's",
    "staff_bridge.set_password": "the set-password link holder's own (sent to their email)",
    "staff_bridge.reset_password": "the reset link holder's own (sent to their email)",
}
# Pages with a field for the CURRENT password: a sign-in, or the signed-in person confirming
# it is them before a sensitive action. None of them sets a password.
CURRENT_PASSWORD_PAGES = {
    "client.sign_in": "signing in",
    "staff_bridge.sign_in": "signing in",
    "client.my_account": "the current password, to change it",
    "staff_bridge.my_account": "the current password, to change it",
    "client.change_email": "re-authentication before a sign-in email change (R27)",
    "client.deactivate_account": "re-authentication before closing one's own account",
    "client.my_sessions": "re-authentication before ending one's other sessions (R29)",
    "staff_bridge.my_sessions": "re-authentication before ending one's other sessions (R29)",
    "client.sign_document": "re-authentication before signing (R54)",
    "client.sharing": "re-authentication before revoking a permission to share (R56)",
    "client.confirm_download": "re-authentication before an ID document download (R27)",
    "staff_bridge.second_factor_settings": "re-authentication before changing one's own factors",
    "staff_bridge.second_factor_app": "re-authentication before changing one's own factors",
    "staff_bridge.reset_second_factor": (
        "the administrator's own password, to reset a colleague's second factor (never their "
        "password)"
    ),
    "staff_bridge.reset_admin_second_factor": (
        "the system administrator's own password, to reset an agency administrator's second "
        "factor (never their password)"
    ),
}


def _password_fields(response):
    if response.status_code != 200 or response.mimetype != "text/html":
        return []
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return soup.find_all("input", attrs={"type": "password"})


@pytest.mark.requirement("R21")
def test_every_page_with_a_password_field_is_one_for_the_persons_own_password(app, people):
    accounts, target = people
    browsers = browsers_for(app, accounts, ROLES)
    unlisted, new_seen, current_seen = [], set(), set()
    for role, rule, response in get_sweep(app, browsers, target):
        for field in _password_fields(response):
            which = field.get("autocomplete")
            listed = NEW_PASSWORD_PAGES if which == "new-password" else CURRENT_PASSWORD_PAGES
            if rule.endpoint not in listed:
                unlisted.append(f"{role} {rule.rule} {field.get('name')} ({which})")
            (new_seen if which == "new-password" else current_seen).add(rule.endpoint)
    assert unlisted == [], "\n".join(unlisted)
    # The sweep met the pages it is about (a renamed field or template cannot slip past it).
    assert {"client.my_account", "staff_bridge.my_account"} <= new_seen
    assert {"client.sign_in", "staff_bridge.sign_in", "client.change_email"} <= current_seen


@pytest.mark.requirement("R21")
def test_posting_new_passwords_to_every_route_sets_nobody_elses_password(app, people, database):
    from portal.domain.accounts.passwords import verify

    accounts, target = people
    # Client routes aim at the matrix's client's own record (the one with a portal account).
    target.client = database.session.get(Client, accounts["client"].client_id)
    roles = ["client", "case_manager_a", "agency_admin_a", "agency_admin_b", "system_admin"]
    browsers = browsers_for(app, accounts, roles)
    before = snapshot(database)
    fields = {
        "password": NEW_PASSWORD,
        "new_password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        # The client's sign-in email: "forgot password" starts a reset (that is allowed).
        "email": accounts["client"].email,
    }
    reached = dict.fromkeys(roles, 0)
    for role, rule, response in post_sweep(app, browsers, target, fields):
        assert response.status_code < 500, f"{role} POST {rule.rule}: {response.status_code}"
        assert not csrf_refused(response), f"{role} POST {rule.rule}: token refused"
        reached[role] += handled(response)
    assert min(reached.values()) >= 15, reached  # the handlers read the fields
    after = snapshot(database)
    set_by_someone = [
        key
        for key, values in before.items()
        if values.get("password_hash") != after[key].get("password_hash")
        and after[key].get("password_hash") is not None  # wiped (a reset begun) is allowed
    ]
    assert set_by_someone == []
    for key, values in after.items():
        assert not verify(values.get("password_hash"), NEW_PASSWORD), key
    # The check can fail: the one route that does set a password sets the caller's own.
    client = browsers["client"]
    client.form("/account", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    own = ("client_accounts", accounts["client"].id)
    changes = changed(after, snapshot(database))
    assert list(changes) == [own] and list(changes[own]) == ["password_hash"]
    assert verify(changes[own]["password_hash"][1], NEW_PASSWORD)


# --- R19: no password hints and no security questions --------------------------------------

HINT_OR_QUESTION = re.compile(
    r"hint|security[\s_-]*question|secret[\s_-]*(question|answer)|mother'?s?[\s_-]*maiden"
    r"|memorable[\s_-]*word",
    re.IGNORECASE,
)


def _described_fields(html: str):
    """(name, what a person reads about it) for every form field of a page."""
    soup = BeautifulSoup(html, "html.parser")
    labels = {label.get("for"): label.get_text(" ", strip=True) for label in soup("label")}
    for tag in soup.find_all(["input", "select", "textarea"]):
        if tag.get("type") in ("hidden", "submit", "button"):
            continue
        words = [
            tag.get("name", ""),
            tag.get("id", ""),
            tag.get("placeholder", ""),
            tag.get("aria-label", ""),
            labels.get(tag.get("id"), ""),
        ]
        fieldset = tag.find_parent("fieldset")
        if fieldset is not None and fieldset.legend is not None:
            words.append(fieldset.legend.get_text(" ", strip=True))
        yield tag.get("name", ""), " | ".join(w for w in words if w)


@pytest.mark.requirement("R19")
def test_no_page_asks_for_a_password_hint_or_a_security_question(app, people):
    accounts, target = people
    browsers = browsers_for(app, accounts, ROLES)
    found, names = [], set()
    for role, rule, response in get_sweep(app, browsers, target):
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for name, text in _described_fields(response.get_data(as_text=True)):
            names.add(name)
            if HINT_OR_QUESTION.search(text):
                found.append(f"{role} {rule.rule}: {text}")
    assert found == [], "\n".join(found)
    assert {"email", "password", "new_password", "ssn", "body"} <= names  # the sweep read forms


def _form_classes():
    """Every form class of both blueprints (a class exists once its module is imported)."""
    for module in ("portal.forms", "portal.client.forms", "staff_bridge.forms"):
        importlib.import_module(module)
    from portal.forms import PortalForm

    seen, todo = [], [PortalForm]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


@pytest.mark.requirement("R19")
def test_no_form_class_has_a_hint_or_a_security_question_field(app):
    from wtforms.fields.core import UnboundField

    found, fields = [], 0
    with app.test_request_context():
        for cls in _form_classes():
            for name in dir(cls):
                unbound = getattr(cls, name, None)
                if not isinstance(unbound, UnboundField):
                    continue
                fields += 1
                label = unbound.kwargs.get("label", unbound.args[0] if unbound.args else "")
                if HINT_OR_QUESTION.search(f"{name} {label}"):
                    found.append(f"{cls.__module__}.{cls.__name__}.{name}: {label}")
    assert found == [], "\n".join(found)
    assert fields > 150  # every form of both blueprints was read


# --- R44: the header and cookie check of every response ---------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {p[0].lower(): p[1:] for p in parts}


def _header_problems(response, signed_in_role: bool) -> list[str]:
    headers, problems = response.headers, []
    csp = _directives(headers.get("Content-Security-Policy", ""))
    if "sandbox" in csp:  # a served file (portal/downloads.py, the e-sign sample PDF)
        if csp["sandbox"]:
            problems.append(f"sandbox relaxed: {csp['sandbox']}")
        if any("unsafe" in v for v in csp.get("script-src", [])):
            problems.append("unsafe script-src in a sandbox")
    else:
        if "default-src" not in csp:
            problems.append("CSP without default-src")
        for name in ("object-src", "base-uri", "frame-ancestors"):
            if csp.get(name) != ["'none'"]:
                problems.append(f"CSP {name} is {csp.get(name)}")
        script = csp.get("script-src", [])
        if not script or any(v in ("'unsafe-inline'", "'unsafe-eval'") for v in script):
            problems.append(f"CSP script-src is {script}")
        if csp.get("form-action", [None])[0] != "'self'":
            problems.append(f"CSP form-action is {csp.get('form-action')}")
    wanted = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Frame-Options": "DENY",
    }
    for name, value in wanted.items():
        if headers.get(name) != value:
            problems.append(f"{name}: {headers.get(name)!r}")
    if response.mimetype.startswith("text/") and "charset=" not in headers["Content-Type"]:
        problems.append(f"no charset: {headers['Content-Type']}")
    if signed_in_role and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {headers.get('Cache-Control')!r}")
    for name in ("Server", "X-Powered-By"):
        if name in headers:
            problems.append(f"{name}: {headers[name]}")
    return problems


def _cookie_problems(response) -> list[str]:
    problems = []
    for cookie in response.headers.getlist("Set-Cookie"):
        name_value, *attributes = (part.strip() for part in cookie.split(";"))
        name, _, value = name_value.partition("=")
        attrs = {a.split("=", 1)[0].lower(): a.partition("=")[2].lower() for a in attributes}
        wrong = []
        if not name.startswith("__Host-"):
            wrong.append("no __Host- prefix")
        if "secure" not in attrs or "httponly" not in attrs:
            wrong.append("not Secure and HttpOnly")
        if attrs.get("samesite") not in ("lax", "strict"):
            wrong.append(f"SameSite={attrs.get('samesite')}")
        if attrs.get("path") != "/" or "domain" in attrs:
            wrong.append("Path is not / or a Domain is set")
        removal = value in ("", '""') and attrs.get("max-age") == "0"
        if not removal and ("expires" in attrs or "max-age" in attrs):
            wrong.append("outlives the browser (Expires or Max-Age)")
        if wrong:
            problems.append(f"{cookie}: {', '.join(wrong)}")
    return problems


@pytest.mark.requirement("R44", "R23", "R42", "R43")
def test_every_response_of_every_route_for_every_role_carries_the_security_headers(
    app, people, make, agency_a
):
    accounts, target = people
    # Sign-ins here, not in the helper: their answers set the session cookie.
    limiter.reset()
    browsers = {"anonymous": app.test_client()}
    sign_ins = []
    for role in ROLES[1:]:
        browser = app.test_client()
        path = "/staff/sign-in" if accounts[role].kind == "staff" else "/sign-in"
        sign_ins.append(browser.form(path, {"email": accounts[role].email, "password": "x"}))
        browsers[role] = signed_in(app, accounts[role])
        limiter.reset()
    checked, statuses, cookies, problems = 0, set(), 0, []

    def check(role, label, response):
        nonlocal checked, cookies
        checked += 1
        statuses.add(response.status_code)
        cookies += len(response.headers.getlist("Set-Cookie"))
        found = _header_problems(response, role != "anonymous") + _cookie_problems(response)
        problems.extend(f"{role} {label} {response.status_code}: {p}" for p in found)

    for response in sign_ins:
        check("signing-in", "POST sign-in", response)
    for role, rule, response in get_sweep(app, browsers, target):
        check(role, f"GET {rule.rule}", response)
    for role, rule, response in post_sweep(app, browsers, target, {}):
        check(role, f"POST {rule.rule}", response)
    for role, browser in browsers.items():
        check(role, "GET /no-such-page", browser.get("/no-such-page"))
        check(role, "PUT /", browser.put("/"))
    # A fresh sign-in and sign-out of a client and a staff member: the cookies they set and
    # remove.
    set_and_removed = set()
    for account, path, out in (
        (make.client_account(agency_a), "/sign-in", "/sign-out"),
        (accounts["case_manager_a"], "/staff/sign-in", "/staff/sign-out"),
    ):
        browser = app.test_client()
        limiter.reset()
        answers = [browser.form(path, {"email": account.email, "password": TEST_PASSWORD})]
        if account.kind == "staff":
            answers.append(second_step(browser, account, answers[0]))  # the app's code
        answers.append(browser.form(out, token_from="/privacy"))
        for response in answers:
            check(account.kind, f"POST {response.request.path}", response)
            for cookie in response.headers.getlist("Set-Cookie"):
                name, _, rest = cookie.partition("=")
                set_and_removed.add((name, "removed" if rest.startswith(";") else "set"))
    assert problems == [], "\n".join(problems)
    assert checked > 1000 and cookies > 5
    assert {("__Host-portal", "set"), ("__Host-portal", "removed")} <= set_and_removed
    assert {200, 302, 303, 403, 404, 405} <= statuses


SANDBOXED = [
    ("client", "/documents/{document}/download"),
    ("client", "/esign/sample.pdf"),
    ("case_manager_a", "/staff/documents/{document}/download"),
    ("case_manager_a", "/staff/documents/{document}/preview"),
]


@pytest.mark.requirement("R44", "R48")
def test_files_are_served_sandboxed_with_nosniff_and_no_framing(app, people):
    accounts, target = people
    browsers = browsers_for(app, accounts, ["client", "case_manager_a"])
    for role, path in SANDBOXED:
        response = browsers[role].get(path.format(document=target.document.public_id))
        assert response.status_code == 200, path
        csp = _directives(response.headers["Content-Security-Policy"])
        assert "sandbox" in csp and csp["sandbox"] == [], path  # no allow-scripts, no origin
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"  # what stops framing today
        assert not response.mimetype.startswith("text/html"), path


@pytest.mark.requirement("R42", "R44", "R48")
def test_sandboxed_files_also_forbid_framing_in_their_csp(app, people):
    accounts, target = people
    browsers = browsers_for(app, accounts, ["client", "case_manager_a"])
    missing = []
    for role, path in SANDBOXED:
        response = browsers[role].get(path.format(document=target.document.public_id))
        csp = _directives(response.headers["Content-Security-Policy"])
        for name in ("frame-ancestors", "base-uri"):
            if csp.get(name) != ["'none'"]:
                missing.append(f"{path}: {name}")
    assert missing == []
