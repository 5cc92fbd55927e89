"""Tests against the running production-shaped stack (`make stack`; deploy/stack.py).

They run only when PORTAL_STACK=1 (the `.ci/run` stage that starts the stack sets it; locally:
`make stack && PORTAL_STACK=1 .venv/bin/pytest tests/stack`). Elsewhere this folder is not
collected at all: the README's `make test` needs no stack.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import ssl
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import missing

if os.environ.get("PORTAL_STACK") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def stack():
    from deploy import stack as stack_module

    if stack_module.supervisord_pid() is None:
        missing("stack", f"no stack is running in {stack_module.STACK_DIR} (make stack)")
    return stack_module


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    return stack.base_url()


@pytest.fixture(scope="session")
def cert(stack) -> str:
    return str(stack.path("tls", "cert.pem"))


def browser(stack, address: str | None = None, **options) -> httpx.Client:
    """A client that trusts the stack's certificate and follows nothing by itself; from its
    own loopback `address` when given (nginx passes it on as the client's address)."""
    trust = ssl.create_default_context(cafile=str(stack.path("tls", "cert.pem")))
    if address is not None:  # a transport of its own: it carries the trust too
        options["transport"] = httpx.HTTPTransport(local_address=address, verify=trust)
    return httpx.Client(
        base_url=stack.base_url(),
        verify=trust,
        timeout=30,
        follow_redirects=False,
        **options,
    )


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no form token"
    return found.group(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Mailbox:
    """The stack's SMTP server keeps every message in a Maildir."""

    def __init__(self, folder: Path):
        self.folder = folder

    def messages_to(self, address: str) -> list[email.message.EmailMessage]:
        found = []
        for sub in ("new", "cur"):
            for file in sorted((self.folder / sub).glob("*")):
                message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
                if address.lower() in str(message["To"]).lower():
                    found.append(message)
        return found

    def wait_for(self, address: str, count: int = 1, seconds: float = 60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found
            time.sleep(0.3)
        raise AssertionError(f"no mail for the address after {seconds:.0f} s")

    @staticmethod
    def link(message, pattern: str) -> str:
        body = message.get_body(("plain",)).get_content()
        found = re.search(pattern, body)
        assert found, "the mail holds no such link"
        return found.group(0)


@pytest.fixture(scope="session")
def mailbox(stack) -> Mailbox:
    return Mailbox(stack.path("mail"))
