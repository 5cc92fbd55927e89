"""Issue 6: the staff inbox and a client conversation page at 10 and at 10,000 conversations
(100,000 messages). Prints the SQL statements per page (they must not grow with the data) and
the median and p95 server time over 200 requests.

    .venv/bin/python benchmarks/messaging.py           # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/messaging.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask.testing import FlaskClient
from sqlalchemy import event, insert, text

from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientAccount,
    Conversation,
    Message,
    StaffUser,
)
from portal.extensions import db, limiter
from tests.support import TEST_PASSWORD, build_app, enrol_app, second_step

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
MESSAGES_PER_CONVERSATION = 10


def seed(app, conversations: int) -> dict:
    """An agency, a case manager, one signed-in client with a 10-message conversation, and
    `conversations - 1` other clients with theirs (bulk inserts)."""
    suffix = uuid.uuid4().hex[:8]
    now = clock.now()
    with app.app_context():
        agency = Agency(name=f"Bench {suffix}", timezone="America/Los_Angeles")
        staff = StaffUser(
            email=f"cm-{suffix}@bench.test",
            display_name="Casey Bench",
            role=Role.CASE_MANAGER,
            agency=agency,
            password_hash=hash_password(TEST_PASSWORD),
        )
        db.session.add_all([agency, staff])
        db.session.flush()
        enrol_app(db.session, staff.id)  # signs in with the app's code, as staff do
        clients = [
            {
                "personal_id": f"B{suffix}{i:06d}",
                "owning_agency_id": agency.id,
                "first_name": "Client",
                "last_name": f"N{i:06d}",
                "name_quality": 1,
                "dob": date(1980, 1, 1),
                "dob_quality": 1,
                "public_id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "portal_fields": {},
            }
            for i in range(conversations)
        ]
        db.session.execute(insert(Client), clients)
        ids = [
            row.id
            for row in db.session.execute(
                db.select(Client.id).where(Client.owning_agency_id == agency.id).order_by(Client.id)
            )
        ]
        db.session.execute(
            insert(CareTeamMember),
            [
                {"client_id": i, "staff_id": staff.id, "is_case_manager": True, "created_at": now}
                for i in ids
            ],
        )
        db.session.execute(
            insert(Conversation),
            [
                {
                    "client_id": i,
                    "agency_id": agency.id,
                    "assigned_staff_id": staff.id,
                    "status": "open",
                    "last_message_at": now - timedelta(minutes=n),
                    "awaiting_since": now - timedelta(minutes=n) if n % 3 == 0 else None,
                    "unread_by_staff": 1 if n % 3 == 0 else 0,
                    "unread_by_client": 0,
                    "public_id": uuid.uuid4(),
                    "created_at": now,
                }
                for n, i in enumerate(ids)
            ],
        )
        conversation_ids = [
            row.id
            for row in db.session.execute(
                db.select(Conversation.id).where(Conversation.agency_id == agency.id)
            )
        ]
        batch = []
        for c in conversation_ids:
            for m in range(MESSAGES_PER_CONVERSATION):
                batch.append(
                    {
                        "conversation_id": c,
                        "author_kind": "client" if m % 2 == 0 else "staff",
                        "author_staff_id": None if m % 2 == 0 else staff.id,
                        "body": f"Message {m} with a link https://example.org/{m} and some text.",
                        "idempotency_key": f"seed-{m}",
                        "public_id": uuid.uuid4(),
                        "created_at": now - timedelta(minutes=MESSAGES_PER_CONVERSATION - m),
                    }
                )
            if len(batch) >= 20_000:
                db.session.execute(insert(Message), batch)
                batch = []
        if batch:
            db.session.execute(insert(Message), batch)
        first = db.session.get(Client, ids[0])
        account = ClientAccount(
            email=f"client-{suffix}@bench.test",
            first_name="Client",
            agency=agency,
            client_id=first.id,
            password_hash=hash_password(TEST_PASSWORD),
            email_verified_at=now,
            privacy_version=PRIVACY_VERSION,
        )
        db.session.add(account)
        db.session.commit()
        # A live database has planner statistics (autovacuum / ANALYZE): give the bulk load its.
        for table in ("clients", "care_team_members", "conversations", "messages"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
        conversation = db.session.scalar(
            db.select(Conversation.public_id).where(Conversation.client_id == first.id)
        )
        seeded = {"staff": staff.email, "client": account.email, "conversation": conversation}
        db.session.remove()
    return seeded


def measure(app, browser, path: str) -> tuple[int, float, float]:
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert browser.get(path).status_code == 200, path
        per_page = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        # The plain test client: the server's time, without the test suite's page checks.
        FlaskClient.open(browser, path, base_url="https://localhost")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return per_page, statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.sqlite3'}"
    app = build_app(root, url, sign_in_ip_limit="100000 per minute")
    print(f"Messaging on {url.split(':', 1)[0]}: {REQUESTS} requests per page")
    for size in (10, 10_000):
        started = time.perf_counter()
        people = seed(app, size)
        seeded_in = time.perf_counter() - started
        limiter.reset()
        staff = app.test_client()
        first = staff.form("/staff/sign-in", {"email": people["staff"], "password": TEST_PASSWORD})
        second_step(staff, None, first)
        client = app.test_client()
        client.form("/sign-in", {"email": people["client"], "password": TEST_PASSWORD})
        print(
            f"  {size:>6} conversations, {size * MESSAGES_PER_CONVERSATION:>7} messages "
            f"(seeded in {seeded_in:.1f} s)"
        )
        for label, browser, path in (
            ("staff inbox (awaiting)", staff, "/staff/inbox"),
            ("staff inbox (all)", staff, "/staff/inbox?view=all"),
            ("client conversation", client, f"/messages/{people['conversation']}"),
        ):
            statements, median, p95 = measure(app, browser, path)
            print(
                f"    {label:24} {statements:3d} SQL statements   median {median:6.1f} ms   "
                f"p95 {p95:6.1f} ms"
            )
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
