"""What the texts' tests share (issue 22): settings with a gateway, a client with a phone
marked "texts OK", running the worker once, and the texts sent to a number."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from portal.domain.core import jobs
from portal.domain.models import CareTeamMember, Client, ClientPhone, TextMessage
from tests.support import signed_in

NUMBER = "+15551230000"  # the client's phone
PORTAL_NUMBER = "+15559870000"  # the portal's sending number


@contextmanager
def texts_on(app, **overrides):
    """Run with texts on: the file gateway by default (each text lands in the instance
    folder), or what `overrides` say."""
    original = app.extensions["portal.settings"]
    values = {"sms_transport": "file", "sms_from": PORTAL_NUMBER, **overrides}
    app.extensions["portal.settings"] = original.with_overrides(**values)
    try:
        yield
    finally:
        app.extensions["portal.settings"] = original


def texting_client(app, make, agency, case_manager, database, number: str = NUMBER):
    """A signed-in client with a "texts OK" phone and `case_manager` on the care team; the
    browser carries `.account` and `.record`."""
    account = make.client_account(agency)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager, is_case_manager=True))
    database.session.add(
        ClientPhone(client_id=record.id, number=number, kind="mobile", text_ok=True)
    )
    database.session.commit()
    browser = signed_in(app, account)
    browser.account, browser.record = account, record
    return browser


def run_jobs(database) -> None:
    """What `flask worker` does once, seeing what the requests committed."""
    database.session.expire_all()
    jobs.run_pending()
    database.session.commit()


def texts_to(session, number: str = NUMBER, kind: str | None = None) -> list[TextMessage]:
    """The texts written to `number` (of one kind), oldest first. `session` is a session or
    Flask-SQLAlchemy's `db`."""
    session = getattr(session, "session", session)
    query = select(TextMessage).where(TextMessage.to_number == number)
    if kind:
        query = query.where(TextMessage.kind == kind)
    return list(session.scalars(query.order_by(TextMessage.id)))
