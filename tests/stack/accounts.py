"""Accounts on the stack, made the way an operator makes them (commands and mailed links)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp

from tests.stack.conftest import Mailbox, browser, csrf, unique

PASSWORD = "stack harbor lantern river 42"


@dataclass
class StaffAccount:
    email: str
    password: str
    set_password_link: str
    app_key: str | None = None  # the authenticator app's key, once set up at the first sign-in


def link_pattern(base_url: str, path: str) -> str:
    return re.escape(base_url + path) + r"[A-Za-z0-9_\-]+"


def new_system_admin(stack, mailbox: Mailbox) -> StaffAccount:
    """`flask create-system-admin`, the mailed set-password link (sent by the stack's workers
    through its SMTP server), a password set through nginx."""
    address = unique("admin") + "@stack.example"
    stack.flask("create-system-admin", "--email", address, "--name", "Stack Admin")
    message = mailbox.wait_for(address)[0]
    link = mailbox.link(message, link_pattern(stack.base_url(), "/staff/set-password/"))
    with browser(stack) as http:
        page = http.get(link)
        assert page.status_code == 200
        done = http.post(link, data={"password": PASSWORD, "csrf_token": csrf(page.text)})
        assert done.status_code == 303, done.status_code
    return StaffAccount(address, PASSWORD, link)


def staff_sign_in(http, account: StaffAccount, *, headers=None) -> int:
    """Sign in as a person does: the password, then the second factor (setting up the app at
    the first sign-in, its key read off the page). 303 when signed in (the redirect home, or
    the recovery codes shown after setting the app up); else the refusing answer's status."""
    page = http.get("/staff/sign-in", headers=headers)
    answer = http.post(
        "/staff/sign-in",
        data={"email": account.email, "password": account.password, "csrf_token": csrf(page.text)},
        headers=headers,
    )
    where = answer.headers.get("location", "") if answer.status_code == 303 else ""
    if where.endswith("/staff/sign-in/set-up"):
        return set_up_app(http, account, headers=headers)
    if where.endswith("/staff/sign-in/code"):
        return type_app_code(http, account, headers=headers)
    return answer.status_code


def set_up_app(http, account: StaffAccount, *, headers=None) -> int:
    page = http.get("/staff/sign-in/set-up", headers=headers)
    key = re.search(r'class="secret-key"[^>]*>([A-Z2-7 ]+)<', page.text)
    setup = re.search(r'name="setup" type="hidden" value="([^"]+)"', page.text)
    assert key and setup, "the set-up page shows a key and carries its set-up id"
    account.app_key = key.group(1).replace(" ", "")
    done = http.post(
        "/staff/sign-in/set-up",
        data={
            "setup": setup.group(1),
            "code": pyotp.TOTP(account.app_key).now(),
            "csrf_token": csrf(page.text),
        },
        headers=headers,
    )
    return (
        303 if done.status_code == 200 and "Your recovery codes" in done.text else done.status_code
    )


def type_app_code(http, account: StaffAccount, *, headers=None) -> int:
    """The app's code. A code is good once: when this person signed in within the same 30 s
    already, the next step's code (also accepted), and past that the next step's own."""
    assert account.app_key, "this person's app was set up at an earlier sign-in"
    totp = pyotp.TOTP(account.app_key)
    for attempt in range(3):
        page = http.get("/staff/sign-in/code", headers=headers)
        if attempt == 2:
            time.sleep(totp.interval - time.time() % totp.interval + 0.5)
        answer = http.post(
            "/staff/sign-in/code",
            data={
                "code": totp.at(time.time() + (30 if attempt == 1 else 0)),
                "csrf_token": csrf(page.text),
            },
            headers=headers,
        )
        if answer.status_code != 200:
            return answer.status_code
    return 200
