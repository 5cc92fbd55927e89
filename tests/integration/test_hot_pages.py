"""Issue 15: the hot pages run few SQL statements, and none runs more as the data grows (no
query per row). The client home page: at most 10, its transaction's BEGIN included."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from portal.domain import directory, esign, messaging, selfservice
from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.directory import admin as directory_admin
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientLocation,
    CommunityArticle,
    Conversation,
    Enrollment,
    Message,
    Organization,
    Project,
    ReviewItem,
)
from portal.extensions import db
from tests.support import signed_in, statements_run

CLIENT_PAGES = ("/home", "/messages", "/where", "/resources?q=shelter")
STAFF_PAGES = ("/staff/", "/staff/inbox", "/staff/review", "/staff/clients")


def statements(browser, path: str) -> int:
    browser.get(path)  # once first: what is made on first use is made
    directory.forget_searches()  # count a search's own statements, not the minute's answer
    directory_admin.forget_spotlights()
    with statements_run(db.engine) as seen:
        answer = browser.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return len(seen)


class World:
    """A client with an account, a care team of case managers, and a busy agency around them."""

    def __init__(self, app, make, database, agency):
        self.app, self.make, self.session, self.agency = app, make, database.session, agency
        self.manager = make.staff(Role.CASE_MANAGER, agency, name="Casey Count")
        self.account = make.client_account(agency)
        self.client = self.session.get(Client, self.account.client_id)
        self.client.care_team.append(CareTeamMember(staff=self.manager, is_case_manager=True))
        self.organization = Organization(
            hud_organization_id=uuid.uuid4().hex[:12], name="Org", agency_id=agency.id
        )
        self.session.add(self.organization)
        self.session.commit()
        self.rounds = 0

    def more(self, n: int) -> None:
        """n more of everything the hot pages list."""
        for _ in range(n):
            self.rounds += 1
            r = self.rounds
            colleague = self.make.staff(Role.CASE_MANAGER, self.agency, name=f"Colleague {r}")
            self.client.care_team.append(CareTeamMember(staff=colleague))
            project = Project(
                hud_project_id=uuid.uuid4().hex[:12],
                organization_id=self.organization.id,
                name=f"Project {r}",
            )
            self.session.add(project)
            self.session.flush()
            self.session.add(
                Enrollment(
                    hud_enrollment_id=uuid.uuid4().hex[:12],
                    client_id=self.client.id,
                    project_id=project.id,
                    entry_date=date(2025, 1, r),
                )
            )
            self.session.add(
                ClientLocation(
                    client_id=self.client.id,
                    details_encrypted=crypto.encrypt_json({"kind": "shelter", "place": "x"}),
                    shared_at=clock.now() - timedelta(days=r),
                )
            )
            self.session.add(
                CommunityArticle(
                    agency_id=self.agency.id, title=f"News {r}", body="Body", published=True
                )
            )
            selfservice.create_task(self.manager, self.client, kind="update_contact", due_on=None)
            template = esign.create_template(
                self.make.staff(Role.AGENCY_ADMIN, self.agency),
                name=f"Rules {r}",
                kind="other",
                term_days=None,
                texts={"en": {"title": f"Rules {r}", "summary": "S", "body": "B"}},
            )
            esign.request_signatures(self.manager, [self.client], template=template)
            selfservice.check_in(self.account)
            message = messaging.client_write(
                self.account,
                body=f"Hello {r}",
                key=f"count-{r}",
                recipient_id=str(self.manager.public_id),
            )
            messaging.staff_write(
                self.manager, message.conversation, body=f"Answer {r}", key=f"answer-{r}"
            )
            other = self.make.client(self.agency, first_name=f"Other{r}")
            other.care_team.append(CareTeamMember(staff=self.manager, is_case_manager=True))
            waiting = self.make.conversation(other)
            waiting.awaiting_since, waiting.unread_by_staff = clock.now(), 1
            waiting.assigned_staff_id = self.manager.id
            self.session.add(
                Message(
                    conversation_id=waiting.id,
                    author_kind="client",
                    body="Waiting",
                    idempotency_key=f"waiting-{r}",
                )
            )
            for record, kind in ((self.client, "contact_email"), (other, "location")):
                self.session.add(
                    ReviewItem(
                        client_id=record.id,
                        agency_id=self.agency.id,
                        kind=kind,
                        payload_encrypted=crypto.encrypt_json({"email": f"e{r}@example.org"}),
                        submitted_by_account_id=self.account.id,
                    )
                )
            self.session.commit()


@pytest.fixture
def world(app, make, database, agency_a):
    return World(app, make, database, agency_a)


def test_the_client_home_page_runs_at_most_ten_statements(app, world):
    world.more(1)
    assert statements(signed_in(app, world.account), "/home") <= 10


def test_no_hot_page_runs_more_statements_as_the_data_grows(app, world):
    world.more(1)
    client, staff = signed_in(app, world.account), signed_in(app, world.manager)
    pages = [(client, p) for p in CLIENT_PAGES] + [(staff, p) for p in STAFF_PAGES]
    before = {path: statements(browser, path) for browser, path in pages}
    world.more(3)
    after = {path: statements(browser, path) for browser, path in pages}
    assert after == before


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN])
def test_the_navigations_one_statement_counts_what_each_module_counts(
    app, make, database, world, role
):
    """navigation.staff_counts (one prebuilt statement) against each module's own count."""
    from portal.domain import navigation
    from portal.domain.messaging import notifications
    from portal.domain.models import RecordRequest
    from portal.domain.selfservice import review

    world.more(2)
    staff = world.manager if role is Role.CASE_MANAGER else make.staff(role, world.agency)
    if role is Role.SYSTEM_ADMIN:
        staff = make.staff(Role.SYSTEM_ADMIN, None)
    database.session.add(
        RecordRequest(
            client_id=world.client.id,
            agency_id=world.agency.id,
            parts={"parts": ["enrollments"]},
            delivery="pick_up",
        )
    )
    notifications.notify(staff, "document_missing", params={"client": str(world.client.public_id)})
    database.session.commit()
    counts = navigation.staff_counts(staff)
    assert counts.notifications == notifications.unread_count(staff) >= 1
    assert counts.reviews == review.pending_count(staff)
    assert counts.inbox == messaging.inbox_counts(staff)
    assert counts.record_requests == selfservice.open_record_request_count(staff)
    if role is Role.SYSTEM_ADMIN:  # no agency: nothing but its own notifications
        assert (counts.reviews, counts.record_requests, counts.inbox["all"]) == (0, 0, 0)
    else:
        assert counts.reviews >= 2 and counts.record_requests == 1 and counts.inbox["all"] >= 3


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_home_pages_one_statement_reads_what_each_panel_would_ask_for(
    app, make, database, world, language
):
    """home.digest (one UNION ALL) against each module's own query: the same rows, in the same
    order, with the same limits, the title in the client's language."""
    from portal.domain.selfservice import home, review

    world.more(4)
    session, client, manager = database.session, world.client, world.manager
    today = world.agency.today()
    for days in (9, 2):  # tasks with due dates come first, the soonest first
        selfservice.create_task(
            manager, client, kind="update_location", due_on=today + timedelta(days=days)
        )
    template = esign.create_template(
        make.staff(Role.AGENCY_ADMIN, world.agency),
        name="Both languages",
        kind="other",
        term_days=None,
        texts={
            "en": {"title": "House rules", "summary": "S", "body": "B"},
            "es": {"title": "Reglas de la casa", "summary": "S", "body": "B"},
        },
    )
    esign.request_signatures(manager, [client], template=template)
    for seat in client.care_team:
        seat.staff.shown_to_clients = True
    client.care_team[1].staff.is_active = False  # a colleague who left: not shown
    client.care_team[2].staff.shown_to_clients = False  # one who asked not to be shown
    newest = review.items_for_client(client)[0]
    newest.status = "superseded"  # replaced by a later one: not shown, the next three are
    session.commit()

    found = home.digest(client)

    tasks = selfservice.open_tasks(client)
    assert [t.public_id for t in found.tasks] == [t.public_id for t in tasks]
    assert [t.due_on for t in found.tasks][:2] == [
        today + timedelta(days=2),
        today + timedelta(days=9),
    ]
    requests = esign.open_requests(client)
    assert [r.public_id for r, _title in found.to_sign_titled(language)] == [
        r.public_id for r in requests
    ]
    assert [title for _r, title in found.to_sign_titled(language)] == [
        esign.version_for(r.template, language).title for r in requests
    ]
    assert found.to_sign_titled(language)[-1][1] == (
        "Reglas de la casa" if language == "es" else "House rules"
    )
    assert found.last_check_in == selfservice.last_check_in(client)
    assert found.location == selfservice.last_location(client) and found.location is not None
    unread = [
        c.unread_by_client for c in session.query(Conversation).filter_by(client_id=client.id)
    ]
    assert found.unread == sum(unread) >= 1
    seats = sorted(client.care_team, key=lambda seat: seat.id)
    shown = [s for s in seats if s.staff.is_active and s.staff.shown_to_clients]
    assert [(s.display_name, s.is_case_manager) for s in found.care_team] == [
        (s.staff.display_name, s.is_case_manager) for s in shown
    ]
    assert len(found.care_team) == len(seats) - 2
    sent = review.items_for_client(client, limit=3)
    assert [(s.kind, s.status) for s in found.sent] == [(i.kind, i.status) for i in sent]
    assert len(found.sent) == 3 and "superseded" not in {s.status for s in found.sent}
    newest = sorted(client.enrollments, key=lambda e: (e.entry_date, e.id), reverse=True)[:3]
    assert [e.entry_date for e in found.enrollments] == [e.entry_date for e in newest]
    assert found.enrollments[0].project_name == newest[0].project.name
