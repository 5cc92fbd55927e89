"""The security case: which test proves each requirement R1-R70 of the security guide, or why it
cannot be tested here.

A test says what it proves with `@pytest.mark.requirement("R26")` (on the function, its class,
or `pytestmark` of its module). Three checks hold the case true:

- `tests/unit/test_security_case.py`: every requirement has a marked test or a documented
  reason; every marker names a real requirement; the README's table is the one this module
  makes (`python -m tests.security_case table --write` rewrites it).
- The pytest plugin below: with `SECURITY_CASE_DIR` set, each pytest run writes which marked
  tests passed.
- `python -m tests.security_case check DIR` (CI's last stage): every marked test passed in one
  of CI's runs, so a requirement is never "proven" by a test that was skipped or deselected.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
README = ROOT / "README.md"
START = "<!-- security-case:start (python -m tests.security_case table --write) -->"
END = "<!-- security-case:end -->"

# Short names of ../shared/guides/security-requirements.md's requirements (its text is the
# authority; these are for the table).
REQUIREMENTS: dict[str, str] = {
    "R1": "Invitation tokens: 128-bit CSPRNG, nothing derived",
    "R2": "Only a hash of a token is stored",
    "R3": "Tokens single-use, expire, re-issue revokes",
    "R4": "Invitation page: no-referrer, a GET never consumes",
    "R5": "Links from the configured origin, never Host",
    "R6": "3 wrong dates of birth lock an invitation; per-address limit",
    "R7": "Refused invitations answer alike; no count of tries left",
    "R8": "Invite only with a full date of birth (DQ 1)",
    "R9": "18+ on the server, in the agency's time zone",
    "R10": "Email verification; email change re-authenticates and tells the old address",
    "R11": "Onboarding steps in order",
    "R12": "Only staff with access invite; invitations limited",
    "R13": "Passwords: 15+, 64+ accepted, NFKC, no composition rules",
    "R14": "Password blocklist: common, breached, context words",
    "R15": "Argon2id with at least m=19 MiB, t=2, p=1; rehash on sign-in",
    "R16": "Growing delay after 5 failures, suspension at 100",
    "R17": "Same answer for known and unknown accounts",
    "R18": "Password reset: single use, 24 h, no auto sign-in, sessions end",
    "R19": "No password hints or security questions",
    "R20": "Staff need a second factor",
    "R21": "Nobody sets another person's password; no default accounts",
    "R22": "Server-side sessions, new id at every privilege change",
    "R23": "__Host-, Secure, HttpOnly, SameSite cookies",
    "R24": "Idle and absolute timeouts on the server",
    "R25": "Sign-out is a POST; Clear-Site-Data; no-store",
    "R26": "Deactivation ends every session and token at once",
    "R27": "Fresh password for sensitive changes and ID downloads",
    "R28": "Shared devices: no personal data in browser storage or autofill",
    "R29": "People see their sessions and end the others",
    "R30": "Every object through a query scoped to the caller",
    "R31": "Role by route matrix",
    "R32": "Field allowlists on writes; no hashes in responses",
    "R33": "Portal edits staged for staff review",
    "R34": "Autoescaping everywhere; no |safe on user data",
    "R35": "Message text sanitised on the server",
    "R36": "Bound parameters only",
    "R37": "No mail header injection",
    "R38": "Field validation at HMIS limits",
    "R39": "next= only to this site",
    "R40": "Generic error pages, no traceback",
    "R41": "CSRF token and Fetch-Metadata on every unsafe method",
    "R42": "Strict CSP on every response",
    "R43": "Security headers on every response",
    "R44": "Automated header and cookie check of every page",
    "R45": "Upload allowlist by extension and content",
    "R46": "Upload size, pixel and quota limits",
    "R47": "Random storage keys; safe download names",
    "R48": "Private bucket, checked access, short-lived URLs",
    "R49": "Malware scan, fail closed",
    "R50": "Images re-encoded without EXIF or GPS",
    "R51": "Consent to electronic records before signing",
    "R52": "Intent to sign is an explicit act",
    "R53": "The signed document is hash-bound",
    "R54": "Signature attribution recorded",
    "R55": "Signed copies immutable and downloadable",
    "R56": "Revocation is a new event; staff are told",
    "R57": "Audit events for every security-relevant action",
    "R58": "No secrets or personal data in logs",
    "R59": "Logs safe against injection",
    "R60": "Append-only audit table",
    "R61": "Privacy notice before the account and at each change",
    "R62": "Clients see their data and ask for corrections",
    "R63": "Least data: no full SSN, coarse location, no third parties",
    "R64": "Retention purge",
    "R65": "No invitations for clients of victim service providers",
    "R66": "Uploads: storage then database, checksums, sweeper",
    "R67": "A replayed form makes one record",
    "R68": "Mail through an outbox",
    "R69": "Outages fail closed and lose nothing",
    "R70": "Backups and restore rehearsals",
}

# What cannot be tested here, per requirement (in the README's table and its security notes).
# A requirement with marked tests may have a note too, for the part no test can reach.
NOT_TESTED_HERE: dict[str, str] = {
    "R7": "the answers' timing is not measured (no password is hashed on these steps)",
    "R17": "timing is measured by `benchmarks/uniform_answers.py` (figures, not a timed test)",
    "R40": "the ZAP scan needs ZAP or the internet; the route sweep of R44 stands in",
    "R43": "TLS versions: nginx's, checked on the stack; HSTS preload cannot be tested here",
    "R44": "ZAP and the Mozilla Observatory need the internet; our own sweep of every route "
    "(`test_security_sweeps.py`) stands in",
    "R60": "log shipping off the host is a deployment task",
    "R70": "backups of a real store (its lifecycle and versioning) are the operator's",
}

_MARK = re.compile(r"^R([1-9]|[1-6][0-9]|70)$")


def _marks_in(decorators: list[ast.expr]) -> list[str]:
    found: list[str] = []
    for node in decorators:
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in {"pytest.mark.requirement", "mark.requirement", "requirement"}:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append(arg.value)
                else:
                    raise ValueError(f"requirement markers take string literals: {name}")
    return found


def _module_marks(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            return _marks_in([item for item in items if isinstance(item, ast.expr)])
    return []


def marked_tests(tests: Path = TESTS) -> dict[str, list[str]]:
    """{requirement: ["tests/x.py::Class::test_name", ...]} read from the source, without
    importing it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(tests.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(tests.parent).as_posix()
        module = _module_marks(tree)

        def visit(body, prefix: str, inherited: list[str], relative=relative) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                    visit(
                        node.body,
                        f"{prefix}{node.name}::",
                        inherited + _marks_in(node.decorator_list),
                    )
                elif isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef
                ) and node.name.startswith("test"):
                    for mark in inherited + _marks_in(node.decorator_list):
                        found[mark].append(f"{relative}::{prefix}{node.name}")

        visit(tree.body, "", module)
    return {key: sorted(set(value)) for key, value in found.items()}


def problems(marked: dict[str, list[str]]) -> list[str]:
    wrong = [
        f"{mark} (in {tests[0]}) is not a requirement"
        for mark, tests in marked.items()
        if not _MARK.match(mark) or mark not in REQUIREMENTS
    ]
    unproven = [
        f"{key} has neither a marked test nor a reason it cannot be tested here"
        for key in REQUIREMENTS
        if not marked.get(key) and key not in NOT_TESTED_HERE
    ]
    return wrong + unproven


def _number(key: str) -> int:
    return int(key[1:])


def table(marked: dict[str, list[str]]) -> str:
    proven = sum(1 for key in REQUIREMENTS if marked.get(key))
    documented = sum(1 for key in REQUIREMENTS if not marked.get(key) and key in NOT_TESTED_HERE)
    missing = len(REQUIREMENTS) - proven - documented
    lines = [
        START,
        f"{proven} requirements proven by a marked test, {documented} documented as not "
        f"testable here, {missing} missing.",
        "",
        "| | Requirement | Proven by | Not tested here |",
        "|---|---|---|---|",
    ]
    for key in sorted(REQUIREMENTS, key=_number):
        tests = marked.get(key, [])
        shown = ", ".join(f"`{t.split('::')[-1]}`" for t in tests[:3])
        if len(tests) > 3:
            shown += f" and {len(tests) - 3} more"
        lines.append(
            f"| {key} | {REQUIREMENTS[key]} | {shown or '-'} | {NOT_TESTED_HERE.get(key, '')} |"
        )
    lines.append(END)
    return "\n".join(lines)


def readme_table() -> str | None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return None
    return text[text.index(START) : text.index(END) + len(END)]


def write_table(marked: dict[str, list[str]]) -> None:
    text = README.read_text(encoding="utf-8")
    current = readme_table()
    if current is None:
        raise SystemExit(f"README.md has no {START!r} ... {END!r} block")
    README.write_text(text.replace(current, table(marked)), encoding="utf-8")


# --- the pytest plugin: which marked tests passed in this run ------------------------------


_PASSED: set[str] = set()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the security requirements (R1-R70) this test proves"
    )


def pytest_runtest_logreport(report) -> None:
    if report.when == "call" and report.passed and "requirement" in report.keywords:
        _PASSED.add(report.nodeid.split("[", 1)[0])


def pytest_sessionfinish(session) -> None:
    where = os.environ.get("SECURITY_CASE_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"passed-{uuid.uuid4().hex}.json").write_text(json.dumps(sorted(_PASSED)))


def check(results: Path) -> list[str]:
    passed: set[str] = set()
    for path in results.glob("passed-*.json"):
        passed.update(json.loads(path.read_text()))
    marked = marked_tests()
    missing = problems(marked)
    for key in sorted(marked, key=lambda k: _number(k) if _MARK.match(k) else 0):
        for test in marked[key]:
            if test not in passed:
                missing.append(f"{key}: {test} did not pass in any run")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security_case")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("table", help="print the README's table (--write puts it there)")
    show.add_argument("--write", action="store_true")
    verify = commands.add_parser("check", help="every marked test passed in one of the runs")
    verify.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    marked = marked_tests()
    if args.command == "table":
        if args.write:
            write_table(marked)
        else:
            print(table(marked))
        return 0
    failures = check(args.results)
    for line in failures:
        print(line, file=sys.stderr)
    proven = sum(1 for key in REQUIREMENTS if marked.get(key))
    tests = len({t for ts in marked.values() for t in ts})
    print(
        f"security case: {proven} of {len(REQUIREMENTS)} requirements proven by {tests} marked "
        f"tests, {len(NOT_TESTED_HERE)} notes on what cannot be tested here, "
        f"{len(failures)} problems"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
