"""Links to the portal's pages, built at the edge from route names and public ids.

The domain writes no URL. A staff notification stores its kind and the public ids it is about;
an outbox mail stores its template and parameters, with a token only among the encrypted
secret parameters that are wiped once it is sent (R2). The staff notifications page and the mail
renderer build the links here from the app's own routes, so a renamed route breaks a test,
not a mail. Links that leave the site (mail) are absolute against BASE_URL, never a request's
Host header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from portal.settings import current as current_settings


def external(endpoint: str, *, anchor: str | None = None, **values: Any) -> str:
    """An absolute link to one of the portal's pages, against BASE_URL."""
    base = urlsplit(current_settings().base_url)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    link = adapter.build(endpoint, values, force_external=True)
    return f"{link}#{anchor}" if anchor else link


def _reset_link(params: Mapping[str, Any]) -> str:
    staff = params.get("audience") == "staff"
    endpoint = "staff_bridge.reset_password" if staff else "client.reset_password"
    return external(endpoint, token=params["token"])


# What each mail links to, from its parameters (the secret ones included).
MAIL_LINKS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "client_invitation": lambda p: external("client.invitation_start", token=p["token"]),
    "client_email_code": lambda p: external("client.confirm_email", token=p["token"]),
    "password_reset": _reset_link,
    "staff_invite": lambda p: external("staff_bridge.set_password", token=p["token"]),
    "roi_renewal": lambda p: external("client.sign_document", request_id=p["request"]),
    "new_request": lambda p: external("client.home"),
    "document_request": lambda p: external("client.home"),
    "new_message": lambda p: external(
        "client.conversation", conversation_id=p["conversation"], anchor="newest"
    ),
}


def mail_link(template: str, params: Mapping[str, Any]) -> str | None:
    """The link a mail shows. A mail queued by a release before links were built here
    carries its link already (in its parameters): it is sent as it was written."""
    if params.get("link"):
        return params["link"]
    build = MAIL_LINKS.get(template)
    return build(params) if build else None


def _record(anchor: str | None = None) -> Callable[[Mapping[str, Any]], str]:
    return lambda p: url_for("staff_bridge.client_record", client_id=p["client"], _anchor=anchor)


# What each staff notification links to, from the public ids it stored.
NOTIFICATION_LINKS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "invitation_locked": lambda p: url_for("staff_bridge.invite_client", client_id=p["client"]),
    "client_account_deactivated": _record(),
    "client_account_reinstated": _record(),
    "client_deactivated_self": _record(),
    "record_requested": lambda p: url_for("staff_bridge.record_requests"),
    "client_message": lambda p: url_for(
        "staff_bridge.conversation", conversation_id=p["conversation"], _anchor="newest"
    ),
    "document_quarantined": _record("documents"),
    "document_missing": _record("documents"),
    "signature_declined": _record(),
    "roi_revoked": _record("signatures"),
}


def notification_link(note) -> str | None:
    """Where a staff notification leads (None: nowhere). A notice written by the previous
    release during a rolling deploy has its link stored as it was."""
    build = NOTIFICATION_LINKS.get(note.kind)
    try:
        return build(note.params) if build else note.link
    except KeyError:  # written before its ids were stored: the link it was written with
        return note.link
