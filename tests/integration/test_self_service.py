"""Issue 5: client self-service and the staff review queue."""

import csv
import io
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain import selfservice
from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.core.session import reading, will_write
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientLocation,
    ClientPhone,
    ClientTask,
    ContactEvent,
    RecordRequest,
    ReviewItem,
    StaffNotification,
)
from portal.domain.selfservice import review
from tests.support import TEST_PASSWORD, signed_in

PHONE = {
    "phone_1_number": "(415) 555-0123",
    "phone_1_kind": "mobile",
    "phone_1_text": "y",
}


@pytest.fixture
def me(app, make, agency_a, case_manager_user, database):
    """A signed-in client whose care team is the agency A case manager."""
    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    client.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    case_manager_user.shown_to_clients = True
    database.session.commit()
    browser = signed_in(app, account)
    browser.record = client
    return browser


def items(database, client, **where):
    query = select(ReviewItem).where(ReviewItem.client_id == client.id)
    for name, value in where.items():
        query = query.where(getattr(ReviewItem, name) == value)
    return database.session.scalars(query.order_by(ReviewItem.id)).all()


def send_contact(me, **values):
    """The contact form as a browser sends it: prefilled with the current (or pending) email."""
    current = selfservice.current_details(me.record).email
    return me.form("/contact", {"preferred_contact": "", "email": current, **values})


def decide(staff, item, action, **data):
    page = f"/staff/review/{item.public_id}"
    return staff.form(page, {"action": action, "version": str(item.version), **data})


def fresh(database, obj):
    database.session.expire_all()
    return database.session.get(type(obj), obj.id)


# --- staged, not applied ------------------------------------------------------------------


@pytest.mark.requirement("R33", "R38")
def test_contact_details_wait_for_review_and_change_nothing_yet(me, database):
    before = (me.record.email, me.record.address_line1)
    done = send_contact(
        me,
        **PHONE,
        email="new.me@example.org",
        address_line1="1 Main St",
        city="Oakland",
        state="ca",
        postal_code="94612",
    )
    assert done.status_code == 303 and done.headers["Location"] == "/updates"
    kinds = sorted(i.kind for i in items(database, me.record))
    assert kinds == ["address", "contact_email", "phones"]
    record = fresh(database, me.record)
    assert (record.email, record.address_line1) == before
    assert database.session.scalar(select(func.count()).select_from(ClientPhone)) == 0
    assert record.last_contact_at is not None  # an update counts as contact
    page = me.get("/updates").get_data(as_text=True)
    assert page.count("waiting for review") == 3
    phones = review.payload_of(items(database, me.record, kind="phones")[0])["phones"]
    assert phones == [
        {"number": "+14155550123", "kind": "mobile", "voicemail_ok": False, "text_ok": True}
    ]
    stored = items(database, me.record, kind="contact_email")[0].payload_encrypted
    assert "new.me@example.org" not in stored  # encrypted at rest


@pytest.mark.requirement("R38")
def test_bad_input_is_refused_with_every_error_and_nothing_written(me, database):
    refused = send_contact(
        me, phone_1_number="12", phone_1_kind="mobile", email="not an email", postal_code="9"
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "Phone 1: enter a number we can call" in page and "Enter a ZIP code" in page
    assert "email address like" in page
    assert items(database, me.record) == []
    assert fresh(database, me.record).last_contact_at is None


def test_nothing_changed_is_said_kindly(me, database):
    refused = send_contact(me, email=me.record.email)
    assert "Nothing changed" in refused.get_data(as_text=True)


def test_a_newer_submission_supersedes_the_pending_one(me, database):
    send_contact(me, **PHONE)
    send_contact(me, phone_1_number="415-555-0199", phone_1_kind="home")
    statuses = [i.status for i in items(database, me.record, kind="phones")]
    assert statuses == ["superseded", "pending"]
    form = me.get("/contact").get_data(as_text=True)
    assert "(415) 555-0199" in form and "waiting for review" in form


# --- staff decide -------------------------------------------------------------------------


@pytest.mark.requirement("R33")
def test_accepting_changes_the_record_and_marks_the_portal_value(me, case_manager, database):
    send_contact(me, **PHONE, email="new.me@example.org")
    queue = case_manager.get("/staff/review").get_data(as_text=True)
    assert "2 changes waiting" in queue
    for item in items(database, me.record):
        page = case_manager.get(f"/staff/review/{item.public_id}").get_data(as_text=True)
        assert "In the record now" in page and "What the client sent" in page
        assert decide(case_manager, item, "accept").status_code == 303
    record = fresh(database, me.record)
    assert record.email == "new.me@example.org" and set(record.portal_fields) == {
        "email",
        "phones",
    }
    phone = database.session.scalars(select(ClientPhone)).one()
    assert (phone.number, phone.text_ok, phone.voicemail_ok) == ("+14155550123", True, False)
    page = case_manager.get(f"/staff/clients/{record.public_id}").get_data(as_text=True)
    assert page.count("Client supplied through the portal") == 2
    assert "(415) 555-0123" in page
    assert me.get("/updates").get_data(as_text=True).count("</svg> accepted") == 2


@pytest.mark.requirement("R33")
def test_rejecting_needs_a_reason_the_client_then_sees(me, case_manager, database):
    send_contact(me, email="new.me@example.org")
    item = items(database, me.record)[0]
    no_reason = decide(case_manager, item, "reject")
    assert "Choose a reason" in no_reason.get_data(as_text=True)
    other_without_note = decide(case_manager, item, "reject", reason="other")
    assert "Enter a value" in other_without_note.get_data(as_text=True)
    assert fresh(database, item).status == "pending"
    decide(case_manager, item, "reject", reason="other", note="Please call us to confirm it.")
    assert fresh(database, me.record).email != "new.me@example.org"
    page = me.get("/updates").get_data(as_text=True)
    assert "not accepted" in page and "Please call us to confirm it." in page
    # The client reads staff's note as the reason, not the staff form's label (issue 17).
    assert "written below" not in page


@pytest.mark.requirement("R33")
def test_staff_edit_then_accept(me, case_manager, database):
    send_contact(me, email="new.me@exmaple.org")
    item = items(database, me.record)[0]
    bad = decide(case_manager, item, "edit", email="not an email")
    assert "email address like" in bad.get_data(as_text=True)
    assert fresh(database, item).status == "pending"
    decide(case_manager, item, "edit", email="new.me@example.org")
    assert fresh(database, me.record).email == "new.me@example.org"
    assert fresh(database, item).edited is True


def test_a_stale_decision_is_told_what_happened(me, case_manager, agency_admin, database):
    send_contact(me, email="new.me@example.org")
    item = items(database, me.record)[0]
    assert decide(agency_admin, item, "reject", reason="incomplete").status_code == 303
    late = decide(case_manager, item, "accept")  # the page still had the old version
    page = late.get_data(as_text=True)
    assert late.status_code == 200 and "Someone else decided" in page and "Not accepted by" in page
    assert fresh(database, me.record).email != "new.me@example.org"


@pytest.mark.real_commits
def test_two_staff_deciding_at_once_exactly_one_wins(app, database):
    import uuid

    from portal.domain.models import Agency, ClientAccount, StaffUser

    agency = Agency(name=f"Agency {uuid.uuid4().hex[:6]}", timezone="America/Los_Angeles")
    client = Client(personal_id=uuid.uuid4().hex[:12], owning_agency=agency, first_name="R")
    account = ClientAccount(email=f"{uuid.uuid4().hex[:8]}@c.test", first_name="R", agency=agency)
    staff = [
        StaffUser(
            email=f"{uuid.uuid4().hex[:8]}@s.test",
            display_name=f"S{i}",
            role=Role.CASE_MANAGER,
            agency=agency,
        )
        for i in range(2)
    ]
    database.session.add_all([agency, client, account, *staff])
    database.session.flush()
    account.client_id = client.id
    item = ReviewItem(
        client_id=client.id,
        agency_id=agency.id,
        kind="contact_email",
        payload_encrypted=crypto.encrypt_json({"email": "race@example.org"}),
        submitted_by_account_id=account.id,
    )
    database.session.add(item)
    database.session.flush()
    item_id, staff_ids = item.id, [s.id for s in staff]
    database.session.commit()
    barrier = threading.Barrier(2)
    results = []

    def act(staff_id, decision):
        with app.app_context():
            reading()  # both read the pending item before either decides, as two pages do
            try:
                actor = database.session.get(StaffUser, staff_id)
                mine = database.session.get(ReviewItem, item_id)
                barrier.wait(timeout=10)
                will_write()  # SQLite: the deciding transaction takes the write lock in turn
                if decision == "accept":
                    review.accept(actor, mine, 1)
                else:
                    review.reject(actor, mine, 1, reason="incomplete")
                database.session.commit()
                results.append(decision)
            except Exception as exc:  # the loser is told "someone else decided"
                database.session.rollback()
                results.append(type(exc).__name__)
            finally:
                database.session.remove()

    threads = [
        threading.Thread(target=act, args=(staff_ids[0], "accept")),
        threading.Thread(target=act, args=(staff_ids[1], "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results).count("DomainError") == 1 and len(results) == 2
    database.session.expire_all()
    decided = database.session.get(ReviewItem, item_id)
    assert decided.status in ("accepted", "rejected") and decided.version == 2


# --- who sees what -------------------------------------------------------------------------


@pytest.mark.requirement("R30")
def test_other_agencies_never_see_the_items(me, app, make, agency_b, database):
    send_contact(me, email="new.me@example.org")
    item = items(database, me.record)[0]
    outsider = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_b))
    assert "0 changes waiting" in outsider.get("/staff/review").get_data(as_text=True)
    assert outsider.get(f"/staff/review/{item.public_id}").status_code == 404


def test_a_client_sees_only_their_own_submissions(me, app, make, agency_a, database):
    send_contact(me, email="mine@example.org")
    other = signed_in(app, make.client_account(agency_a))
    assert "mine@example.org" not in other.get("/updates").get_data(as_text=True)
    assert "mine@example.org" in me.get("/updates").get_data(as_text=True)


def test_locations_are_for_the_care_team_only(me, app, make, agency_a, case_manager, database):
    done = me.form(
        "/where",
        {
            "place_kind": "vehicle",
            "place": "Blue van behind the library",
            "times": "Evenings",
            "use_my_location": "y",
            "latitude": "37.774929",
            "longitude": "-122.419416",
        },
    )
    assert done.status_code == 303
    item = items(database, me.record, kind="location")[0]
    assert review.payload_of(item)["lat"] == 37.775 and review.payload_of(item)["lon"] == -122.419
    colleague = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_a))  # same agency, not team
    assert colleague.get(f"/staff/review/{item.public_id}").status_code == 404
    assert "<td>Where to find me</td>" not in colleague.get("/staff/review").get_data(as_text=True)
    decide(case_manager, item, "accept")
    record_page = f"/staff/clients/{me.record.public_id}"
    assert "Blue van behind the library" in case_manager.get(record_page).get_data(as_text=True)
    assert "Blue van" not in colleague.get(record_page).get_data(as_text=True)
    stored = database.session.scalars(select(ClientLocation)).one()
    assert "Blue van" not in stored.details_encrypted
    home = me.get("/home").get_data(as_text=True)
    assert "Blue van behind the library" in home and "Shared today" in home


def test_a_location_without_coordinates_and_a_refused_one(me, database):
    refused = me.form("/where", {"place_kind": "castle"})
    assert "Choose the kind of place" in refused.get_data(as_text=True)
    unreadable = me.form("/where", {"place_kind": "street", "use_my_location": "y"})
    assert "could not read your location" in unreadable.get_data(as_text=True)
    assert items(database, me.record) == []
    assert me.form("/where", {"place_kind": "street"}).status_code == 303
    assert review.payload_of(items(database, me.record)[0])["lat"] is None


def test_location_history_is_pruned_after_90_days(me, case_manager, database):
    me.form("/where", {"place_kind": "shelter", "place": "Hope Shelter"})
    decide(case_manager, items(database, me.record)[0], "accept")
    me.form("/correction", {"field": "location", "text": "Now at the bridge"}, token_from="/home")
    me.form("/where", {"place_kind": "street", "place": "Under the bridge"})
    old = items(database, me.record)
    for item in old:  # everything so far is 91 days old
        item.created_at = clock.now() - timedelta(days=91)
    location = database.session.scalars(select(ClientLocation)).one()
    location.shared_at = clock.now() - timedelta(days=91)
    database.session.commit()
    me.form("/where", {"place_kind": "vehicle", "place": "Blue van"})  # today: stays
    selfservice.prune_locations()
    database.session.commit()
    assert database.session.scalar(select(func.count()).select_from(ClientLocation)) == 0
    after = {i.id: i for i in items(database, me.record)}
    for item in old:
        assert after[item.id].payload_encrypted == "" and after[item.id].reject_note is None
    assert [after[i.id].status for i in old] == ["accepted", "withdrawn", "superseded"]
    newest = max(after.values(), key=lambda i: i.id)
    assert review.payload_of(newest)["place"] == "Blue van" and newest.status == "pending"


# --- check-in, tasks, record requests, corrections ---------------------------------------


def test_check_in_records_contact(me, database):
    assert me.form("/check-in", token_from="/home").status_code == 303
    events = database.session.scalars(select(ContactEvent.kind)).all()
    assert events == ["check_in"]
    assert "You last checked in on" in me.get("/home").get_data(as_text=True)


def test_staff_ask_and_the_client_acting_completes_the_request(me, case_manager, database):
    page = f"/staff/clients/{me.record.public_id}/tasks"
    past = case_manager.form(
        page, {"kind": "update_location", "due_day": "1", "due_month": "1", "due_year": "2001"}
    )
    assert "from today on" in past.get_data(as_text=True)
    year = clock.now().year + 1
    done = case_manager.form(
        page, {"kind": "update_location", "due_day": "1", "due_month": "6", "due_year": str(year)}
    )
    assert done.status_code == 303
    home = me.get("/home").get_data(as_text=True)
    assert "Your care team asks you to" in home and "Update where we can find you" in home
    me.form("/where", {"place_kind": "street"})
    task = database.session.scalars(select(ClientTask)).one()
    assert task.status == "done"
    assert "Your care team asks you to" not in me.get("/home").get_data(as_text=True)


@pytest.mark.requirement("R62")
def test_asking_for_the_record(me, case_manager, case_manager_user, database):
    refused = me.form("/record-request", {})
    assert "Choose at least one part" in refused.get_data(as_text=True)
    me.form("/record-request", {"parts": ["enrollments", "consents"], "delivery": "pick_up"})
    request = database.session.scalars(select(RecordRequest)).one()
    assert request.parts == {"parts": ["consents", "enrollments"]}
    kinds = database.session.scalars(
        select(StaffNotification.kind).where(StaffNotification.staff_id == case_manager_user.id)
    ).all()
    assert kinds == ["record_requested"]
    staff_page = case_manager.get("/staff/record-requests").get_data(as_text=True)
    assert "Enrollments and services" in staff_page
    case_manager.form("/staff/record-requests/fulfil", {"request": str(request.public_id)})
    assert fresh(database, request).status == "fulfilled"
    assert "done on" in me.get("/updates").get_data(as_text=True)


@pytest.mark.requirement("R62")
def test_corrections_only_for_what_the_client_gave(me, case_manager, database):
    page = me.get("/correction").get_data(as_text=True)
    assert "nothing to correct here" in page
    refused = me.form("/correction", {"field": "email", "text": "wrong"}, token_from="/home")
    assert "Your agency entered this information" in refused.get_data(as_text=True)
    send_contact(me, email="new.me@example.org")
    decide(case_manager, items(database, me.record)[0], "accept")
    assert (
        me.form("/correction", {"field": "email", "text": "It is new.me2@example.org"}).status_code
        == 303
    )
    correction = items(database, me.record, kind="correction")[0]
    assert review.payload_of(correction)["field"] == "email"


def test_the_care_team_panel_shows_only_staff_who_allow_it(
    me, case_manager_user, make, agency_a, database
):
    hidden = make.staff(Role.CASE_MANAGER, agency_a, name="Quiet Worker")
    hidden.shown_to_clients = False
    me.record.care_team.append(CareTeamMember(staff=hidden))
    database.session.commit()
    home = me.get("/home").get_data(as_text=True)
    assert "Casey Case" in home and "Quiet Worker" not in home


# --- the queue's filters and the coordinated-entry view -------------------------------------


def test_the_queue_filters_by_kind_care_team_and_age(me, case_manager, case_manager_user, database):
    send_contact(me, email="new.me@example.org")
    send_contact(me, **PHONE)
    older = items(database, me.record, kind="contact_email")[0]
    older.created_at = clock.now() - timedelta(days=3)
    database.session.commit()

    def names(query):
        page = case_manager.get("/staff/review" + query).get_data(as_text=True)
        return re.findall(r"<td>(Contact email|Phone numbers)</td>", page)

    assert names("") == ["Contact email", "Phone numbers"]  # oldest first
    assert names("?kind=phones") == ["Phone numbers"]
    assert names("?older_than=2") == ["Contact email"]
    assert names(f"?care_team={case_manager_user.id}") == ["Contact email", "Phone numbers"]
    assert names("?care_team=999999") == []
    nav = case_manager.get("/staff/").get_data(as_text=True)
    assert 'data-waiting="2"' in nav


def test_coordinated_entry_lists_60_and_90_days_and_exports_csv(
    case_manager, make, agency_a, database
):
    now = clock.now()
    recent = make.client(agency_a, last_name="Recent")
    warn = make.client(agency_a, last_name="Warning")
    risk = make.client(agency_a, last_name="=Risk")
    recent.last_contact_at = now - timedelta(days=10)
    warn.last_contact_at = now - timedelta(days=61)
    warn.last_contact_kind = "hmis_service"
    risk.last_contact_at = now - timedelta(days=95)
    risk.last_contact_kind = "check_in"
    never = make.client(agency_a, last_name="Nevercontacted")
    never.last_contact_at = None
    database.session.commit()
    page = case_manager.get("/staff/coordinated-entry").get_data(as_text=True)
    at_risk, over_60 = page.split("Over 60 days", 1)
    over_60, no_contact = over_60.split("No contact recorded", 1)
    assert "=Risk" in at_risk and "Warning" in over_60 and "Recent" not in page
    # Issue 21: which contact it was, and whose
    assert "Check-in (Portal)" in at_risk and "Service (HMIS)" in over_60
    # Issue 17: the clients with no contact at all are named, not only counted.
    assert "Nevercontacted" in no_contact and "Nevercontacted" not in at_risk + over_60
    export = case_manager.get("/staff/coordinated-entry?format=csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][0] == "PersonalID" and [r[2] for r in rows[1:]] == [
        "'=Risk",
        "Warning",
        "Nevercontacted",
    ]
    assert [r[4] for r in rows[1:]] == ["check_in", "hmis_service", ""]
    assert rows[-1][3:] == ["", "", ""]  # no last contact, no kind, no days


# --- account preferences change at once -------------------------------------------------------


def test_language_changes_at_once(me, database):
    done = me.form("/account/preferences", {"language": "es"}, token_from="/account")
    assert done.status_code == 303
    account = fresh(database, me.account)
    assert account.preferred_language == "es"
    assert 'lang="es"' in me.get("/account").get_data(as_text=True)
    refused = me.form("/account/preferences", {"language": "xx"}, token_from="/account")
    assert refused.status_code == 200 and fresh(database, me.account).preferred_language == "es"


@pytest.mark.requirement("R10", "R27")
def test_the_sign_in_email_changes_after_the_password_and_a_code(me, app, database):
    from portal.domain.models import OutboxMessage

    old = me.account.email
    wrong = me.form(
        "/account/email", {"new_email": "new.login@example.org", "password": "nope nope"}
    )
    assert "password is not right" in wrong.get_data(as_text=True)
    started = me.form(
        "/account/email", {"new_email": "New.Login@example.org", "password": TEST_PASSWORD}
    )
    assert started.status_code == 303
    assert fresh(database, me.account).email == old  # nothing yet
    message = database.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "email_change_code")
    ).one()
    assert message.to_address == "new.login@example.org"
    code = crypto.decrypt_json(message.secret_params)["code"]
    bad = me.form("/account/email/confirm", {"code": "000000" if code != "000000" else "111111"})
    assert "4 tries left" in bad.get_data(as_text=True)
    assert fresh(database, me.account).pending_email_attempts == 1  # kept despite the refusal
    assert me.form("/account/email/confirm", {"code": code}).status_code == 303
    assert fresh(database, me.account).email == "new.login@example.org"
    notice = database.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "email_changed")
    ).one()
    assert notice.to_address == old
    assert signed_in(app, fresh(database, me.account)).get("/home").status_code == 200


def test_staff_choose_whether_clients_see_them(me, app, case_manager_user, database):
    casey = signed_in(app, case_manager_user)
    casey.form("/staff/account/preferences", {}, token_from="/staff/account")
    assert fresh(database, case_manager_user).shown_to_clients is False
    assert "Casey Case" not in me.get("/home").get_data(as_text=True)
    casey.form("/staff/account/preferences", {"shown_to_clients": "y"}, token_from="/staff/account")
    assert "Casey Case" in me.get("/home").get_data(as_text=True)


# --- review follow-ups -------------------------------------------------------------------------


def test_in_person_as_the_best_way_is_stored(me, case_manager, database):
    send_contact(me, preferred_contact="in_person")
    decide(case_manager, items(database, me.record)[0], "accept")
    assert fresh(database, me.record).preferred_contact == "in_person"


def test_a_client_can_clear_an_address_that_is_not_safe_any_more(me, case_manager, database):
    me.record.address_line1, me.record.city = "1 Main St", "Oakland"
    database.session.commit()
    send_contact(me, address_line1="", city="")
    item = items(database, me.record, kind="address")[0]
    decide(case_manager, item, "accept")
    record = fresh(database, me.record)
    assert record.address_line1 is None and record.city is None


def test_details_that_are_still_right_answer_a_request(me, case_manager, database):
    page = f"/staff/clients/{me.record.public_id}/tasks"
    case_manager.form(page, {"kind": "update_contact"})
    done = send_contact(me, email=me.record.email)
    assert done.status_code == 303 and done.headers["Location"] == "/home"
    assert database.session.scalars(select(ClientTask.status)).all() == ["done"]
    assert items(database, me.record) == []


def test_a_staff_edit_takes_the_portal_marker_away(me, case_manager, database):
    send_contact(me, email="new.me@example.org")
    decide(case_manager, items(database, me.record)[0], "accept")
    assert "email" in fresh(database, me.record).portal_fields
    from portal.domain.records import clients as client_service

    record = fresh(database, me.record)
    fields = client_service.fields_of(record)
    fields.email = "agency.set@example.org"
    client_service.update_client(case_manager.account, record, fields)
    database.session.commit()
    assert "email" not in fresh(database, me.record).portal_fields
    assert "email" not in selfservice.correctable(fresh(database, me.record))


@pytest.mark.requirement("R62")
def test_a_correction_about_the_location_is_for_the_care_team_only(
    me, app, make, agency_a, case_manager, database
):
    me.form("/where", {"place_kind": "shelter"})
    decide(case_manager, items(database, me.record)[0], "accept")
    me.form("/correction", {"field": "location", "text": "Now at the bridge"}, token_from="/home")
    correction = items(database, me.record, kind="location_correction")[0]
    colleague = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_a))
    assert colleague.get(f"/staff/review/{correction.public_id}").status_code == 404
    assert "0 changes waiting" in colleague.get("/staff/review").get_data(as_text=True)
    assert case_manager.get(f"/staff/review/{correction.public_id}").status_code == 200


@pytest.mark.requirement("R17")
def test_an_email_another_account_uses_gets_the_same_answer_and_no_code(
    me, make, agency_a, database
):
    from portal.domain.models import OutboxMessage

    taken = make.client_account(agency_a).email
    free = me.form("/account/email", {"new_email": "free@example.org", "password": TEST_PASSWORD})
    used = me.form("/account/email", {"new_email": taken, "password": TEST_PASSWORD})
    assert free.status_code == used.status_code == 303
    assert free.headers["Location"] == used.headers["Location"]
    sent_to = database.session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.template == "email_change_code")
    ).all()
    assert sent_to == ["free@example.org"]
    for _ in range(5):
        me.form("/account/email/confirm", {"code": "123456"})
    last = me.form("/account/email/confirm", {"code": "123456"})
    assert "no longer works" in last.get_data(as_text=True)
    assert fresh(database, me.account).email != taken


def test_coordinated_entry_boundaries(frozen_clock, case_manager, make, agency_a, database):
    now = clock.now()
    exactly_60 = make.client(agency_a, last_name="Sixty")
    just_over_90 = make.client(agency_a, last_name="Ninety")
    exactly_60.last_contact_at = now - timedelta(days=60)
    just_over_90.last_contact_at = now - timedelta(days=90, hours=3)
    database.session.commit()
    page = case_manager.get("/staff/coordinated-entry").get_data(as_text=True)
    at_risk, _over_60 = page.split("Over 60 days", 1)
    assert "Sixty" not in page and "Ninety" in at_risk


def test_odd_numbers_in_the_queue_filters_are_ignored(case_manager):
    assert case_manager.get("/staff/review?care_team=²").status_code == 200
