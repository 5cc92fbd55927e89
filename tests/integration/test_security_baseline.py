"""Headers on every response, CSRF and Fetch-Metadata, cookies, error pages, redirects."""

import re

import pytest

from portal.access import public
from tests.support import second_step

CSP_PARTS = ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]


@pytest.fixture
def failing_app(app, monkeypatch):
    """/health raises for the length of one test, to see the 500 page."""

    @public
    def explode():
        raise RuntimeError("secret detail 1911-11-11")

    monkeypatch.setitem(app.view_functions, "common.health", explode)
    return app


def assert_baseline_headers(response):
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "geolocation=(self)" in headers["Permissions-Policy"]
    assert "Server" not in headers and "X-Powered-By" not in headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-ID"]


@pytest.mark.parametrize(
    "path,status", [("/", 200), ("/staff/", 302), ("/no-such-page", 404), ("/health", 500)]
)
@pytest.mark.requirement("R4", "R42", "R43")
def test_every_status_carries_the_security_headers(failing_app, anonymous, path, status):
    response = anonymous.get(path)
    assert response.status_code == status
    assert_baseline_headers(response)
    if response.mimetype == "text/html":
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.requirement("R25", "R42", "R43")
def test_signed_in_pages_are_never_cached(case_manager):
    assert_baseline_headers(case_manager.get("/staff/"))


@pytest.mark.requirement("R40")
def test_the_500_page_shows_a_reference_and_no_traceback(failing_app, anonymous):
    response = anonymous.get("/health")
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "RuntimeError" not in body and "1911-11-11" not in body
    assert response.headers["X-Request-ID"] in body


@pytest.mark.requirement("R42")
def test_each_response_gets_its_own_nonce(anonymous):
    first = anonymous.get("/").headers["Content-Security-Policy"]
    second = anonymous.get("/").headers["Content-Security-Policy"]
    assert first != second


@pytest.mark.requirement("R43")
def test_trace_is_not_allowed(anonymous):
    assert anonymous.open("/", method="TRACE").status_code == 405


@pytest.mark.requirement("R41")
def test_a_post_without_a_csrf_token_is_refused(anonymous, case_manager_user):
    response = anonymous.post(
        "/staff/sign-in", data={"email": case_manager_user.email, "password": "x" * 20}
    )
    assert response.status_code == 400


@pytest.mark.requirement("R41")
def test_a_cross_site_post_is_refused_even_with_a_token(anonymous, case_manager_user):
    token = anonymous.csrf_token("/staff/sign-in")
    response = anonymous.post(
        "/staff/sign-in",
        data={
            "csrf_token": token,
            "email": case_manager_user.email,
            "password": "tidal violet compass morning",
        },
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


@pytest.mark.requirement("R23")
def test_session_cookie_is_host_prefixed_secure_httponly_lax_and_ends_with_the_browser(
    anonymous, case_manager_user
):
    anonymous.get("/staff/sign-in")
    response = anonymous.form(
        "/staff/sign-in",
        {"email": case_manager_user.email, "password": "tidal violet compass morning"},
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies, "sign-in must set a cookie"
    for cookie in cookies:
        lowered = cookie.lower()
        assert cookie.startswith("__Host-portal=")
        assert (
            "secure" in lowered
            and "httponly" in lowered
            and "samesite=lax" in lowered
            and "path=/" in lowered
        )
        assert "domain=" not in lowered and "expires=" not in lowered and "max-age" not in lowered


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x",
        " /staff/",
    ],
)
@pytest.mark.requirement("R39")
def test_next_only_follows_relative_paths(anonymous, case_manager_user, target):
    anonymous.get(f"/staff/sign-in?next={target}")
    response = anonymous.form(
        "/staff/sign-in",
        {
            "email": case_manager_user.email,
            "password": "tidal violet compass morning",
            "next": target,
        },
    )
    location = response.headers["Location"]
    assert location == "/staff/" or (
        location.startswith("/") and not location.startswith("//") and "evil" not in location
    )


@pytest.mark.requirement("R39")
def test_next_keeps_a_same_site_path(anonymous, case_manager_user):
    response = anonymous.form(
        "/staff/sign-in",
        {
            "email": case_manager_user.email,
            "password": "tidal violet compass morning",
            "next": "/staff/notifications",
        },
    )
    response = second_step(anonymous, case_manager_user, response)  # the app's code, then next
    assert response.headers["Location"] == "/staff/notifications"


def test_static_files_are_cacheable_and_need_no_session(anonymous):
    response = anonymous.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert not response.headers.getlist("Set-Cookie")


def test_health_check_answers(anonymous):
    assert anonymous.get("/health").get_json() == {"status": "ok"}
