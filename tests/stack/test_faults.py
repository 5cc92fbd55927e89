"""Parts of the stack fail while it serves; what people were told was saved is counted
afterwards (it must all be there, once). The waits come from the stack's settings
(JOB_RETRY_FIRST_SECONDS, JOB_RETRY_LONGEST_SECONDS, WORKER_POLL_SECONDS: .ci/run shortens
them), so each fault runs in seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psycopg
import pytest

from tests.stack.accounts import new_system_admin, staff_sign_in
from tests.stack.conftest import browser, csrf, unique


def owner_sql(stack, statement: str, *params):
    url = stack.database_url(owner=True).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(statement, params).fetchall()


@contextlib.contextmanager
def stopped(stack, program: str):
    """`program` stopped for the block; started again, and waited for, whatever happens."""
    stack.ctl("stop", program)
    try:
        yield
    finally:
        stack.ctl("start", program)


def wait_until(what: str, probe, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen in {seconds:.0f} s")


def forgot_password(http_client, address: str):
    page = http_client.get("/staff/forgot-password")
    return http_client.post(
        "/staff/forgot-password", data={"email": address, "csrf_token": csrf(page.text)}
    )


def pids(stack) -> dict[str, int | None]:
    return {
        name: stack.program_pid(name)
        for name in [f"web:web-{n}" for n in range(stack.WEB_NODES)]
        + [f"worker:worker-{n}" for n in range(stack.WORKERS)]
    }


@pytest.mark.requirement("R69")
def test_redis_down_sessions_and_the_account_throttle_hold_and_per_address_limits_fall_back(
    stack, mailbox
):
    """R69: sessions live in PostgreSQL, so a Redis outage neither signs anyone out nor lets
    anyone in; the per-account throttle (in the database) still locks an account after 5
    wrong passwords; readiness names Redis down and the nodes keep serving; with Redis back
    the limits are kept there again. (That per-address counts go on in each process while
    Redis is away: tests/integration/test_production_shape.py.)"""
    admin = new_system_admin(stack, mailbox)
    target = new_system_admin(stack, mailbox)
    with browser(stack, "127.0.0.21") as signed_in, browser(stack, "127.0.0.22") as guesser:
        assert staff_sign_in(signed_in, admin) == 303
        with stopped(stack, "redis"):
            wait_until(
                "readiness to report Redis down",
                lambda: stack.node_ready(0)[1].get("rate_limits") == "down",
                15,
            )
            assert stack.node_ready(0)[0] == 200  # still serving
            home = signed_in.get("/staff/")
            assert home.status_code == 200 and "Sign out" in home.text
            wrong = type(target)(target.email, "not the password at all", "")
            assert [staff_sign_in(guesser, wrong) for _ in range(5)] == [200] * 5
            # The right password now, too soon: refused (the account's throttle, no Redis).
            assert staff_sign_in(guesser, target) == 200
            assert "Sign out" not in guesser.get("/staff/").text
            # Someone else signs in as usual.
            with browser(stack, "127.0.0.23") as other:
                assert staff_sign_in(other, admin) == 303
        wait_until(
            "rate limits back in Redis",
            lambda: all(stack.node_ready(n)[1].get("rate_limits") == "ok" for n in range(2)),
            30,
        )
        assert signed_in.get("/staff/").status_code == 200


@pytest.mark.requirement("R69")
def test_postgresql_restarted_503_while_down_then_nodes_and_workers_recover_alone(stack, mailbox):
    """R69: the database (and with it the session store) gone: every page answers 503 with
    Retry-After, nothing is served as signed in, nothing is half-written; back up, the same
    processes serve the same session again and the workers send mail again."""
    admin = new_system_admin(stack, mailbox)
    before = pids(stack)
    with browser(stack, "127.0.0.31") as http_client:
        assert staff_sign_in(http_client, admin) == 303
        mails_before = len(mailbox.messages_to(admin.email))
        with stopped(stack, "postgres"):
            for path in ("/staff/", "/sign-in", "/staff/inbox"):
                answer = http_client.get(path)
                assert answer.status_code == 503, (path, answer.status_code)
                assert answer.headers.get("Retry-After")
                assert "Sign out" not in answer.text
            assert stack.node_ready(0)[0] == 503
            refused = forgot_password(http_client, admin.email)
            assert refused.status_code == 503
        wait_until("the nodes to serve again", lambda: stack.node_ready(0)[0] == 200, 60)
        wait_until("node 1 to serve again", lambda: stack.node_ready(1)[0] == 200, 60)
        page = wait_until(
            "the signed-in page",
            lambda: (a := http_client.get("/staff/")).status_code == 200 and a,
            60,
        )
        assert "Sign out" in page.text  # the same session, kept in the database
        assert forgot_password(http_client, admin.email).status_code == 200
    # The refused request wrote nothing; the one after the restart is mailed, once.
    mailbox.wait_for(admin.email, count=mails_before + 1, seconds=60)
    time.sleep(2)
    assert len(mailbox.messages_to(admin.email)) == mails_before + 1
    assert pids(stack) == before  # nothing was restarted to recover


@pytest.mark.requirement("R68")
def test_smtp_down_mail_waits_in_the_outbox_and_goes_out_once_it_is_back(stack, mailbox):
    """R68: the mail server away for a while: the message waits (retried with the backoff,
    shortened here), nothing is lost, and it is delivered once when the server is back."""
    admin = new_system_admin(stack, mailbox)
    first_wait = float(stack.portal_environment().get("JOB_RETRY_FIRST_SECONDS", "60"))
    if first_wait > 5:
        pytest.skip("the stack runs with the real backoff (set JOB_RETRY_FIRST_SECONDS=1)")
    sent_before = len(mailbox.messages_to(admin.email))
    with browser(stack, "127.0.0.41") as http_client, stopped(stack, "smtp"):
        assert forgot_password(http_client, admin.email).status_code == 200
        rows = wait_until(
            "the worker to try and fail",
            lambda: owner_sql(
                stack,
                "SELECT j.attempts, j.status, o.status FROM jobs j"
                " JOIN outbox_messages o ON o.id = (j.payload->>'outbox_id')::int"
                " WHERE j.kind = 'mail.send' AND o.to_address = %s AND o.status = 'queued'"
                " AND j.attempts >= 2",
                admin.email,
            ),
            60,
        )
        assert rows[0][1] == "queued"  # waiting for its next try, not given up
        assert len(mailbox.messages_to(admin.email)) == sent_before
    mailbox.wait_for(admin.email, count=sent_before + 1, seconds=60)
    time.sleep(2)
    assert len(mailbox.messages_to(admin.email)) == sent_before + 1
    (status,) = owner_sql(
        stack,
        "SELECT status FROM outbox_messages WHERE to_address = %s ORDER BY id DESC LIMIT 1",
        admin.email,
    )[0]
    assert status == "sent"


# --- faults while clients upload (the load's accounts: tests/stack/seed.py) ----------------


@pytest.fixture(scope="module")
def clients(stack):
    """Sign-ins for 20 load clients beyond the quick load run's first 60, those with the
    fewest uploads first (each may keep 50: repeated runs on one stack fill them)."""
    from tests.stack.seed import PASSWORD, client_email, portal_app, seed

    app = portal_app()
    seed(app, clients=200, staff=20)
    emails = [client_email(n) for n in range(60, 200)]
    kept = dict(
        owner_sql(
            stack,
            "SELECT a.email, count(d.id) FROM client_accounts a"
            " LEFT JOIN documents d ON d.uploaded_by_account_id = a.id"
            " WHERE a.email = ANY(%s) GROUP BY a.email",
            emails,
        )
    )
    emails.sort(key=lambda email: kept.get(email, 0))
    return app, [(email, PASSWORD) for email in emails[:20]]


def person(stack, email: str, password: str, n: int, **options):
    from tests.stack.people import ClientPerson

    someone = ClientPerson(
        stack.base_url(),
        email,
        password,
        cert=str(stack.path("tls", "cert.pem")),
        source_address=f"127.0.3.{n + 1}",
        run_id=unique("fault"),
        **options,
    )
    assert someone.sign_in()
    return someone


def photo() -> bytes:
    import io
    import os

    from PIL import Image

    image = Image.frombytes("RGB", (48, 48), os.urandom(48 * 48 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def documents_titled(stack, titles) -> dict[str, tuple[str, str, str]]:
    """title -> (storage key, sha256, scan status) of the documents with those titles."""
    rows = owner_sql(
        stack,
        "SELECT title, storage_key, sha256, scan_status FROM documents WHERE title = ANY(%s)",
        list(titles),
    )
    found: dict[str, list] = {}
    for title, key, sha, scan in rows:
        found.setdefault(title, []).append((key, sha, scan))
    assert all(len(v) == 1 for v in found.values()), "a document stored twice"
    return {title: v[0] for title, v in found.items()}


@pytest.mark.requirement("R66")
def test_seaweedfs_killed_during_uploads_no_row_without_its_object_and_uploads_work_after(
    stack, clients
):
    """R66: S3 killed (SIGKILL) while clients upload: each upload either is told "sent" and
    has its row and its object (same SHA-256), or is told, in words, that it was not saved and
    left no row; supervisord starts SeaweedFS again and uploads work."""
    import hashlib
    import threading

    _app, accounts = clients
    people = [person(stack, email, pw, n, retries=0) for n, (email, pw) in enumerate(accounts[:6])]
    refusals: list[str] = []
    stop = time.monotonic() + 10
    lock = threading.Lock()

    def upload_until_stopped(someone):
        while time.monotonic() < stop:
            outcome = someone.upload_photo(photo())
            if not outcome.saved:
                with lock:
                    refusals.append((outcome.status, someone.last_answer.text))
            time.sleep(0.1)

    threads = [threading.Thread(target=upload_until_stopped, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    time.sleep(2)
    weed = stack.program_pid("s3")
    os.kill(weed, signal.SIGKILL)
    killed_at = time.monotonic()
    for thread in threads:
        thread.join()
    told = [m for p in people for m in p.ledger.uploads]
    refused = [m for p in people for m in p.ledger.uploads_refused + p.ledger.uploads_unsure]
    wait_until("S3 started again", lambda: stack.program_pid("s3") not in (None, weed), 60)
    wait_until("S3 to answer", lambda: _s3_answers(stack), 60)
    print(
        f"\n  S3 killed mid-upload: {len(told)} told sent, {len(refused)} not saved "
        f"({sum(1 for status, _ in refusals if status == 503)} with the 503 page); S3 answering"
        " again after "
        f"{time.monotonic() - killed_at:.1f} s"
    )
    # Every upload that was not saved was told so in words: 503 with the form kept while the
    # store was away (or the form's own refusal, 200, such as a full quota after many runs on
    # one stack); none a 500 or a 502, none left without an answer.
    assert len(refusals) == len(refused)
    outage = [text for status, text in refusals if status == 503]
    assert outage, "the kill hit no upload: nothing was tested"
    assert {status for status, _ in refusals} <= {503, 200}
    assert all("could not reach our file storage" in text for text in outage)
    stored = documents_titled(stack, told + refused)
    assert sorted(stored) == sorted(told), "lost, or stored although the person was told not"
    client = stack.s3_client()
    for _title, (key, sha, _scan) in stored.items():
        body = client.get_object(Bucket=stack.BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha
    # Every document row of these people has its object (none left half-written).
    after = people[0].upload_photo(photo())
    assert after.saved
    for someone in people:
        someone.close()


def _s3_answers(stack) -> bool:
    try:
        stack.s3_client().head_bucket(Bucket=stack.BUCKET)
    except Exception:
        return False
    return True


@pytest.mark.requirement("R49")
def test_clamd_down_files_stay_pending_and_are_scanned_when_it_returns(stack, clients):
    _app, accounts = clients
    email, password = accounts[10]
    someone = person(stack, email, password, 10)
    with stopped(stack, "clamd"):
        assert someone.upload_photo(photo()).saved
        [title] = someone.ledger.uploads
        time.sleep(3)  # several retries of the scan job (JOB_RETRY_* shortened)
        assert documents_titled(stack, [title])[title][2] == "pending"
    status = wait_until(
        "the scan after clamd returned",
        lambda: (s := documents_titled(stack, [title])[title][2]) != "pending" and s,
        60,
    )
    assert status == "clean"
    someone.close()


def test_a_worker_killed_is_started_again_and_the_mail_it_held_goes_out(stack, mailbox):
    """supervisord restarts a worker that dies (SIGKILL, as the kernel's OOM killer would),
    and the new ones send mail. (A job a dying worker held is taken again when its lease
    runs out: tests/integration/test_worker_survives.py.)"""
    admin = new_system_admin(stack, mailbox)
    before = {n: stack.program_pid(f"worker:worker-{n}") for n in range(stack.WORKERS)}
    for pid in before.values():
        os.kill(pid, signal.SIGKILL)
    after = wait_until(
        "supervisord to start the workers again",
        lambda: (
            (now := {n: stack.program_pid(f"worker:worker-{n}") for n in range(stack.WORKERS)})
            and all(now[n] not in (None, before[n]) for n in now)
            and now
        ),
        30,
    )
    assert set(after.values()).isdisjoint(before.values())
    sent_before = len(mailbox.messages_to(admin.email))
    with browser(stack, "127.0.0.51") as http_client:
        assert forgot_password(http_client, admin.email).status_code == 200
    mailbox.wait_for(admin.email, count=sent_before + 1, seconds=60)
