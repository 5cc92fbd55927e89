"""Every route, every role: generated from the URL map and the role-by-capability table.

Nobody reaches what is not theirs: functions they lack answer 403, objects of another agency
answer 404, and anonymous visitors are sent to the right sign-in page.
"""

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from portal.access import access_of
from portal.domain.core import clock
from portal.domain.core.roles import Role, has_capability
from portal.domain.models import HmisUser
from portal.extensions import limiter
from tests.support import signed_in

ROLES = [
    "anonymous",
    "client",
    "case_manager_a",
    "agency_admin_a",
    "new_staff_a",  # no role yet (made by a first single sign-on): sees no client
    "case_manager_b",
    "agency_admin_b",
    "system_admin",
]
SKIP_POST = {
    "staff_bridge.sign_out",
    "client.sign_out",
    "client.leave_quickly",  # ends the caller's session, like signing out
    "staff_bridge.sign_in",
    "client.sign_in",
    "common.choose_language",
}
# Texts are on in the matrix (the file transport): the texts pages and the record's texts
# section show their forms. A gateway's hooks answer 404 while another transport is set.
TEXTS_ON = {"sms_transport": "file", "sms_from": "+15559870000"}
OWN_PHONE = "+14155550101"  # the matrix's client's phone, marked "texts OK"
TARGET_PHONE = "+14155550102"  # the target client's


@pytest.fixture
def people(app, make, agency_a, agency_b, monkeypatch):
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(app.extensions, "portal.settings", settings.with_overrides(**TEXTS_ON))
    accounts = {
        "client": make.client_account(agency_a),
        "case_manager_a": make.staff(Role.CASE_MANAGER, agency_a),
        "agency_admin_a": make.staff(Role.AGENCY_ADMIN, agency_a),
        "new_staff_a": make.staff(Role.NO_ACCESS_YET, agency_a),
        "case_manager_b": make.staff(Role.CASE_MANAGER, agency_b),
        "agency_admin_b": make.staff(Role.AGENCY_ADMIN, agency_b),
        "system_admin": make.staff(Role.SYSTEM_ADMIN, None),
    }
    target = make.staff(Role.CASE_MANAGER, agency_a, name="Target Person")
    target.admin = accounts["agency_admin_a"]  # whose second factor a system admin may reset
    from portal.domain.models import StaffFactor  # a second factor is its owner's alone

    target.factor = make.session.scalar(
        select(StaffFactor).where(StaffFactor.staff_id == accounts["case_manager_a"].id)
    )
    target.client = make.client(agency_a)
    target.review_item = make.review_item(target.client, accounts["client"])
    # The matrix's client's own conversation with agency A (a client reaches only their own).
    own_record = make.session.get(type(target.client), accounts["client"].client_id)
    target.conversation = make.conversation(own_record)
    # A document of the matrix's client (agency A): theirs to download, and agency A's staff's.
    target.document = make.document(
        own_record,
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 16,
        content_type="image/png",
        file_name="id.png",
    )
    # A signature request to the matrix's client, signed, by agency A's case manager.
    from portal.domain import esign

    with app.test_request_context():
        signing = esign.request_signature(accounts["case_manager_a"], own_record)
        target.signature_request = signing
        esign.accept_disclosure(
            accounts["client"], agrees="yes", word=esign.sample_word(accounts["client"])
        )
        target.signature = esign.sign(
            accounts["client"],
            signing,
            intent="yes",
            typed_name="Matrix Client",
            drawn=None,
            password_recent=True,
            session_hash="0" * 64,
            authentication={},
        )
        target.open_request = esign.request_signature(accounts["agency_admin_a"], own_record)
        target.template = target.open_request.template  # agency A's ROI
        # A service in agency A's resource directory.
        from portal.domain import directory as directory_search
        from portal.domain.directory.importer import directory_for
        from portal.domain.models import HsdsLocation, HsdsService, HsdsServiceAtLocation

        listing = directory_for(accounts["agency_admin_a"].agency)
        target.service = HsdsService(
            id=uuid.uuid4(), directory_id=listing.id, name="Matrix pantry", status="active"
        )
        make.session.add(target.service)
        target.place = HsdsLocation(id=uuid.uuid4(), directory_id=listing.id, name="Hall")
        make.session.add(target.place)
        make.session.flush()
        make.session.add(
            HsdsServiceAtLocation(
                id=uuid.uuid4(),
                directory_id=listing.id,
                service_id=target.service.id,
                location_id=target.place.id,
            )
        )
        directory_search.reindex(listing)
        from portal.domain.models import CommunityArticle

        target.article = CommunityArticle(
            agency_id=accounts["agency_admin_a"].agency_id, title="News", body="Text"
        )
        make.session.add(target.article)
        make.session.commit()
        # A change of the client's to enter in the HMIS (a check-in), and an export of agency A.
        from portal.domain import selfservice
        from portal.domain.hmis import export as hmis_export
        from portal.domain.models import Enrollment, HmisEntry, Organization, Project

        organization = Organization(
            hud_organization_id="matrix-org", name="Org", agency_id=agency_a.id
        )
        make.session.add(organization)
        make.session.flush()
        project = Project(
            hud_project_id="matrix-prj", organization_id=organization.id, name="SO", project_type=4
        )
        make.session.add(project)
        make.session.flush()
        make.session.add(
            Enrollment(
                hud_enrollment_id="matrix-enr",
                client_id=own_record.id,
                project_id=project.id,
                entry_date=date(2020, 1, 1),
            )
        )
        make.session.add(HmisUser(agency_id=agency_a.id, hud_user_id="7", imported_at=clock.now()))
        agency_a.hmis_user_id = "7"
        selfservice.check_in(accounts["client"])
        target.hmis_export = hmis_export.make_export(agency_a, accounts["agency_admin_a"])
        selfservice.check_in(accounts["client"])  # one waiting for the worklist
        target.hmis_entry = make.session.scalar(
            select(HmisEntry).where(HmisEntry.export_id.is_(None))
        )
        make.session.commit()
        # A "texts OK" phone on each record, a code waiting for each (issue 22): the client's
        # texts page and the record's texts section show every form they have.
        from portal.domain import texting
        from portal.domain.models import ClientPhone

        for record, number in ((own_record, OWN_PHONE), (target.client, TARGET_PHONE)):
            phone = ClientPhone(client_id=record.id, number=number, kind="mobile", text_ok=True)
            make.session.add(phone)
            make.session.flush()
            texting.start(record, str(phone.public_id), agency=agency_a)
        make.session.commit()
    return accounts, target


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


def url_for_rule(rule, target):
    values = {arg: str(target.public_id) for arg in rule.arguments}
    if "client_id" in rule.arguments:
        values["client_id"] = str(target.client.public_id)
    if "conversation_id" in rule.arguments:
        values["conversation_id"] = str(target.conversation.public_id)
    if "request_id" in rule.arguments:
        values["request_id"] = str(target.open_request.public_id)
    if "service_id" in rule.arguments:
        values["service_id"] = str(target.service.id)
    if "location_id" in rule.arguments:
        values["location_id"] = str(target.place.id)
    if "article_id" in rule.arguments:
        values["article_id"] = str(target.article.public_id)
    if "template_id" in rule.arguments:
        values["template_id"] = str(target.template.public_id)
    if "signature_id" in rule.arguments:
        values["signature_id"] = str(target.signature.public_id)
    if "document_id" in rule.arguments:
        values["document_id"] = str(target.document.public_id)
    if "item_id" in rule.arguments:
        values["item_id"] = str(target.review_item.public_id)
    if "admin_id" in rule.arguments:
        values["admin_id"] = str(target.admin.public_id)
    if "factor_id" in rule.arguments:
        values["factor_id"] = str(target.factor.public_id)
    if "entry_id" in rule.arguments:
        values["entry_id"] = str(target.hmis_entry.public_id)
    if "export_id" in rule.arguments:
        values["export_id"] = str(target.hmis_export.public_id)
    if "token" in rule.arguments:
        values["token"] = "not-a-real-token"
    return rule.build(values, append_unknown=False)[1]


def hook_gateway(rule) -> str | None:
    """The SMS gateway a hook is for ("kannel", "twilio"), or None for any other route."""
    if not rule.endpoint.startswith("texts_hooks."):
        return None
    return rule.endpoint.partition(".")[2].partition("_")[0]


def expected(access, role, rule, account, transport=TEXTS_ON["sms_transport"]):
    """What the role should get: 'login', 403, 404 or 'ok'."""
    gateway = hook_gateway(rule)
    if gateway is not None:
        # Public, yet no session is a credential: a gateway's hook answers 404 while another
        # transport is set, and 403 without its secret or signature.
        return 403 if gateway == transport else 404
    if access.audience == "public":
        return "any"
    if role == "anonymous":
        return "login"
    kind = "client" if role == "client" else "staff"
    if kind != access.audience:
        return 403
    if access.capability is not None and not has_capability(account.role, access.capability):
        return 403
    if "factor_id" in rule.arguments:  # the matrix's factor is case_manager_a's own
        return "ok" if role == "case_manager_a" else 404
    if rule.arguments and role.endswith("_b"):
        return 404
    return "ok"


def check(response, outcome, audience, label):
    code = response.status_code
    assert code < 500, f"{label}: {code}"
    if outcome == "login":
        sign_in = "/staff/sign-in" if audience == "staff" else "/sign-in"
        assert code == 302 and response.headers["Location"].startswith(sign_in), f"{label}: {code}"
    elif outcome in (403, 404):
        assert code == outcome, f"{label}: expected {outcome}, got {code}"
    elif outcome == "ok":
        assert code in (200, 303), f"{label}: expected success, got {code}"


@pytest.mark.requirement("R31")
def test_every_route_declares_who_may_call_it(app):
    undeclared = [rule.rule for rule, view in routes(app) if access_of(view) is None]
    assert not undeclared


@pytest.mark.requirement("R12", "R30", "R31")
def test_every_route_answers_every_role_as_the_capability_table_says(app, people, database):
    accounts, target = people
    clients = {}
    for role in ROLES:
        limiter.reset()
        clients[role] = app.test_client() if role == "anonymous" else signed_in(app, accounts[role])
    checked = 0
    for rule, view in routes(app):
        access = access_of(view)
        url = url_for_rule(rule, target)
        for role in ROLES:
            client = clients[role]
            outcome = expected(access, role, rule, accounts.get(role))
            label = f"{role} {rule.rule}"
            if "GET" in rule.methods:
                check(client.get(url), outcome, access.audience, "GET " + label)
                checked += 1
            if "POST" in rule.methods and rule.endpoint not in SKIP_POST:
                response = client.post(url, data={"csrf_token": client.csrf_token("/privacy")})
                if outcome == "ok" and response.status_code == 400:
                    # Reached, and the empty form refused (uploads R45, signatures R52): the
                    # page says what is missing.
                    assert b"There is a problem" in response.data, f"POST {label}"
                    checked += 1
                    continue
                check(response, outcome, access.audience, "POST " + label)
                checked += 1
    assert checked > 100
    # Nothing in the sweep changed the target (every POST was empty or refused).
    database.session.refresh(target)
    assert target.is_active and target.role == Role.CASE_MANAGER


# Each gateway switched on in turn (with the hooks' secret, a Twilio auth token), and what a
# caller without them could send.
GATEWAYS = {
    "kannel": {
        "sms_transport": "kannel",
        "sms_from": "+15559870000",
        "sms_kannel_username": "portal",
        "sms_hook_secret": "matrix-hook-secret-0123456789",
    },
    "twilio": {
        "sms_transport": "twilio",
        "sms_from": "+15559870000",
        "sms_twilio_account_sid": "AC" + "0" * 32,
        "sms_twilio_auth_token": "matrix-auth-token-0123456789",
    },
}
HOOK_CALL = {
    "from": OWN_PHONE,
    "From": OWN_PHONE,
    "Body": "STOP",
    "status": "16",
    "MessageStatus": "failed",
    "ErrorCode": "30005",
}


@pytest.mark.requirement("R31", "R41")
@pytest.mark.parametrize("gateway", sorted(GATEWAYS))
def test_the_sms_hooks_refuse_every_role_without_the_gateways_credentials(
    app, people, database, monkeypatch, gateway
):
    """The hooks are public (a gateway has no session) and take no CSRF token: a session of
    any role is no credential. With the gateway on, a call without its secret or signature
    (or with a wrong one, or Kannel's from another address) is refused, and the other
    gateway's hooks are not there. Nothing a refused call carried was acted on."""
    from portal.domain.models import TextInbound, TextMessage, TextNumber

    accounts, target = people
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions, "portal.settings", settings.with_overrides(**GATEWAYS[gateway])
    )
    code = database.session.scalar(select(TextMessage).where(TextMessage.to_number == OWN_PHONE))
    clients = {}
    for role in ROLES:
        limiter.reset()
        clients[role] = app.test_client() if role == "anonymous" else signed_in(app, accounts[role])
    hooks = [(rule, view) for rule, view in routes(app) if hook_gateway(rule) is not None]
    assert len(hooks) == 4
    checked = 0
    for rule, view in hooks:
        url = url_for_rule(rule, target)
        query = {"ref": str(code.public_id), "MessageSid": str(code.public_id), **HOOK_CALL}
        for role in ROLES:
            client = clients[role]
            outcome = expected(access_of(view), role, rule, accounts.get(role), gateway)
            label = f"{gateway}: {role} {rule.rule}"
            if "GET" in rule.methods:
                check(client.get(url, query_string=query), outcome, "public", "GET " + label)
                checked += 1
            token = {"csrf_token": client.csrf_token("/privacy")}
            response = client.post(url, query_string=query, data={**token, **query})
            check(response, outcome, "public", "POST " + label)
            checked += 1
        # Wrong credentials are no better than none.
        anonymous = clients["anonymous"]
        if hook_gateway(rule) == gateway == "kannel":
            secret = GATEWAYS["kannel"]["sms_hook_secret"]
            wrong = [
                anonymous.post(url, query_string={**query, "secret": secret[:-1]}, data="STOP"),
                anonymous.post(url, headers={"X-Portal-Secret": secret.upper()}, data="STOP"),
                anonymous.post(
                    url,
                    query_string={**query, "secret": secret},
                    data="STOP",
                    environ_base={"REMOTE_ADDR": "203.0.113.9"},  # not in SMS_HOOK_ALLOW
                ),
            ]
        elif hook_gateway(rule) == gateway == "twilio":
            wrong = [
                anonymous.post(url, data=query, headers={"X-Twilio-Signature": "x" * 28}),
                anonymous.post(url, data=query, headers={"X-Twilio-Signature": ""}),
            ]
        else:
            wrong = []
        for response in wrong:
            assert response.status_code == 403, f"{gateway}: {rule.rule} {response.status_code}"
            checked += 1
    assert checked >= 4 * len(ROLES) + 3
    database.session.expire_all()
    assert database.session.scalar(select(TextInbound.id)) is None  # no STOP was taken
    assert database.session.scalar(select(TextNumber.id)) is None  # nor a bounce
    database.session.refresh(code)
    assert code.status == "queued" and code.gateway_status is None


# The POSTs that need no CSRF token: "Leave quickly" (it only ends the sender's session) and
# the SMS gateways' hooks (a gateway has no session; each call proves itself instead).
WITHOUT_CSRF_TOKEN = {
    "client.leave_quickly",
    "texts_hooks.kannel_in",
    "texts_hooks.kannel_report",
    "texts_hooks.twilio_in",
    "texts_hooks.twilio_status",
}


@pytest.mark.requirement("R41")
def test_only_leave_quickly_and_the_sms_hooks_take_a_post_without_a_csrf_token(app, people):
    _accounts, target = people
    anonymous = app.test_client()
    taken = set()
    for rule, _view in routes(app):
        if "POST" not in rule.methods:
            continue
        limiter.reset()
        response = anonymous.post(url_for_rule(rule, target), data={"email": "x@example.org"})
        if response.status_code != 400 or b"There is a problem" in response.data:
            taken.add(rule.endpoint)
    assert taken == WITHOUT_CSRF_TOKEN


def test_system_administrators_hold_no_caseload_capability():
    from portal.domain.core.roles import Capability

    caseload = {
        Capability.VIEW_CLIENTS,
        Capability.INVITE_CLIENTS,
        Capability.REVIEW_CHANGES,
        Capability.MESSAGE_CLIENTS,
        Capability.MANAGE_REQUESTS,
        Capability.DEACTIVATE_CLIENT_ACCOUNTS,
    }
    assert not any(has_capability(Role.SYSTEM_ADMIN, c) for c in caseload)


@pytest.mark.requirement("R30", "R57")
def test_denials_of_other_agencies_objects_are_audited(app, people, database):
    from sqlalchemy import select

    from portal.domain.models import AuditEvent

    accounts, target = people
    client = signed_in(app, accounts["agency_admin_b"])
    assert client.get(f"/staff/team/{target.public_id}").status_code == 404
    denied = database.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.subject_id == str(target.public_id)
        )
    ).all()
    assert len(denied) == 1 and denied[0].actor_id == str(accounts["agency_admin_b"].public_id)
