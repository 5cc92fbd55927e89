"""Links are built at the edge (issue 18): the domain stores kinds and public ids, the mail
renderer and the staff pages build the links from the app's routes against BASE_URL, and a
mail's token lives only in its encrypted, wiped-after-sending parameters (R2)."""

import json
import uuid

import pytest
from sqlalchemy import select, text

from portal import links
from portal.domain.accounts import recovery
from portal.domain.core import crypto, jobs, mail
from portal.domain.messaging import notifications
from portal.domain.models import OutboxMessage
from portal.extensions import db
from portal.integrations.mail import render
from tests.support import link_in


def _newest_mail(database, template):
    return database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == template)
        .order_by(OutboxMessage.id.desc())
    ).first()


@pytest.mark.requirement("R2")
def test_a_reset_mail_stores_its_token_encrypted_and_no_link(app, database, case_manager_user):
    recovery.request_reset("staff", case_manager_user.email)
    database.session.flush()
    message = _newest_mail(database, "password_reset")
    secret = crypto.decrypt_json(message.secret_params)
    stored = json.dumps(message.params) + json.dumps(secret)
    assert "link" not in message.params and "link" not in secret
    assert "http" not in stored and "/reset-password/" not in stored
    assert message.params["audience"] == "staff"
    body = render(message, {**message.params, **secret}).get_content()
    link = f"https://portal.test/staff/reset-password/{secret['token']}"
    assert link in body
    assert secret["token"] not in message.secret_params  # encrypted at rest


@pytest.mark.requirement("R2")
def test_the_token_is_wiped_once_the_mail_is_sent(app, database, case_manager_user):
    recovery.request_reset("staff", case_manager_user.email)
    database.session.flush()
    message = _newest_mail(database, "password_reset")
    assert message.secret_params
    database.session.commit()
    database.session.expire_all()
    jobs.run_pending()  # what `flask worker` does once
    database.session.commit()
    database.session.refresh(message)
    assert message.status == "sent" and message.secret_params is None


def test_a_mail_queued_by_the_previous_release_is_sent_with_its_link(app, database):
    old = "https://portal.test/messages/0f0e0d0c-0b0a-0908-0706-050403020100#newest"
    mail.queue("new_message", to="a@example.org", language="en", params={"name": "A", "link": old})
    database.session.flush()
    message = _newest_mail(database, "new_message")
    assert old in render(message, message.params).get_content()


@pytest.mark.requirement("R5")
def test_every_mail_that_shows_a_link_gets_one_built_from_a_route(app):
    ids = {
        "token": "t" * 43,
        "audience": "client",
        "request": str(uuid.uuid4()),
        "conversation": str(uuid.uuid4()),
    }
    with app.app_context():
        built = {name: links.mail_link(name, ids) for name in links.MAIL_LINKS}
    for name, link in built.items():
        assert link.startswith("https://portal.test/"), name
        path = link.removeprefix("https://portal.test").split("#")[0]
        adapter = app.url_map.bind("portal.test")
        endpoint, _values = adapter.match(path, method="GET")
        assert endpoint.startswith(("client.", "staff_bridge.")), name


def test_every_notification_kind_leads_to_a_page_or_says_why_not(app):
    assert set(notifications.KINDS) - set(links.NOTIFICATION_LINKS) == {"work_handed_over"}
    assert set(links.NOTIFICATION_LINKS) <= set(notifications.KINDS)

    class Note:
        link = None

    with app.test_request_context():
        for kind in links.NOTIFICATION_LINKS:
            note = Note()
            note.kind = kind
            note.params = {"client": str(uuid.uuid4()), "conversation": str(uuid.uuid4())}
            path = links.notification_link(note).split("#")[0]
            endpoint, _values = app.url_map.bind("portal.test").match(path, method="GET")
            assert endpoint.startswith("staff_bridge."), kind


def test_a_notice_of_the_previous_release_keeps_the_link_it_was_written_with(app):
    class Note:
        kind = "document_missing"
        params = {}  # written by the previous release: a link, no ids
        link = "/staff/clients/0f0e0d0c-0b0a-0908-0706-050403020100#documents"

    with app.test_request_context():
        assert links.notification_link(Note()) == Note.link


def test_the_tests_reader_of_links_builds_what_the_worker_builds(app, database, client_user):
    recovery.request_reset("client", client_user.account.email)
    database.session.flush()
    message = _newest_mail(database, "password_reset")
    assert link_in(message).startswith("https://portal.test/reset-password/")


def test_migration_0014_moves_notification_links_into_their_ids(tmp_path):
    from flask_migrate import downgrade, upgrade

    from portal import create_app
    from tests.support import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'links.sqlite3'}"))
    client, conversation = uuid.uuid4(), uuid.uuid4()
    written = {
        1: f"/staff/clients/{client}#documents",
        2: f"/staff/clients/{client}/invite",
        3: f"/staff/conversations/{conversation}#newest",
        4: "/staff/record-requests",
        5: "/staff/somewhere-else",
    }
    kinds = {
        1: "document_missing",
        2: "invitation_locked",
        3: "client_message",
        4: "record_requested",
        5: "k",
    }
    with app.app_context():
        upgrade(revision="0013")
        with db.engine.begin() as connection:  # agencies gained a column after 0014: SQL here
            connection.execute(
                text(
                    "INSERT INTO agencies (id, name, timezone, is_active, default_roi_days, "
                    "public_id, created_at) VALUES (1, 'Links', 'America/Los_Angeles', :yes, "
                    "365, :u, '2026-12-01T00:00:00+00:00')"
                ),
                {"yes": True, "u": uuid.uuid4().hex},
            )
            connection.execute(  # staff_users too gained columns after 0014 (0016)
                text(
                    "INSERT INTO staff_users (id, agency_id, display_name, role, "
                    "shown_to_clients, allow_client_contact, public_id, created_at, email, "
                    "failed_sign_ins, is_active, preferred_language) VALUES (1, 1, 'Links', "
                    "'case_manager', :no, :no, :u, '2026-12-01T00:00:00+00:00', "
                    "'links@staff.test', 0, :yes, 'en')"
                ),
                {"yes": True, "no": False, "u": uuid.uuid4().hex},
            )
        staff_id = 1
        with db.engine.begin() as connection:
            for number, link in written.items():
                connection.execute(
                    text(
                        "INSERT INTO staff_notifications (id, staff_id, kind, params, link, "
                        "public_id, created_at) VALUES (:id, :staff, :kind, :params, :link, :u, "
                        "'2026-12-01T00:00:00+00:00')"
                    ),
                    {
                        "id": number,
                        "staff": staff_id,
                        "kind": kinds[number],
                        "params": json.dumps({"from": "Sam"} if number == 1 else {}),
                        "link": link,
                        "u": uuid.uuid4().hex,
                    },
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = {
                row[0]: (json.loads(row[1]), row[2])
                for row in connection.execute(
                    text("SELECT id, params, link FROM staff_notifications")
                )
            }
        downgrade(revision="0013")  # the previous release's links, rebuilt from kind and ids
        with db.engine.connect() as connection:
            links_back = {
                row[0]: row[1]
                for row in connection.execute(text("SELECT id, link FROM staff_notifications"))
            }
        db.engine.dispose()
    assert rows[1] == ({"from": "Sam", "client": str(client)}, None)
    assert rows[2] == ({"client": str(client)}, None)
    assert rows[3] == ({"conversation": str(conversation)}, None)
    assert rows[4] == ({}, None)
    assert rows[5] == ({}, "/staff/somewhere-else")  # not one the portal wrote: kept, shown
    assert links_back == written
