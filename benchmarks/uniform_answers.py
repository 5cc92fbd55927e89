"""R17: sign-in and forgot-password answer alike, in body and in time, for known and unknown
accounts. Prints the median and p95 server time of each case (target: medians within ~50 ms).

    .venv/bin/python benchmarks/uniform_answers.py             # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/uniform_answers.py

Uses the production Argon2 cost (t=3, m=64 MiB) so the dummy hash is measured for real.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.domain.accounts.passwords import hash_password
from portal.domain.models import Agency, ClientAccount
from portal.extensions import db, limiter
from tests.support import build_app

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
PASSWORD = "copper kettle morning seventeen"  # noqa: S105 - benchmark accounts only


def timed(client, path: str, data: dict) -> tuple[float, int]:
    token = client.csrf_token(path)
    started = time.perf_counter()
    response = client.post(path, data={"csrf_token": token, **data})
    return (time.perf_counter() - started) * 1000, response.status_code


def summary(name: str, times: list[float]) -> float:
    times = sorted(times)
    median = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"  {name:38} median {median:7.1f} ms   p95 {p95:7.1f} ms   n={len(times)}")
    return median


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.sqlite3'}"
    app = build_app(
        root,
        url,
        argon2_time_cost=3,
        argon2_memory_kib=65536,
        sign_in_ip_limit="100000 per minute",
    )
    with app.app_context():
        agency = Agency(name="Bench agency", timezone="America/Los_Angeles")
        accounts = [
            ClientAccount(
                email=f"{uuid.uuid4().hex[:12]}@bench.test",
                first_name="Bench",
                agency=agency,
                password_hash=hash_password(PASSWORD),
            )
            for _ in range(SAMPLES)
        ]
        db.session.add_all([agency, *accounts])
        db.session.commit()
        emails = [a.email for a in accounts]
    print(f"R17 uniform answers on {url.split(':', 1)[0]} ({SAMPLES} samples per case)")
    client = app.test_client()
    cases = {
        "sign-in, known account, wrong password": [],
        "sign-in, unknown account": [],
        "forgot password, known account": [],
        "forgot password, unknown account": [],
    }
    for email in emails:
        limiter.reset()
        for name, path, data in (
            (
                "sign-in, known account, wrong password",
                "/sign-in",
                {"email": email, "password": "wrong wrong wrong wrong"},
            ),
            (
                "sign-in, unknown account",
                "/sign-in",
                {"email": f"x{email}", "password": "wrong wrong wrong wrong"},
            ),
            ("forgot password, known account", "/forgot-password", {"email": email}),
            ("forgot password, unknown account", "/forgot-password", {"email": f"x{email}"}),
        ):
            elapsed, status = timed(client, path, data)
            assert status == 200, (name, status)
            cases[name].append(elapsed)
    medians = {name: summary(name, times) for name, times in cases.items()}
    pairs = (
        ("sign-in", "sign-in, known account, wrong password", "sign-in, unknown account"),
        ("forgot password", "forgot password, known account", "forgot password, unknown account"),
    )
    for label, known, unknown in pairs:
        print(f"  {label}: medians differ by {abs(medians[known] - medians[unknown]):.1f} ms")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
