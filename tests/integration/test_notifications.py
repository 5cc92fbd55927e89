"""Staff notifications: an in-app list with an unread count, optional email."""

import re

import pytest
from sqlalchemy import select

from portal.domain.messaging import notifications
from portal.domain.models import OutboxMessage


@pytest.fixture
def known_kind(monkeypatch):
    monkeypatch.setitem(notifications.KINDS, "test_notice", "Test notice about %(thing)s.")


def unread_badge(page) -> int:
    return int(re.search(r'data-unread="(\d+)"', page.get_data(as_text=True)).group(1))


def test_the_navigation_counts_unread_notifications(
    case_manager, case_manager_user, known_kind, database
):
    assert unread_badge(case_manager.get("/staff/")) == 0
    notifications.notify(case_manager_user, "test_notice", params={"thing": "A"})
    notifications.notify(case_manager_user, "test_notice", params={"thing": "B"})
    database.session.commit()
    assert unread_badge(case_manager.get("/staff/")) == 2
    page = case_manager.get("/staff/notifications").get_data(as_text=True)
    assert "Test notice about A." in page and "Test notice about B." in page


def test_marking_one_then_all_as_read(case_manager, case_manager_user, known_kind, database):
    first = notifications.notify(case_manager_user, "test_notice", params={"thing": "A"})
    notifications.notify(case_manager_user, "test_notice", params={"thing": "B"})
    database.session.commit()
    case_manager.form(
        "/staff/notifications/read",
        {"notification": str(first.public_id)},
        token_from="/staff/notifications",
    )
    assert unread_badge(case_manager.get("/staff/")) == 1
    case_manager.form("/staff/notifications/read", {}, token_from="/staff/notifications")
    assert unread_badge(case_manager.get("/staff/")) == 0


def test_nobody_can_mark_someone_elses_notification(
    case_manager, make, agency_a, known_kind, database
):
    colleague = make.staff(agency=agency_a)
    note = notifications.notify(colleague, "test_notice", params={"thing": "X"})
    database.session.commit()
    case_manager.form(
        "/staff/notifications/read",
        {"notification": str(note.public_id)},
        token_from="/staff/notifications",
    )
    database.session.refresh(note)
    assert note.read_at is None


@pytest.mark.requirement("R63")
def test_a_notification_can_also_send_an_email_without_its_content(
    case_manager_user, known_kind, database
):
    notifications.notify(case_manager_user, "test_notice", params={"thing": "secret"}, email=True)
    message = database.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == case_manager_user.email)
    )
    assert message.template == "staff_notification" and "secret" not in str(message.params)


def test_unknown_kinds_are_refused(case_manager_user):
    with pytest.raises(ValueError):
        notifications.notify(case_manager_user, "no_such_kind")
