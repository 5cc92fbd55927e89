"""A database that cannot be written (R69): the form answers 503 with Retry-After, nothing is
half-written, and what the person wrote is on the page to copy, not lost.

A real outage here: another process holds SQLite's write lock past the busy timeout, so the
request's own transaction cannot begin. PostgreSQL stopped outright is the stack's test
(`tests/stack/test_faults.py`: every page 503, nobody served as signed in, nothing
half-written)."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.domain.models import Client, Message
from portal.extensions import db
from tests.support import Factories, signed_in

TYPED = "My shoes were stolen at the shelter last night, can I get a voucher?"


def _messages(database) -> int:
    """Counted, then the test's transaction ended (SQLite: it would hold the writer's turn)."""
    count = database.session.scalar(select(func.count()).select_from(Message))
    database.session.remove()
    return count


@pytest.mark.real_commits
@pytest.mark.requirement("R69", "R28")
def test_a_message_sent_while_the_database_cannot_write_is_kept_on_the_page(app, database):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stopped is tests/stack/test_faults.py")
    make = Factories(database.session)
    account = make.client_account()
    record = database.session.get(Client, account.client_id)
    thread = f"/messages/{make.conversation(record).public_id}"
    who = SimpleNamespace(email=account.email, kind="client")
    database.session.commit()
    database.session.remove()  # the test holds no transaction (SQLite: no writer turn)
    browser = signed_in(app, who)
    token = browser.csrf_token(thread)
    before = _messages(database)

    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        answer = browser.post(thread, data={"csrf_token": token, "body": TYPED})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert "Nothing you entered was saved" in page
    assert "What you wrote" in page and TYPED.replace("'", "&#39;") in page
    assert "readonly>My shoes" in page  # in the page only: nothing stored (R28)
    assert _messages(database) == before
    # The database back, the same session sends it (nothing was lost or half-written).
    again = browser.form(thread, {"body": TYPED})
    assert again.status_code == 303
    assert _messages(database) == before + 1
