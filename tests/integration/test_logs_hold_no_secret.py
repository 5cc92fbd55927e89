"""Issue 16 (R2, R58): the production server's logs hold no one-time secret. Invitation,
e-mail confirmation, reset and set-password links carry their tokens in the path; gunicorn's
access and error logs (gunicorn.conf.py, `portal.logs.GunicornLogger`) cut them out."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from portal.logs import redact
from tests.support import PROJECT_ROOT, build_app, production_environment

SENTINEL = "SENTINELtoken0123456789abcdefghijklmnopqrstu"


@pytest.mark.requirement("R58")
def test_every_route_with_a_token_is_cut_and_no_other_path_is(app):
    """The pattern covers every route whose path carries a token, and leaves every other
    route's path as it is (a log keeps which page was asked for)."""
    with_token, without = 0, 0
    for rule in app.url_map.iter_rules():
        if "token" in rule.arguments:
            path = re.sub(r"<[^>]+>", lambda m: SENTINEL if "token" in m[0] else "x1", rule.rule)
            assert SENTINEL not in redact(f"GET {path}?a=1 HTTP/1.1"), rule.rule
            assert "[redacted]" in redact(path)
            with_token += 1
        else:
            path = re.sub(r"<[^>]+>", "x1", rule.rule)
            assert redact(path) == path, rule.rule
            without += 1
    assert with_token == 5 and without > 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not listen")


@pytest.mark.requirement("R2", "R58")
def test_gunicorn_with_the_repos_config_logs_token_links_without_their_tokens(tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("runs once, in the SQLite stage: it is about the server's logs")
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    build_app(tmp_path, url)  # the schema, by the migrations
    port = _free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = production_environment(
        tmp_path,
        url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_ACCESS_LOG=str(access),
        GUNICORN_ERROR_LOG=str(errors),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    paths = [
        f"/invitation/{SENTINEL}",
        f"/invitation/confirm-email/{SENTINEL}",
        f"/reset-password/{SENTINEL}",
        f"/staff/reset-password/{SENTINEL}",
        f"/staff/set-password/{SENTINEL}",
        "/invitation/verify",
    ]
    try:
        _wait_for(port, server)
        for path in paths:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(
                "GET", f"{path}?from=mail", headers={"Referer": f"https://portal.example{path}"}
            )
            answer = connection.getresponse()
            answer.read()
            connection.close()
            assert answer.status < 500, (path, answer.status)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    logged = access.read_text()
    lines = logged.splitlines()
    assert len(lines) == len(paths)
    everything = logged + errors.read_text() + output
    assert SENTINEL not in everything
    assert sum("/[redacted] HTTP/1.1" in line for line in lines) == 5
    assert any('"GET /invitation/verify HTTP/1.1"' in line for line in lines)
    assert "from=mail" not in logged  # no query strings (a search can name a place)
    # Each line ends with the request's time and the worker's CPU for it (pre_request's
    # start, the logger's atom): what benchmarks/stack_load.py reads per page.
    assert all(re.search(r" \d+ms cpu=\d+ms$", line) for line in lines), lines


@pytest.mark.requirement("R58")
def test_gunicorns_error_messages_name_a_request_without_its_token(tmp_path):
    """A worker's error while handling a request names the request's URI: cut as well."""
    from gunicorn.config import Config

    from portal.logs import GunicornLogger

    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = GunicornLogger(config)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("Error handling request %s", f"/staff/set-password/{SENTINEL}")
    logger.error(f"Invalid request from ip=1.2.3.4: GET /invitation/{SENTINEL}")
    written = (tmp_path / "error.log").read_text()
    assert SENTINEL not in written
    assert written.count("[redacted]") == 2 and "RuntimeError" in written
