"""Issue 15: throughput of the hot pages in the README's production shape, beside the app's own
`/health` in the same run.

gunicorn (sync workers) serves the app with PORTAL_ENV=production and rate limits in Redis; a
signed-in client and a signed-in case manager (the demo accounts) ask for each page while
`wrk` (Debian's package) keeps CONNECTIONS requests in flight. Each page is measured right after
a `/health` run, and its ratio to that run is printed with req/s and p99 latency. First, the SQL
statements each page runs in-process (they must not grow with the data: `--grow` adds rows and
counts again). Last, 16 signed-in clients press "I'm still here" as fast as they can for
BENCH_SECONDS: the writes' rate and latency, and whether every acknowledged one was stored.

    .venv/bin/python benchmarks/throughput.py                       # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://portal:portal@127.0.0.1:5432/portal_bench \\
        .venv/bin/python benchmarks/throughput.py                   # PostgreSQL (schema reset!)

Settings: BENCH_SECONDS (10 per run), BENCH_WORKERS (4), BENCH_CONNECTIONS (32),
BENCH_PAGES (comma-separated paths, default: all below). Needs `wrk` and `redis-server`
(apt-get install wrk redis-server).
"""

from __future__ import annotations

import http.client as http_client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyotp
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.cli import DEMO_PASSWORD  # noqa: E402
from portal.extensions import db  # noqa: E402
from tests.support import (  # noqa: E402
    build_app,
    enrol_app,
    production_environment,
    second_step,
)

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
CLIENT = "client@demo.example"
STAFF = "casey@harbor.demo.example"
BENCH_TOTP_KEY = "BENCHHARBORLANTERNRIVERTHROUGHPT"  # Casey's authenticator app in this run
PAGES = [
    ("client", "/home", 0.30),
    ("client", "/messages", 0.25),
    ("client", "/where", 0.25),
    ("client", "/resources?q=shelter", 0.25),
    ("staff", "/staff/inbox", 0.25),
    ("staff", "/staff/review", 0.25),
    ("staff", "/staff/clients", 0.25),
]
COOKIE = "__Host-portal"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


# --- seeding and in-process statement counts ---------------------------------------------


def seed(root: Path, url: str):
    from sqlalchemy import select

    from portal.domain import demo_data
    from portal.domain.accounts import factors
    from portal.domain.models import StaffUser

    app = build_app(root, url, sign_in_ip_limit="100000 per minute")
    with app.app_context():
        demo_data.create(DEMO_PASSWORD)
        # The demo's app key is refused under production settings: Casey gets the benchmark's.
        casey = db.session.scalar(select(StaffUser).where(StaffUser.email == STAFF))
        factors.remove_all(casey)
        enrol_app(db.session, casey.id, BENCH_TOTP_KEY)
        db.session.commit()
        db.session.remove()
    return app


def grow(app, extra: int) -> None:
    """More of everything the hot pages list: clients, conversations and messages, review
    items, check-ins; the pages' statement counts must stay the same."""
    from datetime import date

    from portal.domain.core import clock, crypto
    from portal.domain.models import (
        Agency,
        CareTeamMember,
        Client,
        ClientAccount,
        ContactEvent,
        Conversation,
        Message,
        ReviewItem,
        StaffUser,
    )

    with app.app_context():
        session = db.session
        agency = session.query(Agency).filter(Agency.name.like("Harbor%")).one()
        staff = session.query(StaffUser).filter(StaffUser.email == STAFF).one()
        account = session.query(ClientAccount).filter(ClientAccount.email == CLIENT).one()
        now = clock.now()
        for n in range(extra):
            other = Client(
                personal_id=f"GROW-{n:05d}",
                owning_agency=agency,
                first_name=f"Grow{n}",
                last_name="Bench",
                dob=date(1980, 1, 1),
                dob_quality=1,
            )
            session.add(other)
            session.flush()
            other.care_team.append(CareTeamMember(staff=staff, is_case_manager=True))
            conversation = Conversation(client_id=other.id, agency_id=agency.id)
            session.add(conversation)
            session.flush()
            for m in range(3):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        author_kind="client",
                        body=f"message {m}",
                        idempotency_key=f"grow-{n}-{m}",
                        created_at=now,
                    )
                )
            session.add(
                ReviewItem(
                    client_id=other.id,
                    agency_id=agency.id,
                    kind="contact_email",
                    payload_encrypted=crypto.encrypt_json({"email": f"g{n}@example.org"}),
                    submitted_by_account_id=account.id,
                )
            )
            session.add(ContactEvent(client_id=account.client_id, kind="check_in"))
        session.commit()
        session.remove()


def statement_counts(app) -> dict[str, int]:
    from tests.support import CheckingClient

    app.test_client_class = CheckingClient
    counts: dict[str, int] = {}
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    browsers = {"client": app.test_client(), "staff": app.test_client()}
    for kind, email, start in (("client", CLIENT, "/sign-in"), ("staff", STAFF, "/staff/sign-in")):
        answer = browsers[kind].form(start, {"email": email, "password": DEMO_PASSWORD})
        if kind == "staff":  # then the app's code, as staff do
            answer = second_step(browsers[kind], None, answer, BENCH_TOTP_KEY)
        assert answer.status_code == 303, f"{kind} sign-in failed"
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for kind, path, _target in [*PAGES, ("client", "/health", 0)]:
            browser = browsers[kind] if path != "/health" else app.test_client()
            browser.get(path)  # warm
            seen.clear()
            answer = browser.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            counts[path] = len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counts


# --- the production shape ----------------------------------------------------------------


def start_stack(root: Path, url: str) -> tuple[list[subprocess.Popen], int, dict]:
    redis_port, web_port = free_port(), free_port()
    redis_command = [shutil.which("redis-server") or "redis-server", "--port", str(redis_port)]
    redis = subprocess.Popen(  # noqa: S603 - fixed command
        [*redis_command, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(redis_port)
    env = production_environment(
        root,
        url,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis_port}/0",
        WEB_CONCURRENCY=str(WORKERS),
    )
    log = (root / "gunicorn.log").open("w")
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
    gunicorn += ["-w", str(WORKERS), "-k", "sync"]  # the repository's settings, these workers
    web = subprocess.Popen(  # noqa: S603 - fixed command
        [*gunicorn, "-b", f"127.0.0.1:{web_port}", "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(web_port)
    return [web, redis], web_port, env


def http(port: int, method: str, target: str, cookie: str = "", form=None):
    """One request on its own connection: (status, Set-Cookie, body, seconds)."""
    connection = http_client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(form)
    started = time.perf_counter()
    connection.request(method, target, body=body, headers=headers)
    answer = connection.getresponse()
    content = answer.read().decode()
    connection.close()
    seconds = time.perf_counter() - started
    return answer.status, answer.getheader("Set-Cookie") or "", content, seconds


def sign_in(port: int, path: str, email: str) -> str:
    _status, set_cookie, page, _ = http(port, "GET", path)
    cookie = set_cookie.split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    status, set_cookie, _, _ = http(
        port, "POST", path, cookie, {"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    if status == 303 and path == "/staff/sign-in":  # then the app's code, as staff do
        cookie = set_cookie.split(";", 1)[0] or cookie
        _status, set_cookie, page, _ = http(port, "GET", "/staff/sign-in/code", cookie)
        cookie = set_cookie.split(";", 1)[0] or cookie
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        code = pyotp.TOTP(BENCH_TOTP_KEY).now()
        status, set_cookie, _, _ = http(
            port, "POST", "/staff/sign-in/code", cookie, {"code": code, "csrf_token": token}
        )
    if status != 303:
        raise SystemExit(f"sign-in as {email} answered {status}")
    return set_cookie.split(";", 1)[0]


# Counts every answer that is not a 200 (wrk itself only counts non-2xx/3xx, and a signed-in
# page that redirects to sign-in would look fast and fine).
NOT_200_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not200 = 0 end
function response(status, headers, body) if status ~= 200 then not200 = not200 + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not200") end
  io.write(string.format("not200 %d\\n", total))
end
"""


def wrk(port: int, path: str, cookie: str | None, script: Path) -> tuple[float, float, int]:
    """(requests per second, p99 in ms, answers that were not 200 or did not arrive)."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(script)]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(  # noqa: S603 - fixed command
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99_value, p99_unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_unit]
    not_200 = int(re.search(r"not200 (\d+)", out).group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return rate, p99, not_200 + (sum(int(n) for n in errors.groups()) if errors else 0)


def concurrent_writes(port: int, url: str, people: int = 16) -> None:
    """`people` signed-in clients (sessions of the demo client) press "I'm still here" as fast
    as they can for SECONDS: every answer must be the redirect, and every one stored."""
    import statistics
    import threading

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM contact_events")).scalar()
    cookies = [sign_in(port, "/sign-in", CLIENT) for _ in range(people)]
    tokens = []
    for cookie in cookies:
        page = http(port, "GET", "/home", cookie)[2]
        tokens.append(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))
    statuses: list[int] = []
    times: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def press(cookie, token):
        while time.monotonic() < stop:
            status, _cookie, _body, took = http(
                port, "POST", "/check-in", cookie, {"csrf_token": token}
            )
            with lock:
                statuses.append(status)
                times.append(took)

    threads = [threading.Thread(target=press, args=ct) for ct in zip(cookies, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM contact_events")).scalar() - before
    engine.dispose()
    done = statuses.count(303)
    p99 = statistics.quantiles(times, n=100)[98] * 1000 if len(times) > 1 else 0.0
    print(
        f'\n  concurrent writes: {people} people pressing "I\'m still here" for {SECONDS} s: '
        f"{len(statuses) / SECONDS:.0f} req/s, median {statistics.median(times) * 1000:.1f} ms, "
        f"p99 {p99:.1f} ms, {len(statuses) - done} not saved, {stored} stored of {done} "
        f"acknowledged ({'ok' if stored == done and done == len(statuses) else 'LOST'})"
    )


def main() -> None:
    if not shutil.which("wrk") or not shutil.which("redis-server"):
        raise SystemExit("needs wrk and redis-server: apt-get install wrk redis-server")
    root = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.sqlite3'}"
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    only = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p]
    pages = [p for p in PAGES if not only or p[1] in only]
    app = seed(root, url)
    counts = statement_counts(app)
    grown = None
    if "--grow" in sys.argv:
        grow(app, 200)
        grown = statement_counts(app)
    with app.app_context():
        db.engine.dispose()
    print(f"\n{database}: SQL statements per page (in-process, signed in)")
    for path, n in counts.items():
        more = f"   after 200 more clients, conversations, reviews: {grown[path]}" if grown else ""
        print(f"  {path:24} {n:3}{more}")
    processes, port, _env = start_stack(root, url)
    script = root / "not200.lua"
    script.write_text(NOT_200_LUA)
    try:
        cookies = {
            "client": sign_in(port, "/sign-in", CLIENT),
            "staff": sign_in(port, "/staff/sign-in", STAFF),
        }
        wrk(port, "/health", None, script)  # warm every worker
        print(
            f"\n{database}: gunicorn -w {WORKERS} -k sync, wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, "
            "production settings, rate limits in Redis"
        )
        print(f"  {'page':24} {'req/s':>8} {'p99 ms':>8} {'/health':>8} {'ratio':>6} target")
        for kind, path, target in pages:
            health, _p99, health_bad = wrk(port, "/health", None, script)
            rate, p99, bad = wrk(port, path, cookies[kind], script)
            ratio = rate / health if health else 0.0
            flag = "ok" if ratio >= target and not bad and not health_bad else "BELOW"
            errors = f"  ({bad + health_bad} errors)" if bad or health_bad else ""
            print(
                f"  {path:24} {rate:8.0f} {p99:8.1f} {health:8.0f} {ratio:6.2f} "
                f">= {target:.2f} {flag}{errors}"
            )
        concurrent_writes(port, url)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
