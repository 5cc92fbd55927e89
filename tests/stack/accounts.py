"""Accounts on the stack, made the way an operator makes them (commands and mailed links)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.stack.conftest import Mailbox, browser, csrf, unique

PASSWORD = "stack harbor lantern river 42"


@dataclass
class StaffAccount:
    email: str
    password: str
    set_password_link: str


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
    page = http.get("/staff/sign-in", headers=headers)
    answer = http.post(
        "/staff/sign-in",
        data={"email": account.email, "password": account.password, "csrf_token": csrf(page.text)},
        headers=headers,
    )
    return answer.status_code
