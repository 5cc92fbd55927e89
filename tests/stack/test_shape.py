"""The stack as a CoC would run it: nginx (TLS, HTTP/2, gzip, hashed static files, the body
limit), two web nodes that agree on sessions and rate limits, production checks passing,
migrations once, the audit table append-only for the app's role (R60), readiness, and logs
that hold no one-time token after a journey that follows every kind of token link (R2, R58)."""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import ssl

import psycopg
import pytest

from portal.settings import from_env
from tests.stack.accounts import PASSWORD, link_pattern, new_system_admin, staff_sign_in
from tests.stack.conftest import browser, csrf, unique


@pytest.fixture(scope="module")
def admin(stack, mailbox):
    return new_system_admin(stack, mailbox)


def node_get(stack, n: int, path: str, *, cookie: str = "", address: str = "127.0.0.1"):
    """A request straight to one web node's socket (as nginx sends it)."""
    conn = stack._UnixHTTPConnection(str(stack.path("run", f"web-{n}.sock")))
    try:
        headers = {"X-Forwarded-For": address, "Host": "127.0.0.1"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_the_portal_runs_with_every_production_check_passing(stack):
    settings = from_env(
        {**stack.portal_environment(), "WEB_CONCURRENCY": "2"}, ["gunicorn", "-c", "x"]
    )
    assert settings.is_production
    assert settings.problems() == []
    assert settings.uses_tls and not settings.memory_rate_limits
    assert settings.storage_backend == "s3" and settings.clamd_address
    for n in range(stack.WEB_NODES):
        status, body = stack.node_ready(n)
        assert status == 200
        assert body == {
            "status": "ready",
            "database": "ok",
            "rate_limits": "ok",
            "documents": "ok",
        }


@pytest.mark.requirement("R43")
def test_tls_with_http2_and_plain_http_only_redirects(stack, cert):
    context = ssl.create_default_context(cafile=cert)
    context.set_alpn_protocols(["h2", "http/1.1"])
    raw = socket.create_connection(("127.0.0.1", stack.PORTS["https"]), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    plain = http.client.HTTPConnection("127.0.0.1", stack.PORTS["http"], timeout=5)
    plain.request("GET", "/sign-in?next=/home")
    answer = plain.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == f"{stack.base_url()}/sign-in?next=/home"


def test_static_files_have_hashed_names_a_year_long_life_and_gzip(stack):
    with browser(stack) as http_client:
        page = http_client.get("/sign-in")
        assert page.status_code == 200
        links = sorted(set(re.findall(r'/static/[^"]+', page.text)))
        assert [link.rsplit(".", 2)[-1] for link in links] == ["css", "js"]
        for link in links:
            answer = http_client.get(link, headers={"Accept-Encoding": "gzip"})
            assert answer.status_code == 200
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert answer.headers["Content-Encoding"] == "gzip"
            plain, _, suffix = link.rpartition(".")
            original = stack.ROOT / (plain.rsplit(".", 1)[0].removeprefix("/") + "." + suffix)
            assert answer.content == original.read_bytes()  # served by nginx from static/
        # A name that is not one of this release's files is not served as one.
        made_up = links[0].rsplit(".", 2)[0] + "." + "0" * 12 + "." + links[0].rsplit(".")[-1]
        assert http_client.get(made_up).status_code == 404
        # Pages are compressed too, and never cached.
        again = http_client.get("/sign-in", headers={"Accept-Encoding": "gzip"})
        assert again.headers["Content-Encoding"] == "gzip"
        assert again.headers["Cache-Control"] == "no-store"


@pytest.mark.requirement("R46")
def test_the_body_limit_is_upload_max_mb_plus_the_form(stack):
    limit_mb = int(stack.portal_environment().get("UPLOAD_MAX_MB", "25"))
    with browser(stack) as http_client:
        too_big = http_client.post(
            "/documents",
            content=b"x" * ((limit_mb + 2) * 1024 * 1024),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert too_big.status_code == 413
        within = http_client.post(
            "/documents",
            content=b"x" * (limit_mb * 1024 * 1024),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert within.status_code != 413  # through nginx; the app answers it


def test_two_nodes_serve_one_session(stack, admin):
    with browser(stack) as http_client:
        assert staff_sign_in(http_client, admin) == 303
        cookie = "; ".join(f"{k}={v}" for k, v in http_client.cookies.items())
    for n in range(stack.WEB_NODES):
        status, body = node_get(stack, n, "/staff/", cookie=cookie)
        assert status == 200, (n, status)
        assert "Sign out" in body
    # Without the cookie, each node sends the person to sign in.
    for n in range(stack.WEB_NODES):
        assert node_get(stack, n, "/staff/")[0] in (302, 303)


def test_two_nodes_count_one_rate_limit(stack):
    """SIGN_IN_IP_LIMIT (30 failed sign-ins per 15 minutes per address) across both nodes:
    the 31st failure from one address is refused whichever node gets it."""
    address = f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"
    statuses = []
    for attempt in range(32):
        n = attempt % stack.WEB_NODES
        _status, page, cookie = _node_form(stack, n, "/staff/sign-in", address)
        form = {
            "email": unique("nobody") + "@stack.example",
            "password": "wrong horse",
            "csrf_token": csrf(page),
        }
        statuses.append(_node_post(stack, n, "/staff/sign-in", address, cookie, form))
    assert statuses[:30] == [200] * 30, statuses  # the form again, with its error
    assert statuses[30:] == [429, 429], statuses


def _node_form(stack, n, path, address):
    conn = stack._UnixHTTPConnection(str(stack.path("run", f"web-{n}.sock")), timeout=30)
    try:
        conn.request("GET", path, headers={"X-Forwarded-For": address, "Host": "127.0.0.1"})
        answer = conn.getresponse()
        cookie = "; ".join(c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or [])
        return answer.status, answer.read().decode(), cookie
    finally:
        conn.close()


def _node_post(stack, n, path, address, cookie, form):
    from urllib.parse import urlencode

    conn = stack._UnixHTTPConnection(str(stack.path("run", f"web-{n}.sock")), timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=urlencode(form),
            headers={
                "X-Forwarded-For": address,
                "Host": "127.0.0.1",
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": stack.base_url(),
                "Sec-Fetch-Site": "same-origin",
            },
        )
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


@pytest.mark.requirement("R60")
def test_the_app_role_may_only_insert_and_select_the_audit_table(stack):
    """R60: the nodes connect as a role that cannot change or remove what was recorded."""
    url = stack.database_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == stack.APP_ROLE
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] > 0
        for statement in (
            "UPDATE audit_events SET action = 'changed'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "INSERT INTO alembic_version VALUES ('x')",
            "CREATE TABLE intruder (id int)",
            "DROP TABLE audit_events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
        # And it does write the rest: the portal runs as this role (every test here shows it).
        privileges = conn.execute(
            "SELECT has_table_privilege(current_user, 'audit_events', 'INSERT'),"
            " has_table_privilege(current_user, 'messages', 'UPDATE')"
        ).fetchone()
        assert privileges == (True, True)


def test_migrations_ran_once_as_the_owner_and_nodes_wait_for_them(stack):
    url = stack.database_url(owner=True).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'"
        ).fetchone()[0]
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert owner == stack.OWNER_ROLE
    from portal.readiness import expected_revisions

    assert {revision} == set(expected_revisions())


def test_readiness_is_not_public(stack):
    # Through nginx from the host itself (the monitor): allowed; the nodes say which part is
    # down by name only, never an address or an error.
    with browser(stack) as monitor:
        answer = monitor.get("/ready")
        assert answer.status_code == 200
        assert set(json.loads(answer.text)) == {"status", "database", "rate_limits", "documents"}
    # From any other address: refused by nginx.
    with browser(stack, "127.0.0.9") as someone:
        assert someone.get("/ready").status_code == 403
        assert someone.get("/sign-in").status_code == 200


@pytest.mark.requirement("R2", "R58")
def test_logs_hold_no_token_after_following_every_kind_of_link(stack, mailbox, admin):
    """A set-password link (made by the admin fixture), a staff and a client reset link from
    the mail, and client invitation and e-mail-confirmation links: then nginx's access and
    error logs and every node's and worker's log are read for the tokens."""
    tokens = [admin.set_password_link.rsplit("/", 1)[1]]
    with browser(stack) as http_client:
        page = http_client.get("/staff/forgot-password")
        http_client.post(
            "/staff/forgot-password", data={"email": admin.email, "csrf_token": csrf(page.text)}
        )
    message = mailbox.wait_for(admin.email, count=2)[-1]
    reset = mailbox.link(message, link_pattern(stack.base_url(), "/staff/reset-password/"))
    tokens.append(reset.rsplit("/", 1)[1])
    # Links that were never issued carry token-shaped secrets all the same.
    made_up = {
        "/invitation/": unique("inv").replace("-", "") + "A" * 20,
        "/invitation/confirm-email/": unique("conf").replace("-", "") + "B" * 20,
        "/reset-password/": unique("rst").replace("-", "") + "C" * 20,
        "/staff/set-password/": unique("set").replace("-", "") + "D" * 20,
    }
    tokens.extend(made_up.values())
    with browser(stack) as http_client:
        page = http_client.get(reset)
        assert page.status_code == 200
        done = http_client.post(
            reset, data={"password": PASSWORD + " again", "csrf_token": csrf(page.text)}
        )
        assert done.status_code == 303
        for prefix, token in made_up.items():
            assert http_client.get(prefix + token + "?next=/home").status_code < 500
    logs = stack.path("logs")
    files = [
        logs / "access.log",
        logs / "error.log",
        *sorted(logs.glob("web-*.log")),
        *sorted(logs.glob("worker-*.log")),
    ]
    text = "\n".join(f.read_text(errors="replace") for f in files if f.exists())
    assert "/staff/reset-password/[redacted]" in text
    assert "/invitation/confirm-email/[redacted]" in text
    for token in tokens:
        assert token not in text
