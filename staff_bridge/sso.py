"""Staff single sign-on (issue 19): "Sign in with <work account>", the provider's answer, and
the hourly check of a session begun that way.

The callback is the one GET that may sign someone in: OpenID Connect sends the browser back
with a GET, and what protects it is the flow's own `state` (bound to this browser's session,
used once), PKCE and the ID token's `nonce` (see `portal.integrations.oidc`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import public
from portal.domain.accounts import factors, identity_providers, sso, sso_sessions
from portal.domain.core import audit, clock, crypto
from portal.forms import ActionForm
from portal.integrations import oidc
from portal.security import safe_next
from portal.settings import current as current_settings
from portal.web import (
    begin_second_step,
    end_session,
    per_ip_read_limit,
    reads_first,
    start_session,
)
from staff_bridge import bp

NEXT = "sso_next"
# The check with the provider is tried from this long before it is due; until it is due, a
# provider that cannot be reached is asked again a minute later, after that the session ends.
TRY_EARLY = timedelta(minutes=10)
RETRY_AFTER = timedelta(minutes=1)
NO_STORE = {"Cache-Control": "no-store"}


def _provider_or_404(key: str):
    provider = identity_providers.provider(key)
    if provider is None:
        abort(404)
    return provider


def _down(provider):
    return (
        render_template("staff_bridge/sso/down.html", provider=provider),
        503,
        {**NO_STORE, "Retry-After": "60"},
    )


def _refused(provider, reason: str | None, status: int = 200):
    """The "you are not signed in" page: 200 for a refusal the portal decided (like a refused
    sign-in form, and so that its audit event is kept: an error answer rolls back), 400 for an
    answer from the provider that does not hold."""
    message = sso.REFUSALS.get(reason or "") if reason else None
    return (
        render_template("staff_bridge/sso/refused.html", provider=provider, message=message),
        status,
        NO_STORE,
    )


# Starting a sign-in guesses nothing (and a refusal at the callback proves nothing about an
# account): a plain limit per address on every start and answer, generous for a shelter's
# shared Wi-Fi, against someone filling the session table.
SSO_IP_LIMIT = "60 per minute"


# Both read first: the provider is asked (discovery, the code, its keys) with no write
# transaction open, which on SQLite would hold up every other writer meanwhile.
@bp.post("/sso/<key>/start")
@reads_first
@public
@per_ip_read_limit(SSO_IP_LIMIT)
def sso_start(key: str):
    provider = _provider_or_404(key)
    if not ActionForm().validate_on_submit():
        abort(400)
    session[NEXT] = request.form.get("next", "")[:500]
    redirect_uri = current_settings().base_url + url_for("staff_bridge.sso_callback", key=key)
    try:
        response = oidc.authorize_redirect(provider, redirect_uri)
    except oidc.ProviderDown:
        return _down(provider)
    destination = response.headers["Location"]
    scheme = urlsplit(destination).scheme
    if scheme != "https" and (scheme != "http" or current_settings().is_production):
        return _down(provider)  # its metadata names no sign-in page a browser should open
    if oidc.origin_of(destination) != oidc.sign_in_origin(provider):
        # A sign-in page on another host than the discovery URL's, which the sign-in form's
        # CSP (form-action) does not name: one more tap, on a link, which CSP leaves alone.
        return render_template(
            "staff_bridge/sso/continue.html", provider=provider, destination=destination
        ), NO_STORE
    response.status_code = 303  # after a POST; and what went through counts no failure
    return response


@bp.get("/sso/<key>/callback")
@public
@per_ip_read_limit(SSO_IP_LIMIT)
def sso_callback(key: str):
    provider = _provider_or_404(key)
    try:
        claims, refresh_token = oidc.finish(provider)
    except oidc.ProviderDown:
        return _down(provider)
    except oidc.SignInFailed:
        return _refused(provider, None, 400)
    outcome = sso.sign_in(provider, claims)
    member = outcome.member
    if outcome.refusal is not None or member is None:
        return _refused(provider, outcome.refusal)
    carry = {
        "provider": provider.key,
        "refresh": crypto.encrypt_text(refresh_token) if refresh_token else None,
    }
    next_url = session.pop(NEXT, "") or ""
    step = factors.next_step(member)
    if step == "code" and outcome.provider_mfa:
        step = None  # the provider's own multi-factor, trusted and used, counts
    if step is None:
        factor = "provider_mfa" if outcome.provider_mfa else "none"
        if not sso.signed_in(member, provider, factor):
            return _refused(provider, "inactive")
        start_session(member, sso=carry)
        return redirect(safe_next(next_url, url_for("staff_bridge.home")), code=303)
    audit.record(
        "sign_in.provider_accepted", member, actor=member, details={"provider": provider.key}
    )
    begin_second_step(member, step, next_url, sso=carry)
    view = "staff_bridge.sign_in_code" if step == "code" else "staff_bridge.sign_in_set_up"
    return redirect(url_for(view), code=303)


@bp.before_request
def recheck_with_provider():
    """A staff session begun through a provider is checked with it again within the hour
    (`SSO_RECHECK_MINUTES`): a refresh grant, which the provider refuses once the person is
    disabled there. Refused, not possible (no refresh token) or the provider unreachable
    when the hour is up: the session ends, and they sign in again.

    Tried from 10 minutes before it is due, on pages (GET): a successful check answers with
    the same page again, so its result is committed whatever the page would have answered
    (an error answer rolls back, and a rotated refresh token must not be lost). A form sent
    (POST) checks only once the check is overdue."""
    if not current_user.is_authenticated or current_user.kind != "staff":
        return None
    read = getattr(session._get_current_object(), "sso_state", None)
    state = sso_sessions.opened(read)
    if state is None or session.row_id is None:
        return None
    now, page = clock.now(), request.method in ("GET", "HEAD")
    recheck = current_settings().sso_recheck
    due = (sso_sessions.at(state, "checked_at") or now - recheck) + recheck
    retry_at = sso_sessions.at(state, "retry_at")
    if now < due - min(TRY_EARLY, recheck / 2) or (retry_at is not None and now < retry_at):
        return None
    if not page and now < due:
        return None
    outcome = _ask_provider(session.row_id, read, state, now, due)
    if outcome == "checked" and page:
        return redirect(request.full_path.rstrip("?"), code=303)
    if outcome != "failed":
        return None
    audit.record(
        "session.provider_check_failed",
        current_user._get_current_object(),
        outcome="failure",
        details={"provider": state.get("provider")},
    )
    end_session("provider_check")
    flash(_("For your safety we signed you out. Sign in again with your work account."), "info")
    return redirect(url_for("staff_bridge.sign_in"), code=303)


def _ask_provider(row_id: int, read: str, state: dict, now: datetime, due: datetime) -> str:
    """Ask the provider (no write transaction open meanwhile) and write what it said if this
    session's state is still what this request `read`. "checked" (written), "wait" (asked too
    early to give up, or another request of the session checked first) or "failed"."""
    provider = identity_providers.provider(state.get("provider") or "")
    refresh_token = state.get("refresh")
    if provider is None or not refresh_token:
        return "wait" if now < due else "failed"
    try:
        found = oidc.refresh(provider, refresh_token)
    except oidc.ProviderDown:
        if now >= due:
            return "failed"
        checked_at = sso_sessions.at(state, "checked_at") or now
        later = sso_sessions.seal(
            provider.key, refresh_token, checked_at=checked_at, retry_at=now + RETRY_AFTER
        )
        sso_sessions.replace(row_id, read, later)  # ask again in a minute
        return "wait"
    except oidc.SignInFailed:
        # Refused: unless another request of this session checked meanwhile (with the same
        # token, which a provider that rotates them then refuses here), its result stands.
        return "wait" if sso_sessions.current(row_id) != read else "failed"
    if sso_sessions.replace(row_id, read, sso_sessions.seal(provider.key, found, checked_at=now)):
        return "checked"
    return "wait"


@bp.app_template_global()
def sso_sign_in_providers():
    """The providers whose buttons the staff sign-in page shows."""
    return identity_providers.providers()


@bp.app_template_global()
def sso_provider_name(key: str | None) -> str:
    """A provider's name for the pages (its key if it is no longer configured)."""
    provider = identity_providers.provider(key or "")
    return provider.name if provider is not None else (key or "")
