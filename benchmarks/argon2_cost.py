"""What one password check costs on this machine, for choosing the Argon2id parameters.

    .venv/bin/python benchmarks/argon2_cost.py            # the settings' defaults and neighbours
    .venv/bin/python benchmarks/argon2_cost.py 2:47104 3:65536   # time_cost:memory_kib pairs

Every sign-in (and every refused one: unknown accounts run a dummy check, R17) costs one
verification, on one core. The portal's default is the largest memory that keeps a check near
the sign-in budget the deployment was sized for (about 140 ms of one core: 200 people signing
in within 30 s then need about one core of two); R15's floor is m=19 MiB, t=2. On faster cores
raise `ARGON2_MEMORY_KIB` or `ARGON2_TIME_COST`: accounts are rehashed at their next sign-in.
Prints the CPU milliseconds per verification (median of ROUNDS, default 9) for each pair.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.settings import Settings  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "9"))


def cost(time_cost: int, memory_kib: int) -> float:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    stored = hasher.hash("a long enough passphrase for timing")
    spent = []
    for _ in range(ROUNDS):
        started = time.process_time()
        hasher.verify(stored, "a long enough passphrase for timing")
        spent.append(time.process_time() - started)
    return statistics.median(spent) * 1000


def main(argv: list[str]) -> None:
    default = Settings()
    pairs = [tuple(int(n) for n in arg.split(":")) for arg in argv] or [
        (2, 19456),  # R15's floor
        (2, 32768),
        (default.argon2_time_cost, default.argon2_memory_kib),
        (2, 65536),
        (3, 65536),
    ]
    print(f"Argon2id, p=1, {ROUNDS} verifications each, CPU ms (median):")
    for time_cost, memory_kib in pairs:
        mark = (
            "  <- the default"
            if (time_cost, memory_kib) == (default.argon2_time_cost, default.argon2_memory_kib)
            else ""
        )
        spent = cost(time_cost, memory_kib)
        print(f"  t={time_cost} m={memory_kib // 1024:3d} MiB  {spent:7.1f}{mark}")


if __name__ == "__main__":
    main(sys.argv[1:])
