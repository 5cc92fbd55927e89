"""The one access policy, as a matrix: role x relationship x client-owned route."""

from datetime import date, timedelta

import pytest

from portal.domain.core.roles import Role
from portal.domain.models import Consent, Enrollment, Organization, Project
from portal.domain.records import access_policy
from tests.support import signed_in

ROUTES = {
    "record": ("GET", "/staff/clients/{id}"),
    "edit": ("GET", "/staff/clients/{id}/edit"),
    "consent": ("GET", "/staff/clients/{id}/consents/new"),
    "care_team": ("POST", "/staff/clients/{id}/care-team"),
}

# relationship -> expected status per route
EXPECTED = {
    "owner": {"record": 200, "edit": 200, "consent": 200, "care_team": 303},
    "serving_with_roi": {"record": 200, "edit": 403, "consent": 403, "care_team": 403},
    "serving_without_roi": {"record": 404, "edit": 404, "consent": 404, "care_team": 404},
    "serving_roi_expired": {"record": 404, "edit": 404, "consent": 404, "care_team": 404},
    "serving_roi_refused": {"record": 404, "edit": 404, "consent": 404, "care_team": 404},
    "unrelated": {"record": 404, "edit": 404, "consent": 404, "care_team": 404},
    "system_admin": {"record": 403, "edit": 403, "consent": 403, "care_team": 403},
}


def enroll(database, client, agency, hud_id):
    org = Organization(hud_organization_id=f"O{hud_id}", name=f"Org {hud_id}", agency_id=agency.id)
    project = Project(
        hud_project_id=f"P{hud_id}", organization=org, name=f"Program {hud_id}", project_type=1
    )
    database.session.add(
        Enrollment(
            hud_enrollment_id=f"E{hud_id}",
            client=client,
            project=project,
            entry_date=date(2025, 1, 1),
        )
    )
    database.session.commit()


def consent(database, client, agency, *, starts, ends, permission=True):
    database.session.add(
        Consent(
            client=client,
            recorded_by_agency_id=agency.id,
            permission=permission,
            refused=not permission,
            starts_on=starts,
            ends_on=ends,
        )
    )
    database.session.commit()


@pytest.fixture
def setup(app, make, agency_a, agency_b, frozen_clock, database):
    today = agency_a.today()
    owner = make.staff(Role.CASE_MANAGER, agency_a)
    serving = make.staff(Role.CASE_MANAGER, agency_b)
    cases = {}
    for relation in EXPECTED:
        client = make.client(agency_a, first_name=relation.replace("_", " ").title())
        cases[relation] = client
        if relation.startswith("serving"):
            enroll(database, client, agency_b, relation)
        if relation == "serving_with_roi":
            consent(
                database,
                client,
                agency_a,
                starts=today - timedelta(days=10),
                ends=today + timedelta(days=10),
            )
        if relation == "serving_roi_expired":
            consent(
                database,
                client,
                agency_a,
                starts=today - timedelta(days=400),
                ends=today - timedelta(days=1),
            )
        if relation == "serving_roi_refused":
            consent(
                database,
                client,
                agency_a,
                starts=today,
                ends=today + timedelta(days=30),
                permission=False,
            )
    unrelated_agency = make.agency("Unrelated")
    actors = {
        "owner": signed_in(app, owner),
        "serving": signed_in(app, serving),
        "unrelated": signed_in(app, make.staff(Role.AGENCY_ADMIN, unrelated_agency)),
        "system_admin": signed_in(app, make.staff(Role.SYSTEM_ADMIN, None)),
    }
    return cases, actors, {"owner": owner, "serving": serving}


def actor_for(relation):
    if relation == "owner" or relation == "unrelated" or relation == "system_admin":
        return relation
    return "serving"


@pytest.mark.parametrize("relation", list(EXPECTED))
@pytest.mark.requirement("R30")
def test_each_relationship_gets_what_the_policy_says_on_every_client_route(setup, relation):
    cases, actors, _people = setup
    if relation == "owner":
        client = cases["owner"]
    elif relation in ("unrelated", "system_admin"):
        client = cases["serving_with_roi"]  # even a shared client is invisible to them
    else:
        client = cases[relation]
    browser = actors[actor_for(relation)]
    for name, (method, path) in ROUTES.items():
        url = path.format(id=client.public_id)
        if method == "GET":
            response = browser.get(url)
        else:
            response = browser.post(
                url, data={"csrf_token": browser.csrf_token("/staff/"), "email": ""}
            )
        assert response.status_code == EXPECTED[relation][name], (
            f"{relation} {name}: {response.status_code}"
        )


def test_the_client_list_shows_owned_and_shared_clients_only(setup):
    cases, actors, _ = setup
    owner_page = actors["owner"].get("/staff/clients").get_data(as_text=True)
    serving_page = actors["serving"].get("/staff/clients").get_data(as_text=True)
    for relation, client in cases.items():
        assert client.first_name in owner_page
        assert (client.first_name in serving_page) == (relation == "serving_with_roi"), relation


def test_an_roi_ends_on_its_last_day_in_the_agencys_time_zone(app, setup, frozen_clock):
    cases, _actors, people = setup
    client = cases["serving_with_roi"]
    frozen_clock.advance(timedelta(days=10))
    assert (
        signed_in(app, people["serving"]).get(f"/staff/clients/{client.public_id}").status_code
        == 200
    )
    frozen_clock.advance(timedelta(days=1))
    assert (
        signed_in(app, people["serving"]).get(f"/staff/clients/{client.public_id}").status_code
        == 404
    )


def test_a_care_team_seat_makes_an_agency_a_serving_one(app, setup, database):
    cases, actors, people = setup
    client = cases["owner"]
    today = client.owning_agency.today()
    consent(database, client, client.owning_agency, starts=today, ends=today + timedelta(days=5))
    assert actors["serving"].get(f"/staff/clients/{client.public_id}").status_code == 404
    actors["owner"].form(
        f"/staff/clients/{client.public_id}/care-team",
        {"email": people["serving"].email},
        token_from=f"/staff/clients/{client.public_id}",
    )
    assert actors["serving"].get(f"/staff/clients/{client.public_id}").status_code == 200


def test_can_and_visible_clients_agree(setup, database):
    cases, _actors, people = setup
    for person in people.values():
        visible = set(database.session.scalars(access_policy.visible_clients(person)).all())
        for client in cases.values():
            assert (client in visible) == access_policy.can(person, "view", client)


def test_a_soft_deleted_client_is_gone_for_everyone(setup, database, frozen_clock):
    cases, actors, _ = setup
    client = cases["owner"]
    client.deleted_at = frozen_clock.now()
    database.session.commit()
    assert actors["owner"].get(f"/staff/clients/{client.public_id}").status_code == 404


def test_clients_see_only_themselves(make, agency_a, database):
    me = make.client(agency_a)
    other = make.client(agency_a)
    account = make.client_account(agency_a)
    account.client_id = me.id
    database.session.commit()
    assert access_policy.can(account, "view", me) and not access_policy.can(account, "view", other)
    assert database.session.scalars(access_policy.visible_clients(account)).all() == [me]
    assert not access_policy.can(account, "edit", me)
