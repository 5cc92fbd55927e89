"""A load run against the running stack (deploy/stack.py): simulated clients and staff over
HTTPS through nginx, then the database counted against what each person was told was saved.

    .venv/bin/python deploy/stack.py up                     # if `... status` says it is not up
    .venv/bin/python benchmarks/stack_load.py               # 60 s, 200 clients, 20 staff
    .venv/bin/python benchmarks/stack_load.py --one-address # all from 127.0.0.1 (shelter Wi-Fi)
    .venv/bin/python benchmarks/stack_load.py --quick       # CI: 20 s, 60 clients, 6 staff
    .venv/bin/python benchmarks/stack_load.py --seed-only   # only make the accounts
    .venv/bin/python benchmarks/stack_load.py --quick --kill-node-at 8   # a node dies mid-run

Settings (flags win over the environment, the environment over --quick): LOAD_SECONDS
(--seconds, 60), LOAD_CLIENTS (--clients, 200), LOAD_STAFF (--staff, 20), --base-url (the stack's
https://127.0.0.1:8443), --cert (the stack's certificate).

1. Seeding (idempotent: what exists is kept) in the stack's database as the schema owner, with
   the portal's models in an app context made from `portal_environment(owner=True)`: an agency,
   LOAD_STAFF case managers (load-staff-NN@load.example) and LOAD_CLIENTS clients with active,
   verified portal accounts (load-client-NNNN@load.example), each on one case manager's care
   team. One password is hashed once (production Argon2) and the hash is reused for every
   account. The run uses the first LOAD_CLIENTS clients and LOAD_STAFF staff of those seeded.
2. The run, LOAD_SECONDS long: clients sign in spread over the first half, each from its own
   loopback address (127.0.0.2, ...; `--one-address`: all from 127.0.0.1, where the per-IP
   sign-in limit must not bite: it counts failed sign-ins only). Then, with 2-5 s of thinking
   before each action, they go round: home, messages, where to find me, send a message, check
   in, update where to find them, upload a small JPEG (Pillow, unique per upload); each starts
   at a random point of the round. Staff sign in the same way, then open the inbox, reply to a
   conversation, and accept a review item. One thread per person; redirects are followed as a
   browser does (the confirmation page is timed too).
3. The report: requests per second overall (and after the last sign-in); per page label
   ("METHOD /path" with ids folded; the sign-in POSTs are labels of their own) the count and
   p50/p95/p99/max measured here, the p95 after the last sign-in, the p95 nginx logged (the
   wait for a free web worker included) and p50/p95 the web nodes logged (gunicorn's own time):
   "here" close to nginx and both far above "in the app" means requests waited for a free
   worker, a high "in the app" means a slow page; then the machine's CPU use; every answer
   that was not 2xx/3xx by status and page (status 0: no answer at all). Then the database
   (as the owner), limited to this run's markers (a run id in every message, place, title)
   and time window: each message and reply marker stored exactly once, check-ins per client
   between what was acknowledged and what was tried, locations and documents by marker,
   review items accepted by whoever was told so.

Exit code 1 (the thresholds) when:
- any answer is a 5xx, or a request got no answer at all;
- any page's p95 is over 300 ms, except the sign-in POSTs (Argon2 at production cost, about
  140-200 ms of CPU each), whose p95 must stay under 1 s;
- anything a person was told was saved is not in the database (lost), anything is stored
  twice (duplicated), or something refused with an answer was stored anyway;
- a person could not sign in.

Runs repeat on the same stack: markers carry a run id and counts look only at this run. The
clients' document quota (CLIENT_QUOTA_FILES, 50 kept uploads) fills after many runs (about
one upload per client per minute of run); the seeding step says how much room is left.
Latencies are measured in this process, which shares the machine's cores with the stack: they
include its own scheduling (kept small: threads that mostly sleep, a stdlib HTML parser).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import stack  # noqa: E402
from tests.stack.people import (  # noqa: E402
    TRANSPORT_ERROR,
    ClientPerson,
    Person,
    Recorder,
    StaffPerson,
    app_code,
    loopback_addresses,
    page_label,
    tls_context,
)
from tests.stack.seed import (  # noqa: E402
    AGENCY,
    LOAD_TOTP_KEY,
    PASSWORD,
    Seeded,
    client_email,
    portal_app,
    seed,
    staff_email,
)

SIGN_IN_LABELS = {"POST /sign-in", "POST /staff/sign-in"}
PAGE_P95 = 0.300
SIGN_IN_P95 = 1.0
THINK = (2.0, 5.0)


@dataclass
class Options:
    seconds: float
    clients: int
    staff: int
    one_address: bool
    base_url: str
    cert: str
    seed_only: bool
    enforce_latency: bool  # --quick only reports p95 (CI shares its cores): see the docstring
    kill_node_at: float | None


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI preset: 20 s, 60 clients, 6 staff")
    parser.add_argument("--one-address", action="store_true", help="everyone from 127.0.0.1")
    parser.add_argument("--base-url", default=None, help="default: the stack's nginx")
    parser.add_argument("--cert", default=None, help="default: the stack's certificate")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--staff", type=int, default=None)
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument(
        "--kill-node-at",
        type=float,
        default=None,
        metavar="SECONDS",
        help="SIGKILL web node 0 (its master and workers) this far into the run",
    )
    args = parser.parse_args(argv)
    preset = (20.0, 60, 6) if args.quick else (60.0, 200, 20)

    def pick(flag, variable, fallback, kind):
        if flag is not None:
            return flag
        if os.environ.get(variable):
            return kind(os.environ[variable])
        return fallback

    return Options(
        seconds=pick(args.seconds, "LOAD_SECONDS", preset[0], float),
        clients=pick(args.clients, "LOAD_CLIENTS", preset[1], int),
        staff=max(1, pick(args.staff, "LOAD_STAFF", preset[2], int)),
        one_address=args.one_address,
        base_url=(args.base_url or stack.base_url()).rstrip("/"),
        cert=args.cert or str(stack.path("tls", "cert.pem")),
        seed_only=args.seed_only,
        enforce_latency=not args.quick,
        kill_node_at=args.kill_node_at,
    )


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (Linux)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def database_now(app):
    from portal.domain.core import clock

    with app.app_context():
        return clock.now()


# --- the people's lives ------------------------------------------------------------------


def photo(rng: random.Random) -> bytes:
    """A small JPEG, different every time (noise in a 64x64 square: about 3-4 KB)."""
    from PIL import Image

    size = 64
    image = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


class Run:
    def __init__(self, options: Options, run_id: str) -> None:
        self.options = options
        self.run_id = run_id
        self.recorder = Recorder()
        self.problems: list[str] = []  # exceptions in a person's thread
        self._lock = threading.Lock()
        self.started = 0.0
        self.stop_at = 0.0

    def note(self, person: Person, exc: BaseException) -> None:
        line = f"{person.tag}: {type(exc).__name__}: {exc}"
        with self._lock:
            self.problems.append(line)
            if len(self.problems) <= 3:
                traceback.print_exception(exc, file=sys.stderr)

    def wait_until(self, moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def live(self, person: Person, start_at: float, actions, rng: random.Random) -> None:
        self.wait_until(start_at)
        try:
            if not person.sign_in():
                return
        except Exception as exc:
            self.note(person, exc)
            return
        turn = rng.randrange(len(actions))
        while True:
            think = rng.uniform(*THINK)
            if time.monotonic() + think >= self.stop_at:
                break
            time.sleep(think)
            try:
                actions[turn % len(actions)]()
            except Exception as exc:
                self.note(person, exc)
            turn += 1

    def client_actions(self, person: ClientPerson, rng: random.Random):
        return [
            lambda: person.open("/home"),
            lambda: person.open("/messages"),
            lambda: person.open("/where"),
            lambda: person.send_message("Any news about the housing list?"),
            person.check_in,
            lambda: person.update_where(place="Near the library", times="mornings"),
            lambda: person.upload_photo(photo(rng)),
        ]

    def staff_actions(self, person: StaffPerson):
        return [person.open_inbox, person.reply, person.decide_review_item]

    def go(self, addresses: list[str | None]) -> tuple[list[ClientPerson], list[StaffPerson]]:
        o = self.options
        context = tls_context(o.cert)
        common = {"cert": context, "recorder": self.recorder, "run_id": self.run_id}
        clients = [
            ClientPerson(
                o.base_url,
                client_email(n),
                PASSWORD,
                source_address=addresses[n],
                tag=f"c{n:04d}",
                rng=random.Random(f"{self.run_id}-c{n}"),  # noqa: S311 - a simulation
                **common,
            )
            for n in range(o.clients)
        ]
        staff = [
            StaffPerson(
                o.base_url,
                staff_email(n),
                PASSWORD,
                second_factor=app_code(LOAD_TOTP_KEY),
                source_address=addresses[o.clients + n],
                tag=f"s{n:02d}",
                rng=random.Random(f"{self.run_id}-s{n}"),  # noqa: S311 - a simulation
                **common,
            )
            for n in range(o.staff)
        ]
        spread = random.Random(self.run_id)  # noqa: S311 - a simulation
        self.started = time.monotonic() + 0.5
        self.stop_at = self.started + o.seconds
        threads = []
        for person in [*clients, *staff]:
            start_at = self.started + spread.uniform(0, o.seconds / 2)
            if isinstance(person, ClientPerson):
                actions = self.client_actions(person, person.rng)
            else:
                actions = self.staff_actions(person)
            thread = threading.Thread(
                target=self.live,
                args=(person, start_at, actions, person.rng),
                name=person.tag,
                daemon=True,
            )
            threads.append(thread)
        for thread in threads:
            thread.start()
        self._progress()
        for thread in threads:
            thread.join(timeout=max(1.0, self.stop_at + 90 - time.monotonic()))
        still = [t.name for t in threads if t.is_alive()]
        if still:
            self.problems.append(f"{len(still)} people still busy 90 s after the end: {still[:5]}")
        for person in [*clients, *staff]:
            person.close()
        return clients, staff

    def _progress(self) -> None:
        while time.monotonic() < self.stop_at:
            time.sleep(min(10.0, max(0.1, self.stop_at - time.monotonic())))
            elapsed = time.monotonic() - self.started
            print(f"  … {elapsed:5.1f} s, {len(self.recorder)} requests", flush=True)


# --- the report ----------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(q / 100 * len(sorted_values) + 0.4999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class StackLogs:
    """Times the stack itself logged during the run, to tell a slow page from a queue:
    nginx's access.log (`request_time`: from the request's first byte to the answer's last,
    the wait for a free web worker included) and the web nodes' gunicorn lines in web-*.log
    (the worker's own milliseconds: "in the app"). Only lines appended since the start, from
    the run's own source addresses."""

    NGINX = re.compile(r'^(\S+) \[[^\]]*\] "([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3}) \d+ ([\d.]+)s ')
    GUNICORN = re.compile(
        r'^(\S+) "([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)ms(?: cpu=(\d+|-)ms)?$'
    )

    def __init__(self) -> None:
        folder = stack.path("logs")
        self.files = [folder / "access.log", *sorted(folder.glob("web-*.log"))]
        self.offsets = {f: f.stat().st_size for f in self.files if f.exists()}

    def _appended(self, file: Path) -> str:
        if not file.exists():
            return ""
        offset = self.offsets.get(file, 0)
        if file.stat().st_size < offset:  # rotated meanwhile: the new file from its start
            offset = 0
        with file.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def times(self, addresses: set[str]) -> tuple[dict, dict, dict]:
        """({label: nginx seconds}, {label: seconds in the app}, {label: CPU seconds in the
        app})."""
        at_nginx: dict[str, list[float]] = defaultdict(list)
        in_app: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, list[float]] = defaultdict(list)
        for file in self.files:
            nginx = file.name == "access.log"
            pattern, found = (self.NGINX, at_nginx) if nginx else (self.GUNICORN, in_app)
            for line in self._appended(file).splitlines():
                match = pattern.match(line)
                if match and match[1] in addresses:
                    seconds = float(match[5]) if nginx else int(match[5]) / 1000
                    found[page_label(match[2], match[3])].append(seconds)
                    if not nginx and match[6] and match[6] != "-":
                        cpu[page_label(match[2], match[3])].append(int(match[6]) / 1000)
        return at_nginx, in_app, cpu


def report_requests(
    run: Run,
    logs: StackLogs | None,
    addresses: set[str],
    *,
    killed: tuple[float, float] | None = None,
) -> list[str]:
    """`killed`: (from, to) in time.monotonic() when a node was down on purpose; a 502 or a
    missing answer then is excused, and only then."""
    samples = run.recorder.samples()
    failures: list[str] = []
    if not samples:
        return ["no request was made"]
    first = min(s.ended - s.seconds for s in samples)
    last = max(s.ended for s in samples)
    wall = max(last - first, 1e-6)
    print(f"\nrequests: {len(samples)} in {wall:.1f} s = {len(samples) / wall:.1f} req/s overall")
    sign_ins = [s.ended for s in samples if s.label in SIGN_IN_LABELS]
    wave_end = max(sign_ins) if sign_ins else first
    after = [s for s in samples if s.ended - s.seconds >= wave_end]
    if after:
        span = max(last - wave_end, 1e-6)
        print(
            f"  after the last sign-in ({wave_end - first:.1f} s in): {len(after)} requests "
            f"in {span:.1f} s = {len(after) / span:.1f} req/s"
        )
    by_label: dict[str, list[float]] = defaultdict(list)
    after_label: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        if s.status != TRANSPORT_ERROR:
            by_label[s.label].append(s.seconds)
    for s in after:
        if s.status != TRANSPORT_ERROR:
            after_label[s.label].append(s.seconds)
    at_nginx, in_app, cpu = logs.times(addresses) if logs is not None else ({}, {}, {})
    cpu_total = sum(sum(v) for v in cpu.values()) or 1e-9
    print(
        "\n  Measured here (p50..max), then p95 after the last sign-in, p95 at nginx (the wait"
        "\n  for a free web worker included), p50/p95 in the app (gunicorn's own time) and the"
        "\n  web worker's CPU per request (mean) with the page's share of all the nodes' CPU:"
    )
    print(
        f"\n  {'page':32} {'count':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}"
        f" | {'after sign-ins':>14} | {'nginx':>6} | {'in the app':>11} | {'CPU':>9}"
    )
    print(
        f"  {'':32} {'':5} {'ms':>6} {'ms':>6} {'ms':>6} {'ms':>6} | {'n':>5} {'p95 ms':>8}"
        f" | {'p95':>6} | {'p50':>5} {'p95':>5} | {'ms':>4} {'%':>4}"
    )
    for label in sorted(by_label, key=lambda x: (x.split(" ", 1)[1], x)):
        times = sorted(by_label[label])
        p50, p95, p99 = (percentile(times, q) for q in (50, 95, 99))
        later = sorted(after_label.get(label, []))
        app = sorted(in_app.get(label, []))
        proxy = sorted(at_nginx.get(label, []))
        limit = SIGN_IN_P95 if label in SIGN_IN_LABELS else PAGE_P95
        flag = "" if p95 <= limit else f"  > {limit * 1000:.0f}"
        if flag and run.options.enforce_latency:
            failures.append(f"{label}: p95 {p95 * 1000:.0f} ms > {limit * 1000:.0f} ms")
        later_text = (
            f"{len(later):5} {percentile(later, 95) * 1000:8.1f}" if later else f"{'-':>14}"
        )
        nginx_text = f"{percentile(proxy, 95) * 1000:6.0f}" if proxy else f"{'-':>6}"
        app_text = (
            f"{percentile(app, 50) * 1000:5.0f} {percentile(app, 95) * 1000:5.0f}"
            if app
            else f"{'-':>11}"
        )
        spent = cpu.get(label, [])
        cpu_text = (
            f"{sum(spent) / len(spent) * 1000:4.0f} {sum(spent) / cpu_total * 100:4.0f}"
            if spent
            else f"{'-':>9}"
        )
        print(
            f"  {label:32} {len(times):5} {p50 * 1000:6.0f} {p95 * 1000:6.0f} "
            f"{p99 * 1000:6.0f} {times[-1] * 1000:6.0f} | {later_text} | {nginx_text} | "
            f"{app_text} | {cpu_text}{flag}"
        )
    bad = Counter((s.status, s.label, s.error) for s in samples if not (200 <= s.status < 400))
    print("\nanswers that were not 2xx/3xx:" + ("" if bad else " none"))
    for (status, label, error), n in sorted(bad.items()):
        what = f"no answer ({error})" if status == TRANSPORT_ERROR else str(status)
        print(f"  {what:28} {label:36} {n}")
        if status in (502, TRANSPORT_ERROR) and killed is not None:
            within = [x for x in samples if (x.status, x.label, x.error) == (status, label, error)]
            if all(killed[0] <= x.ended <= killed[1] for x in within):
                continue  # requests the killed node was serving: counted below, never lost
        if status >= 500 or status == TRANSPORT_ERROR:
            failures.append(f"{n} x {what} on {label}")
    return failures


@dataclass
class Tally:
    name: str
    told: int
    stored: int
    lost: int
    duplicated: int
    refused_but_stored: int
    unsure: int
    unsure_stored: int

    def line(self) -> str:
        return (
            f"  {self.name:12} told saved {self.told:5}  stored {self.stored:5}  lost {self.lost}"
            f"  duplicated {self.duplicated}  refused-but-stored {self.refused_but_stored}"
            f"  (no answer: {self.unsure}, of which stored {self.unsure_stored})"
        )


def tally(name: str, told: list[str], unsure: list[str], refused: list[str], stored: Counter):
    told_set, unsure_set, refused_set = set(told), set(unsure), set(refused)
    return Tally(
        name=name,
        told=len(told),
        stored=sum(stored.values()),
        lost=sum(1 for m in told_set if stored[m] == 0),
        duplicated=sum(1 for m, n in stored.items() if n > 1),
        refused_but_stored=sum(1 for m in refused_set if stored[m] > 0),
        unsure=len(unsure_set),
        unsure_stored=sum(1 for m in unsure_set if stored[m] > 0),
    )


def report_database(app, run: Run, since, seeded: Seeded, clients, staff) -> list[str]:
    from sqlalchemy import func, select

    from portal.domain.core import crypto
    from portal.domain.models import ContactEvent, Document, Message, ReviewItem
    from portal.extensions import db

    marker = re.compile(rf"load {re.escape(run.run_id)} [cs]\d+ [mwdr]\d+")
    failures: list[str] = []
    with app.app_context():
        s = db.session
        bodies = s.execute(
            select(Message.author_kind, Message.body).where(
                Message.created_at >= since, Message.body.contains(f"load {run.run_id} ")
            )
        ).all()
        from_clients = Counter(
            m for kind, body in bodies if kind == "client" for m in marker.findall(body)
        )
        from_staff = Counter(
            m for kind, body in bodies if kind == "staff" for m in marker.findall(body)
        )
        titles = Counter(
            s.scalars(
                select(Document.title).where(
                    Document.created_at >= since, Document.title.startswith(f"load {run.run_id} ")
                )
            )
        )
        client_ids = [seeded.client_ids[p.email] for p in clients]
        places: Counter = Counter()
        for sealed in s.scalars(
            select(ReviewItem.payload_encrypted).where(
                ReviewItem.created_at >= since,
                ReviewItem.kind == "location",
                ReviewItem.client_id.in_(client_ids),
            )
        ):
            payload = crypto.decrypt_json(sealed) if sealed else {}
            places.update(marker.findall(payload.get("place") or ""))
        check_ins = Counter(
            dict(
                s.execute(
                    select(ContactEvent.client_id, func.count(ContactEvent.id))
                    .where(
                        ContactEvent.created_at >= since,
                        ContactEvent.kind == "check_in",
                        ContactEvent.client_id.in_(client_ids),
                    )
                    .group_by(ContactEvent.client_id)
                ).all()
            )
        )
        decided_ids = [i for p in staff for i in p.ledger.decisions]
        decided = {}
        if decided_ids:
            import uuid

            rows = s.execute(
                select(ReviewItem.public_id, ReviewItem.status, ReviewItem.decided_by_id).where(
                    ReviewItem.public_id.in_([uuid.UUID(i) for i in decided_ids])
                )
            ).all()
            decided = {str(r.public_id): (r.status, r.decided_by_id) for r in rows}
        s.remove()

    def gather(people, attr):
        return [m for p in people for m in getattr(p.ledger, attr)]

    kinds = [
        ("messages", clients, "messages", from_clients),
        ("locations", clients, "locations", places),
        ("documents", clients, "uploads", titles),
        ("replies", staff, "replies", from_staff),
    ]
    tallies = [
        tally(
            name,
            gather(who, attr),
            gather(who, f"{attr}_unsure"),
            gather(who, f"{attr}_refused"),
            stored,
        )
        for name, who, attr, stored in kinds
    ]
    print("\nthe database against what people were told (this run's markers only):")
    for t in tallies:
        print(t.line())
        if t.lost or t.duplicated or t.refused_but_stored:
            failures.append(
                f"{t.name}: {t.lost} lost, {t.duplicated} duplicated, "
                f"{t.refused_but_stored} refused but stored"
            )
    told = tried = stored_total = lost = extra = 0
    for person in clients:
        stored = check_ins[seeded.client_ids[person.email]]
        told += person.ledger.check_ins
        tried += person.ledger.check_ins_tried
        stored_total += stored
        lost += max(0, person.ledger.check_ins - stored)
        extra += max(0, stored - person.ledger.check_ins_tried)
    print(
        f"  {'check-ins':12} told saved {told:5}  stored {stored_total:5}  tried {tried}"
        f"  lost {lost}  more than tried {extra}  (per client: told <= stored <= tried)"
    )
    if lost or extra:
        failures.append(f"check-ins: {lost} lost, {extra} stored beyond what was tried")
    staff_ids = {p.email: seeded.staff_ids[p.email] for p in staff}
    wrong = 0
    for person in staff:
        for item in person.ledger.decisions:
            status, by = decided.get(item, (None, None))
            if status != "accepted" or by != staff_ids[person.email]:
                wrong += 1
    races = sum(p.ledger.decisions_lost for p in staff)
    print(
        f"  {'decisions':12} told accepted {len(decided_ids)}  stored as accepted by them "
        f"{len(decided_ids) - wrong}  lost {wrong}  (not accepted, someone was first: {races})"
    )
    if wrong:
        failures.append(f"review decisions: {wrong} told accepted but not stored so")
    return failures


class NodeKiller:
    """Kills web node 0 with SIGKILL (its gunicorn master and workers, one process group, as a
    crash of that node would) `at` seconds into the run; supervisord starts it again. What
    the node was serving gets a 502 or no answer: those are "no answer" outcomes below, which
    may or may not be stored but never twice; everything told saved must be stored."""

    program = "web:web-0"
    BACK_WITHIN = 120  # seconds: a busy 2-core machine restarts a node in about 10

    def __init__(self, at: float, run: Run) -> None:
        self.at, self.run = at, run
        self.killed_pid: int | None = None
        self.killed_at = self.back_at = None
        self.new_pid: int | None = None
        self.last_error = ""
        self.thread = threading.Thread(target=self._kill, name="node-killer", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Until the node is back or BACK_WITHIN has passed: the run may end before it is."""
        self.thread.join(self.at + self.BACK_WITHIN + 30)

    def _kill(self) -> None:
        while not self.run.started:
            time.sleep(0.05)
        self.run.wait_until(self.run.started + self.at)
        self.killed_pid = stack.program_pid(self.program)
        if self.killed_pid is None:
            return
        os.killpg(self.killed_pid, signal.SIGKILL)
        self.killed_at = time.monotonic() - self.run.started
        deadline = time.monotonic() + self.BACK_WITHIN
        while time.monotonic() < deadline:
            try:  # anything that goes wrong while asking means "not back yet", said below
                pid = stack.program_pid(self.program)
                if pid and pid != self.killed_pid and stack.node_ready(0)[0] == 200:
                    self.new_pid = pid
                    self.back_at = time.monotonic() - self.run.started
                    return
            except Exception as error:  # reported by diagnose() if the node never comes back
                self.last_error = f"{type(error).__name__}: {error}"
            time.sleep(0.2)

    def window(self) -> tuple[float, float] | None:
        """When answers may fail because of the kill: from it until the node was back, plus
        the gunicorn timeout's worth of requests that were in flight (in monotonic time)."""
        if self.killed_at is None:
            return None
        back = self.back_at if self.back_at is not None else self.killed_at + self.BACK_WITHIN
        return self.run.started + self.killed_at - 1, self.run.started + back + 5

    def report(self) -> list[str]:
        if self.killed_at is None:
            return [f"{self.program} was not killed (no pid)"]
        back = (
            f"back (pid {self.new_pid}, started by supervisord) at {self.back_at:.1f} s"
            if self.back_at is not None
            else f"NOT back within {self.BACK_WITHIN} s"
        )
        served = Counter(
            s.status for s in self.run.recorder.samples() if s.status in (502, TRANSPORT_ERROR)
        )
        print(
            f"\nnode killed: {self.program} (pid {self.killed_pid} and its workers) at "
            f"{self.killed_at:.1f} s; {back}; requests it was serving: {served[502]} answered"
            f" 502, {served[TRANSPORT_ERROR]} without an answer (the rest went to node 1)"
        )
        if self.back_at is not None:
            return []
        self.diagnose()
        return [f"{self.program} did not come back"]

    def diagnose(self) -> None:
        """What supervisord and the node said, so a node that stayed down can be explained."""
        print(f"  last error while asking: {self.last_error or 'none'}")
        print("  supervisorctl status:")
        for line in stack.ctl("status", check=False).splitlines():
            print(f"    {line}")
        for log, keep in (("supervisord.log", "web-0"), ("web-0.log", "")):
            try:
                lines = stack.path("logs", log).read_text(errors="replace").splitlines()
            except OSError as error:
                print(f"  {log}: {error}")
                continue
            # The node's own lines without the access and audit lines (addresses, ids).
            picked = [
                line
                for line in lines
                if keep in line and '"portal.audit"' not in line and "ms cpu=" not in line
            ]
            print(f"  {log}, its last lines{' about ' + keep if keep else ''}:")
            for line in picked[-25:]:
                print(f"    {line[:300]}")


def main(argv: list[str]) -> int:
    options = parse_options(argv)
    if stack.supervisord_pid() is None:
        print(f"no stack is running ({stack.STACK_DIR}): .venv/bin/python deploy/stack.py up")
        return 2
    app = portal_app()
    began = time.monotonic()
    seeded = seed(app, options.clients, options.staff)
    made = ", ".join(f"{n} {what}" for what, n in seeded.made.items()) or "nothing new"
    print(
        f"seeded in {time.monotonic() - began:.1f} s: {made} "
        f"({options.clients} clients, {options.staff} staff in '{AGENCY}')"
    )
    warning = "  (warning: uploads will be refused soon)" if seeded.quota_room < 5 else ""
    print(
        f"  document quota: room for {seeded.quota_room} more uploads per client at least{warning}"
    )
    if options.seed_only:
        return 0
    run_id = "r" + secrets.token_hex(3)
    people = options.clients + options.staff
    if options.one_address:
        addresses: list[str | None] = [None] * people
        where = "everyone from 127.0.0.1"
    else:
        addresses = list(loopback_addresses(people))
        where = f"each from its own address ({addresses[0]} … {addresses[-1]})"
    print(
        f"run {run_id}: {options.seconds:.0f} s, {options.clients} clients and {options.staff} "
        f"staff against {options.base_url}, {where}; sign-ins over the first "
        f"{options.seconds / 2:.0f} s, {THINK[0]:.0f}-{THINK[1]:.0f} s thinking per action",
        flush=True,
    )
    since = database_now(app) - timedelta(seconds=2)
    run = Run(options, run_id)
    logs = StackLogs() if stack.path("logs").is_dir() else None
    cpu_before, machine_before = time.process_time(), machine_cpu()
    killer = NodeKiller(options.kill_node_at, run) if options.kill_node_at is not None else None
    clients, staff = run.go(addresses)
    own_cpu = time.process_time() - cpu_before
    (busy_now, total_now), (busy_then, total_then) = machine_cpu(), machine_before
    if killer is not None:
        killer.wait()  # after the run's CPU figures: the wait is not part of the run
    busy, total = busy_now - busy_then, total_now - total_then
    own = {a for a in addresses if a} or {"127.0.0.1"}
    failures = report_requests(run, logs, own, killed=killer.window() if killer else None)
    if killer is not None:
        failures += killer.report()
    print(
        f"\nCPU: the machine ({os.cpu_count()} cores) was {100 * busy / max(total, 1e-6):.0f}% busy"
        f" during the run; this script used {own_cpu:.1f} s of it"
        f" ({100 * own_cpu / max(total, 1e-6):.0f}% of the machine)"
    )
    signed_in = sum(1 for p in [*clients, *staff] if p.signed_in)
    print(f"\nsigned in: {signed_in} of {len(clients) + len(staff)}")
    if signed_in < len(clients) + len(staff):
        failures.append(f"{len(clients) + len(staff) - signed_in} people could not sign in")
    failures += report_database(app, run, since, seeded, clients, staff)
    if run.problems:
        print(f"\nerrors in the simulation itself ({len(run.problems)}):")
        for line in run.problems[:10]:
            print(f"  {line}")
        failures.append(f"{len(run.problems)} errors in the people's threads")
    if not options.enforce_latency:
        print("\n(--quick: p95 over its target is reported above, not a failure: CI's 2 cores)")
    print("\nverdict: " + ("ok" if not failures else "FAILED"))
    for line in failures:
        print(f"  - {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
