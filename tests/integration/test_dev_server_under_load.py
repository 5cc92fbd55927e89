"""Issue 15: `make run`'s own server (`flask demo`, then `flask dev`: the threaded server on the
SQLite file with its worker beside it) holds 20 people at once for 30 seconds: no error
answer, nothing a form acknowledged lost or stored twice.

Runs once, in the SQLite stage (it is about the default run's SQLite file); the length comes
from DEV_LOAD_SECONDS (30 by default).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter

import pyotp
import pytest

from portal.cli import DEMO_PASSWORD
from portal.domain.accounts.factors import DEMO_TOTP_KEY
from tests.support import PROJECT_ROOT

SECONDS = float(os.environ.get("DEV_LOAD_SECONDS", "30"))
CLIENT_SESSIONS = 16
STAFF = (
    "casey@harbor.demo.example",
    "admin@harbor.demo.example",
    "morgan@northside.demo.example",
    "admin@northside.demo.example",
)
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("runs in the SQLite stage: it is about make run's SQLite file")
    instance = tmp_path_factory.mktemp("make-run")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "PORTAL_", "STORAGE_", "MAIL_"))
    }
    env.update({"INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi", "PYTHONUNBUFFERED": "1"})
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run(  # noqa: S603 - a fixed command built here
        [*flask, "demo"], cwd=PROJECT_ROOT, env=env, check=True, timeout=180, capture_output=True
    )
    port = _free_port()
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - a fixed command built here
        [*flask, "dev", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the worker it starts is in its group: both stop together
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"flask dev did not start: {(instance / 'server.log').read_text()}")
            time.sleep(0.2)
        yield port, instance
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


def _request(port, method, path, cookie=None, form=None):
    """One request on its own connection: (status, [Set-Cookie, ...], body, Location)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(form)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return (
            response.status,
            response.headers.get_all("Set-Cookie") or [],
            response.read().decode(),
            response.headers.get("Location", ""),
        )
    finally:
        connection.close()


class Person:
    """A browser: its cookies (the session's and a notice's), kept as a browser keeps them."""

    def __init__(self, port, email, start):
        self.port, self.jar = port, {}
        page = self.get(start)
        answer = self.post(start, {"email": email, "password": DEMO_PASSWORD}, page)
        if answer[0] == 303 and self.location == "/staff/sign-in/code":
            answer = self.type_app_code()
        if answer[0] != 303:
            raise AssertionError(f"sign-in answered {answer[0]}")

    def type_app_code(self):
        """The demo staff's app (its key is in the README): this code, or when this person
        used it already within these 30 s, the next one (also accepted)."""
        totp = pyotp.TOTP(DEMO_TOTP_KEY)
        for ahead in (0, 30):
            page = self.get("/staff/sign-in/code")
            answer = self.post("/staff/sign-in/code", {"code": totp.at(time.time() + ahead)}, page)
            if answer[0] != 200:
                return answer
        return answer

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.jar.items())

    def _keep(self, set_cookies):
        for header in set_cookies:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=Thu, 01 Jan 1970" in header or "Max-Age=0" in header:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def get(self, path):
        status, set_cookies, body, self.location = _request(self.port, "GET", path, self.cookie)
        self._keep(set_cookies)
        return status, body

    def post(self, path, form, page):
        token = TOKEN.search(page[1])
        status, set_cookies, body, self.location = _request(
            self.port, "POST", path, self.cookie, {**form, "csrf_token": token.group(1)}
        )
        self._keep(set_cookies)
        return status, body


def test_twenty_people_at_once_for_thirty_seconds_on_make_runs_server(dev_server):
    port, instance = dev_server
    clients = [Person(port, "client@demo.example", "/sign-in") for _ in range(CLIENT_SESSIONS)]
    staff = [Person(port, email, "/staff/sign-in") for email in STAFF]
    lock = threading.Lock()
    statuses: Counter = Counter()
    problems: list[str] = []
    sent: list[str] = []
    check_ins = [0]
    stop = time.monotonic() + SECONDS

    def note(what, status, expected):
        with lock:
            statuses[status] += 1
            if status != expected:
                problems.append(f"{what}: {status}")
        return status == expected

    def client_loop(person, n):
        round_ = 0
        while time.monotonic() < stop:
            for path in ("/home", "/messages", "/where", "/resources?q=shelter"):
                note(path, person.get(path)[0], 200)
            form = person.get("/messages/new")
            recipient = re.search(r'name="recipient" value="([^"]+)"', form[1])
            key = re.search(r'name="key" type="hidden" value="([^"]+)"', form[1])
            body = f"load {n}-{round_}"
            answer = person.post(
                "/messages/new",
                {"recipient": recipient.group(1), "body": body, "key": key.group(1)},
                form,
            )
            if note("send", answer[0], 303):
                with lock:
                    sent.append(body)
            if round_ % 2 == 0 and note(
                "check-in", person.post("/check-in", {}, person.get("/home"))[0], 303
            ):
                with lock:
                    check_ins[0] += 1
            round_ += 1

    def staff_loop(person):
        while time.monotonic() < stop:
            for path in ("/staff/", "/staff/inbox", "/staff/review", "/staff/clients"):
                note(path, person.get(path)[0], 200)

    def guarded(loop, *args):
        try:
            loop(*args)
        except Exception as exc:  # a dropped connection is an error too
            with lock:
                problems.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=guarded, args=(client_loop, p, n)) for n, p in enumerate(clients)
    ]
    threads += [threading.Thread(target=guarded, args=(staff_loop, p)) for p in staff]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    assert problems == [], problems[:10]
    assert sum(statuses.values()) > 200 and len(sent) >= CLIENT_SESSIONS
    with sqlite3.connect(instance / "portal.sqlite3") as db:
        stored = [r[0] for r in db.execute("SELECT body FROM messages WHERE body LIKE 'load %'")]
        stored_check_ins = db.execute(
            "SELECT count(*) FROM contact_events WHERE kind = 'check_in'"
        ).fetchone()[0]
        failed_jobs = db.execute("SELECT count(*) FROM jobs WHERE status = 'failed'").fetchone()[0]
        anonymous_rows = db.execute(
            "SELECT count(*) FROM user_sessions WHERE account_kind IS NULL"
        ).fetchone()[0]
    assert sorted(stored) == sorted(sent)  # nothing lost, nothing twice
    assert stored_check_ins == check_ins[0]
    assert failed_jobs == 0 and anonymous_rows == 0
    log = (instance / "server.log").read_text()
    assert '"level": "ERROR"' not in log and "Traceback" not in log
