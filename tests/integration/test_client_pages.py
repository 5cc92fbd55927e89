"""The client side of the foundation: start page, sign-in, layout, finishing on a shared phone."""

import pytest
from sqlalchemy.exc import OperationalError


def test_the_start_page_explains_and_offers_sign_in(anonymous):
    page = anonymous.get("/").get_data(as_text=True)
    assert 'href="/sign-in"' in page and "Finish and log out" not in page


def test_a_signed_in_client_sees_finish_and_log_out_on_every_page(client_user):
    for path in ("/home", "/privacy"):
        assert "Finish and log out" in client_user.get(path).get_data(as_text=True)


@pytest.mark.requirement("R25")
def test_finish_and_log_out_ends_the_session_and_clears_the_browser(app, client_user):
    cookie = client_user.get_cookie("__Host-portal").value
    response = client_user.form("/sign-out", token_from="/home")
    assert response.status_code == 303 and response.headers["Location"] == "/signed-out"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    replay = app.test_client()
    replay.set_cookie("__Host-portal", cookie)
    assert replay.get("/home").status_code == 302


@pytest.mark.requirement("R31")
def test_clients_get_403_on_staff_pages_and_staff_on_client_pages(client_user, case_manager):
    assert client_user.get("/staff/").status_code == 403
    assert case_manager.get("/home").status_code == 403


def test_a_client_sign_in_with_a_wrong_password_says_the_same_as_an_unknown_email(anonymous, make):
    account = make.client_account()
    wrong = anonymous.form(
        "/sign-in", {"email": account.email, "password": "not my password at all"}
    )
    unknown = anonymous.form(
        "/sign-in", {"email": "who@client.test", "password": "not my password at all"}
    )
    message = "The email or password is not right"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_too_many_sign_ins_from_one_address_get_a_friendly_429(app, anonymous, monkeypatch):
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions, "portal.settings", settings.with_overrides(sign_in_ip_limit="3 per minute")
    )
    token = anonymous.csrf_token("/sign-in")
    codes = [
        anonymous.post(
            "/sign-in", data={"csrf_token": token, "email": "a@b.test", "password": "x" * 15}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    last = anonymous.post(
        "/sign-in", data={"csrf_token": token, "email": "a@b.test", "password": "x" * 15}
    )
    assert "Too many tries" in last.get_data(as_text=True) and last.headers["Retry-After"]


@pytest.mark.requirement("R69")
def test_a_database_outage_answers_503_with_retry_after(app, anonymous, monkeypatch):
    from portal.access import public

    @public
    def broken():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setitem(app.view_functions, "client.privacy", broken)
    response = anonymous.get("/privacy")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "connection refused" not in response.get_data(as_text=True)
